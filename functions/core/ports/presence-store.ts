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
  /**
   * Extends an open window: one conditional write. `extended: false` when no window is open (a
   * transition is due); `timerArmed: false` when the window's expiry timer was never confirmed set.
   */
  extend(key: PresenceKey, nowMs: number, onlineUntilMs: number): Promise<{ extended: false } | { extended: true; timerArmed: boolean }>;
  /**
   * Opens a window and records the online transition (and the offline of a window that lapsed
   * unnoticed) at once. Exactly one of racing openers wins; returns the transitions it recorded.
   */
  open(key: PresenceKey, nowMs: number, onlineUntilMs: number): Promise<{ opened: boolean; transitions: PresenceTransition[] }>;
  /** Notes that the window's expiry timer `timerId` is queued: it is now the window's timer chain. */
  markTimerArmed(key: PresenceKey, timerId: string): Promise<void>;
  /**
   * Hands the window's timer chain from `fromTimerId` to `toTimerId`; false when `fromTimerId` is not
   * the current chain (a duplicate timer), which then ends.
   */
  passTimerOn(key: PresenceKey, fromTimerId: string, toTimerId: string): Promise<boolean>;
  /** Closes the window now, if open, and records the offline; returns the transition when it did. */
  closeNow(key: PresenceKey, nowMs: number): Promise<PresenceTransition | undefined>;
  /** Closes a window whose end has passed and records the offline at its end; or says until when it is still open. */
  closeExpired(key: PresenceKey, nowMs: number): Promise<{ closed: PresenceTransition } | { stillOpenUntilMs: number } | { gone: true }>;
  /** Everything about a client in one read. */
  read(key: PresenceKey): Promise<PresenceRecord>;
  /** The client's transition log, oldest first. */
  transitions(key: PresenceKey): Promise<PresenceTransition[]>;
}
