import type { KommoDeliveryStatus } from '../domain/delivery-status';
import type { OutboundEvent } from '../domain/outbound-event';
import type { PolledStatus } from '../domain/status-poll';

/** Which party an outbound call went to; part of every failure, log line and metric. */
export type Party = 'kommo' | 'chat-service' | 'hook-forward';

/**
 * A failed call to another party. `status` is the HTTP status, absent for network errors and
 * timeouts; `errorType` is Kommo's `error_type` (e.g. `ORIGIN_INVALID_SIGNATURE`) when it sent one.
 */
export class OutboundCallError extends Error {
  override readonly name = 'OutboundCallError';
  constructor(
    readonly party: Party,
    message: string,
    readonly status?: number,
    readonly errorType?: string,
  ) {
    super(message);
  }

  /** Network errors, timeouts, 429 and 5xx may succeed later; anything else is final. */
  get retryable(): boolean {
    return this.status === undefined || this.status === 429 || this.status >= 500;
  }
}

export interface KommoTyping {
  /** The chat service's conversation id (Kommo's `conversation_id`). */
  conversationId: string;
  /** The chat service's id of the client who types (Kommo's `sender.id`). */
  senderId: string;
}

// Kommo's delivery-status call is a domain value (domain/delivery-status.ts builds it); named here too
// for the adapters that send it.
export type { KommoDeliveryCode, KommoDeliveryStatus } from '../domain/delivery-status';

/** When a call is given up as timed out, on the bridge's clock (epoch ms); by default `KOMMO_TIMEOUT_MS` after it starts. */
export interface CallDeadline {
  deadlineAtMs?: number;
}

/** The Kommo Chat API (amojo) methods the bridge calls. Every method throws `OutboundCallError` on failure. */
export interface KommoChatApi {
  typing(scopeId: string, typing: KommoTyping): Promise<void>;
  deliveryStatus(scopeId: string, status: KommoDeliveryStatus, call?: CallDeadline): Promise<void>;
  connect(amojoAccountId: string, title: string): Promise<{ scopeId: string }>;
  disconnect(amojoAccountId: string): Promise<void>;
}

/** Delivers signed events to `CHAT_SERVICE_URL`; throws `OutboundCallError`. */
export interface ChatServiceClient {
  deliver(event: OutboundEvent): Promise<void>;
}

export interface ForwardedHook {
  scopeId: string;
  rawBody: Buffer;
  signature: string;
}

/** Forwards Kommo hooks the bridge does not consume, byte for byte; throws `OutboundCallError`. */
export interface HookForwarder {
  readonly enabled: boolean;
  forward(hook: ForwardedHook): Promise<void>;
}

/**
 * Asks the chat service for a message's delivery status at `CHAT_SERVICE_STATUS_URL` (a signed GET).
 * `enabled` is false when that setting is unset. Answers 200 and 404 come back as a `PolledStatus`;
 * any other outcome (network error, timeout, any other status) throws `OutboundCallError`.
 */
export interface ChatServiceStatusSource {
  readonly enabled: boolean;
  /** `webhookId`: unique per query, so the chat service can tell two polls apart. */
  query(msgid: string, call: { webhookId: string }): Promise<PolledStatus>;
}
