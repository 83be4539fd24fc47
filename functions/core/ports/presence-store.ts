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
 * Presence of chat-service clients. One item per client (no hot partition per account) holds the
 * open window, `last_seen_at` and the last transition, so every change of state is one conditional
 * write: the window and what it left behind never disagree, even when a request dies half-way or its
 * answer is lost. Transitions are announced (metric, log, live channel) by whoever made them; no log
 * of them is kept.
 */
export interface PresenceStore {
  /** Extends an open window: one conditional write. False when no window is open (a transition is due). */
  extend(key: PresenceKey, nowMs: number, onlineUntilMs: number): Promise<boolean>;
  /**
   * Opens a window whose timer chain is `timerId` (already queued), as the client's online transition
   * (after the offline of a window that lapsed unnoticed, which it ends). Exactly one of racing openers
   * wins; returns the transitions it made.
   */
  open(
    key: PresenceKey,
    nowMs: number,
    onlineUntilMs: number,
    timerId: string,
  ): Promise<{ opened: boolean; transitions: PresenceTransition[] }>;
  /**
   * Hands the window's timer chain from `fromTimerId` (the timer the window named when read;
   * `undefined` for a window written before windows named their timer) to `toTimerId`, already
   * queued. False when the window no longer names `fromTimerId`: another timer took the chain.
   */
  passTimerOn(key: PresenceKey, fromTimerId: string | undefined, toTimerId: string): Promise<boolean>;
  /** Closes the window now, if open, as the offline transition; returns the transition when it did. */
  closeNow(key: PresenceKey, nowMs: number): Promise<PresenceTransition | undefined>;
  /**
   * Closes a window whose end has passed and records the offline at its end; or says until when it
   * is still open, and which timer it names (none for a window written before windows named theirs).
   */
  closeExpired(
    key: PresenceKey,
    nowMs: number,
  ): Promise<
    { closed: PresenceTransition } | { stillOpenUntilMs: number; timerId: string | undefined } | { gone: true }
  >;
  /** Everything about a client in one read. */
  read(key: PresenceKey): Promise<PresenceRecord>;
}
