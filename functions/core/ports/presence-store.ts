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
 * Every change of state is one transaction: the window and the transition log never disagree, even
 * when a request dies half-way or its answer is lost.
 */
export interface PresenceStore {
  /** Extends an open window: one conditional write. False when no window is open (a transition is due). */
  extend(key: PresenceKey, nowMs: number, onlineUntilMs: number): Promise<boolean>;
  /**
   * Opens a window whose timer chain is `timerId` (already queued) and records the online transition
   * (and the offline of a window that lapsed unnoticed) at once. Exactly one of racing openers wins;
   * returns the transitions it recorded.
   */
  open(key: PresenceKey, nowMs: number, onlineUntilMs: number, timerId: string): Promise<{ opened: boolean; transitions: PresenceTransition[] }>;
  /**
   * Hands the window's timer chain from `fromTimerId` (the timer the window named when read;
   * `undefined` for a window written before windows named their timer) to `toTimerId`, already
   * queued. False when the window no longer names `fromTimerId`: another timer took the chain.
   */
  passTimerOn(key: PresenceKey, fromTimerId: string | undefined, toTimerId: string): Promise<boolean>;
  /** Closes the window now, if open, and records the offline; returns the transition when it did. */
  closeNow(key: PresenceKey, nowMs: number): Promise<PresenceTransition | undefined>;
  /**
   * Closes a window whose end has passed and records the offline at its end; or says until when it
   * is still open, and which timer it names (none for a window written before windows named theirs).
   */
  closeExpired(
    key: PresenceKey,
    nowMs: number,
  ): Promise<{ closed: PresenceTransition } | { stillOpenUntilMs: number; timerId: string | undefined } | { gone: true }>;
  /** Everything about a client in one read. */
  read(key: PresenceKey): Promise<PresenceRecord>;
  /** The client's transition log, oldest first. */
  transitions(key: PresenceKey): Promise<PresenceTransition[]>;
}
