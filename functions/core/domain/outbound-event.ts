/**
 * Events the bridge sends to the chat service (docs/contract.md, "Bridge → chat service").
 * The event id doubles as the Standard Webhooks `webhook-id`, so receivers can de-duplicate.
 */
export type OutboundEventType =
  | 'typing.started'
  | 'typing.stopped'
  | 'presence.changed'
  | 'conversation.read'
  | 'user.presence.changed';

export interface EventScope {
  scope_id: string;
  account_id: string;
}

export interface OutboundEvent {
  type: OutboundEventType;
  id: string;
  timestamp: string;
  data: EventScope & Record<string, unknown>;
}

export function buildEvent(
  type: OutboundEventType,
  data: OutboundEvent['data'],
  { id, nowMs }: { id: string; nowMs: number },
): OutboundEvent {
  return { type, id: id.startsWith('evt_') ? id : `evt_${id}`, timestamp: new Date(nowMs).toISOString(), data };
}

/**
 * `user.presence.changed` (docs/contract.md, "v3 changes"): a Kommo user has Kommo open in a visible
 * tab, or no longer has. `user_id` is the user's amojo id when the widget sent it, else null; `at`
 * is in unix seconds, as the contract spells it.
 */
export function userPresenceChangedData(
  scope: EventScope,
  user: { kommoUserId: number; userAmojoId?: string },
  state: 'online' | 'offline',
  atMs: number,
): OutboundEvent['data'] {
  return {
    ...scope,
    user_id: user.userAmojoId ?? null,
    kommo_user_id: user.kommoUserId,
    state,
    at: Math.floor(atMs / 1000),
  };
}

/**
 * How long a `typing.stopped` stays worth sending. Past it the chat service has long hidden the
 * indicator on its own (every `typing.started` carries `expires_at`), so a late stop is noise.
 */
export const TYPING_STOPPED_FRESH_MS = 60_000;

/**
 * A typing event is stale when a retry would come too late to be true: a `typing.started` after its
 * `expires_at`, a `typing.stopped` a minute after it was made. Stale typing events are dropped, not
 * dead-lettered; every other event type is never stale.
 */
export function isStaleTypingEvent(event: OutboundEvent, nowMs: number): boolean {
  if (event.type === 'typing.started') {
    const expiresAt = Date.parse(String(event.data.expires_at));
    return Number.isNaN(expiresAt) || nowMs >= expiresAt;
  }
  if (event.type === 'typing.stopped') return nowMs - Date.parse(event.timestamp) > TYPING_STOPPED_FRESH_MS;
  return false;
}
