import type { DeliveryStatus, StatusUpdate } from './delivery-status';

/**
 * Delivery status pulled from the chat service (docs/contract.md, "Delivery status pulled from the chat
 * service"): after Kommo's outgoing-message hook, the bridge asks `CHAT_SERVICE_STATUS_URL` for the
 * message's status on a schedule that starts fast and backs off: a Kommo user should see "delivered"
 * soon after sending, while a message nobody reads must not cost a query every few seconds for a day.
 */

/** The first poll, counted from the hook worker's turn (the contract asks for it within 2 s of the hook). */
export const FIRST_POLL_AFTER_SECONDS = 1;

/** The waits after the 1st, 2nd, … poll; after the last of these, `LATER_POLL_WAIT_SECONDS` until the window closes. */
export const POLL_WAITS_SECONDS = [2, 5, 15, 60, 5 * 60, 30 * 60] as const;
export const LATER_POLL_WAIT_SECONDS = 60 * 60;

/** A message is polled for at most this long after its hook arrived. */
export const POLLING_WINDOW_MS = 24 * 60 * 60 * 1000;

/**
 * How long a poll's item is kept after its hook arrived: the window plus a margin for the last timer's
 * redeliveries (SQS visibility timeout × receives). While it lives, a repeated hook starts no second
 * chain; after it, a repeated hook is past the window and starts none either.
 */
export const POLL_RETENTION_MS = POLLING_WINDOW_MS + 60 * 60 * 1000;

/** Seconds to wait after the `pollsMade`-th poll (1 for the first). */
export function waitAfterPoll(pollsMade: number): number {
  return POLL_WAITS_SECONDS[pollsMade - 1] ?? LATER_POLL_WAIT_SECONDS;
}

/** `read` and `error` are the end of the line: no later status can follow them. */
export function endsPolling(status: DeliveryStatus | undefined): boolean {
  return status === 'read' || status === 'error';
}

/**
 * What one query of the chat service came to:
 * - `sent`: it has the message but nothing to report yet; `unknown`: it answered 404 (not known yet);
 * - `update`: a status to apply;
 * - `malformed`: a 2xx answer that is not the contract's (logged and counted, then polled again).
 * A failed call (network, timeout, 429, 5xx, any other status) is an `OutboundCallError` instead.
 */
export type PolledStatus =
  | { outcome: 'sent' }
  | { outcome: 'unknown' }
  | { outcome: 'update'; update: StatusUpdate }
  | { outcome: 'malformed'; reason: string };

/** One message's polling, as its item holds it. */
export interface StatusPoll {
  /** The one timer that may poll and queue the next; absent once the chain has ended. */
  timerId?: string;
  /** When the hook arrived: the window is counted from it. */
  startedAtMs: number;
  /** No poll after this. */
  endsAtMs: number;
  pollsMade: number;
  /** Why the chain ended, once it has. */
  endedBecause?: PollEnd;
}

export type PollEnd = 'final-status' | 'window-closed' | 'not-configured';
