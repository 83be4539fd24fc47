import type { Context } from 'aws-lambda';

/** Structured logging; Powertools Logger satisfies it in Lambda. Attributes must never hold a secret. */
export interface Log {
  debug(message: string, attributes?: Record<string, unknown>): void;
  info(message: string, attributes?: Record<string, unknown>): void;
  warn(message: string, attributes?: Record<string, unknown>): void;
  error(message: string, attributes?: Record<string, unknown>): void;
  /**
   * Runs `work` as one invocation (with `context`) or one part of it, e.g. a batch record: every line
   * it logs, in awaited callbacks too, carries the Lambda context (function name, request id, cold
   * start) and `keys`, so one request's lines can be found together; nothing is left for the next.
   */
  during?<T>(scope: { context?: Context; keys?: Record<string, string> }, work: () => Promise<T>): Promise<T>;
}

/** Business metrics (CloudWatch EMF through Powertools in Lambda; counted in memory locally). */
export type MetricName =
  | 'KommoHookAccepted'
  | 'KommoHookRejected'
  | 'KommoCallSucceeded'
  | 'KommoCallFailed'
  | 'KommoCallForbidden'
  | 'KommoTypingCall'
  | 'TypingStartCoalesced'
  | 'EventDelivered'
  | 'EventRetried'
  | 'EventDropped'
  | 'DeadLettered'
  | 'HookForwarded'
  | 'StatusApplied'
  | 'StatusIgnored'
  | 'PresenceTransition'
  /** The bridge asked CHAT_SERVICE_STATUS_URL for a message's status (one per query). */
  | 'StatusPolled'
  /** A status query failed (network, timeout, 429, 5xx, any other status); the next poll comes on the schedule. */
  | 'StatusPollFailed'
  /** The chat service's answer to a status query broke the contract; logged, and polled again on the schedule. */
  | 'StatusPollMalformed'
  /** A Kommo hook or the chat service taught the conversation directory something new. */
  | 'ConversationLearned'
  /** A Kommo hook named other chat-service ids for a Kommo chat than the directory holds; nothing changed. */
  | 'ConversationConflict'
  /** The directory could not be written while a hook was processed; the hook's other work went on. */
  | 'ConversationLearnFailed'
  /** A client presence frame reached a live connection watching the client. */
  | 'LiveFramePushed'
  /** A live connection watching a client was gone (API Gateway 410); its watcher was removed. */
  | 'LiveConnectionGone'
  /** A client presence frame could not be pushed; the presence change itself stands. */
  | 'LivePushFailed';

export interface Metrics {
  count(name: MetricName, value?: number): void;
  /** Publishes what was counted; called once at the end of every invocation. */
  flush?(): void;
}
