/**
 * Delivery status of a Kommo message as the chat service reports it (docs/contract.md,
 * `POST /chat/{scope_id}/messages/{msgid}/status`), and how it reaches Kommo's delivery-status method
 * (docs/kommo.md, "Methods").
 */

export const DELIVERY_STATUSES = ['delivered', 'read', 'error'] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];

/** Statuses only move forward: a message is delivered before it is read, and an error is the end of the line. */
export const deliveryStatusRank: Readonly<Record<DeliveryStatus, number>> = { delivered: 1, read: 2, error: 3 };

/** Whether `next` moves a message on from `current` (no status yet counts as the start). */
export function movesForward(current: DeliveryStatus | undefined, next: DeliveryStatus): boolean {
  return current === undefined || deliveryStatusRank[next] > deliveryStatusRank[current];
}

/** Kommo's delivery error codes and what they mean (docs/kommo.md, "Methods"). */
export const KOMMO_DELIVERY_ERROR_CODES = {
  901: 'the user deleted the message',
  902: 'the integration is disabled on the channel side',
  903: 'internal server error',
  904: 'unable to create a conversation (e.g. the user is not registered in the messenger)',
  905: 'any other error: the error text is mandatory and is shown to the Kommo user',
} as const;
export type DeliveryErrorCode = keyof typeof KOMMO_DELIVERY_ERROR_CODES;

export const DELIVERY_ERROR_CODES = Object.keys(KOMMO_DELIVERY_ERROR_CODES).map(Number) as DeliveryErrorCode[];

/** The code whose text Kommo shows to its user, so the text is required with it. */
export const ERROR_CODE_WITH_TEXT: DeliveryErrorCode = 905;

/** docs/contract.md: `error` text is 1-500 characters. */
export const ERROR_TEXT_MAX_CHARS = 500;

/** One status report from the chat service, already validated. */
export type StatusUpdate =
  | { status: 'delivered' | 'read' }
  | { status: 'error'; errorCode: DeliveryErrorCode; error?: string };

/** How Kommo's answer settled an update: it took it, it refused it for good (400/403/404), or retries ran out. */
export type KommoOutcome = 'acknowledged' | 'refused' | 'dead-lettered';

export interface KommoDeliveryState {
  /** Calls made to Kommo for this update. */
  attempts: number;
  lastError?: string;
  /** Absent while the update still has to reach Kommo. */
  outcome?: KommoOutcome;
  /** Backoff after a failed call: no call for this update before then. */
  nextAttemptAtMs?: number;
}

/**
 * An applied update in a message's history. `seq` is its place in the history (1, 2, 3): Kommo receives
 * the updates in this order. There are at most three, since each one moves the status forward.
 */
export type StatusEntry = StatusUpdate & { seq: number; appliedAtMs: number; kommo: KommoDeliveryState };

/** Everything kept about one message's delivery status. */
export interface StatusRecord {
  scopeId: string;
  msgid: string;
  /** Applied updates, oldest first; never empty. The last one is the current status. */
  history: StatusEntry[];
  /** When the current status was applied. */
  updatedAtMs: number;
  /** Entries up to this `seq` are settled with Kommo (acknowledged, refused or dead-lettered). */
  kommoSettledSeq: number;
  /** When a sync job was last queued for the record; 0 when queueing it failed. */
  syncRequestedAtMs: number;
  /** A sync job holds the record until then. */
  leaseUntilMs?: number;
}

/** How long a status record is kept after its last update (DynamoDB TTL; reads check the time themselves). */
export const STATUS_RETENTION_MS = 30 * 24 * 60 * 60 * 1000;

export function currentEntry(record: StatusRecord): StatusEntry {
  const entry = record.history.at(-1);
  // A record is created with its first update and never loses one.
  if (!entry) throw new Error('A delivery-status record holds no update');
  return entry;
}

/** The oldest entry Kommo has not settled yet: the only one that may be sent next, so Kommo sees them in order. */
export function nextEntryForKommo(record: StatusRecord): StatusEntry | undefined {
  return record.history.find((entry) => entry.seq > record.kommoSettledSeq);
}

/**
 * Whether a repeated update should queue the message's sync again: an update is unsettled, no job holds
 * the record, and it is not waiting out a backoff (that retry is already queued). The earlier request's
 * write may have landed while its answer, or its queue send, was lost; sync jobs are idempotent, so an
 * extra one costs a queue message, never a second Kommo call.
 */
export function syncMayBeMissing(record: StatusRecord, nowMs: number): boolean {
  const next = nextEntryForKommo(record);
  if (!next) return false;
  if (record.leaseUntilMs !== undefined && record.leaseUntilMs >= nowMs) return false;
  return (next.kommo.nextAttemptAtMs ?? 0) <= nowMs;
}

/** Kommo's delivery_status values: 1 delivered, 2 read, -1 error. */
export type KommoDeliveryCode = 1 | 2 | -1;

/** The body of Kommo's delivery-status call for one message. */
export interface KommoDeliveryStatus {
  msgid: string;
  deliveryStatus: KommoDeliveryCode;
  errorCode?: number;
  error?: string;
}

export const kommoDeliveryCode: Readonly<Record<DeliveryStatus, KommoDeliveryCode>> = {
  delivered: 1,
  read: 2,
  error: -1,
};

/** The delivery-status call for an update: error fields go only with -1, as Kommo's reference requires. */
export function kommoDeliveryStatus(msgid: string, update: StatusUpdate): KommoDeliveryStatus {
  if (update.status !== 'error') return { msgid, deliveryStatus: kommoDeliveryCode[update.status] };
  return {
    msgid,
    deliveryStatus: -1,
    errorCode: update.errorCode,
    ...(update.error !== undefined ? { error: update.error } : {}),
  };
}

/** The contract's `GET .../status` answer. */
export interface StatusView {
  msgid: string;
  status: DeliveryStatus;
  error_code?: DeliveryErrorCode;
  error?: string;
  updated_at: string;
  kommo: { delivered: boolean; attempts: number; last_error?: string };
}

/** The answer for a record: the current status, and how far Kommo got with it. */
export function statusView(record: StatusRecord): StatusView {
  const current = currentEntry(record);
  const { kommo } = current;
  return {
    msgid: record.msgid,
    status: current.status,
    ...(current.status === 'error'
      ? { error_code: current.errorCode, ...(current.error !== undefined ? { error: current.error } : {}) }
      : {}),
    updated_at: new Date(record.updatedAtMs).toISOString(),
    kommo: {
      delivered: kommo.outcome === 'acknowledged',
      attempts: kommo.attempts,
      ...(kommo.lastError !== undefined ? { last_error: kommo.lastError } : {}),
    },
  };
}
