/** Structured logging; Powertools Logger satisfies it in Lambda. Attributes must never hold a secret. */
export interface Log {
  debug(message: string, attributes?: Record<string, unknown>): void;
  info(message: string, attributes?: Record<string, unknown>): void;
  warn(message: string, attributes?: Record<string, unknown>): void;
  error(message: string, attributes?: Record<string, unknown>): void;
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
  | 'PresenceTransition';

export interface Metrics {
  count(name: MetricName, value?: number): void;
  /** Publishes what was counted; called once at the end of every invocation. */
  flush?(): void;
}
