import type { PresenceRecord } from '../domain/presence-window';

export interface PresenceKey {
  scopeId: string;
  clientId: string;
}

export interface PresenceTransition {
  state: 'online' | 'offline';
  /** When it happened: the heartbeat that opened the window, the `offline`, or the window's end. */
  atMs: number;
  /** The last sign of life before it. */
  lastSeenAtMs: number;
}

/**
 * Presence of chat-service clients. Items are per client (no hot partition per account); the open
 * window is its own item whose TTL is the window end, `last_seen_at` lives beside it much longer.
 */
export interface PresenceStore {
  /** Extends an open window: one conditional write. False when no window is open (a transition is due). */
  extend(key: PresenceKey, nowMs: number, onlineUntilMs: number): Promise<boolean>;
  /** Opens a window; exactly one of racing openers wins. Returns the window that lapsed unnoticed, if any. */
  open(key: PresenceKey, nowMs: number, onlineUntilMs: number): Promise<{ opened: boolean; lapsed?: { onlineUntilMs: number; lastSeenAtMs: number } }>;
  /** Closes the window now if it is open; returns its last heartbeat when it closed it. */
  closeNow(key: PresenceKey, nowMs: number): Promise<{ closed: boolean; lastSeenAtMs?: number }>;
  /** Closes the window whose end is `onlineUntilMs` if it was not extended. */
  closeExpired(key: PresenceKey, nowMs: number): Promise<{ closed: boolean; onlineUntilMs?: number; lastSeenAtMs?: number; stillOpenUntilMs?: number }>;
  /** Keeps the last sign of life and appends a transition to the client's log. */
  recordTransition(key: PresenceKey, transition: PresenceTransition): Promise<void>;
  /** Everything about a client in one read. */
  read(key: PresenceKey): Promise<PresenceRecord>;
  /** The client's transition log, oldest first. */
  transitions(key: PresenceKey): Promise<PresenceTransition[]>;
}
