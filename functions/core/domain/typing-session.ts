import { createHash } from 'node:crypto';

/**
 * Typing, both ways. Kommo shows "client is typing" for 5 s per typing call and has no stop call
 * (docs/kommo.md, "Methods"); Kommo sends a Kommo-user typing hook at most every 5 s with
 * `expired_at` = start + 5 s.
 */

/** How long one Kommo typing call keeps the indicator up. */
export const KOMMO_TYPING_DISPLAY_MS = 5_000;

export const CLIENT_TYPING_TTL = { default: 6, min: 1, max: 60 } as const;

export interface ClientTypingWindow {
  /** Typing counts as going on until then unless a new `start` extends it or a `stop` ends it. */
  activeUntilMs: number;
  /** When the Kommo call made now stops covering the display and the next one is due. */
  nextCallAtMs: number;
}

/**
 * The window a `start` opens: typing lasts `ttlSeconds`, and the call made now is refreshed after
 * `refreshSeconds` (less than Kommo's 5 s display, so the indicator never lapses between calls).
 */
export function clientTypingWindow(nowMs: number, ttlSeconds: number, refreshSeconds: number): ClientTypingWindow {
  return { activeUntilMs: nowMs + ttlSeconds * 1000, nextCallAtMs: nowMs + refreshSeconds * 1000 };
}

/** Whole seconds until `deadlineMs`, rounded up so a timer never fires before it (SQS delays are whole seconds). */
export function secondsUntil(deadlineMs: number, nowMs: number): number {
  return Math.max(0, Math.ceil((deadlineMs - nowMs) / 1000));
}

/**
 * Event ids for Kommo user typing derive from what they announce, so a retried hook or timer produces
 * the same id and the chat service's `webhook-id` de-duplication removes the repeat.
 */
export function kommoUserTypingEventId(
  type: 'started' | 'stopped',
  key: { scopeId: string; kommoConversationId: string; userId: string },
  deadlineMs: number,
): string {
  const digest = createHash('sha256')
    .update([type, key.scopeId, key.kommoConversationId, key.userId, String(deadlineMs)].join('\n'))
    .digest('hex');
  return `evt_typ_${digest.slice(0, 32)}`;
}
