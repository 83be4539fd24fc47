/**
 * The bridge's wire shapes (docs/openapi.json in the bridge's repository), spelled as they travel:
 * field names are the JSON's own, so what you read here is what you see in a log or a packet capture.
 */

export type ClientState = 'online' | 'offline';

export interface TypingRequest {
  conversation_id: string;
  sender_id: string;
  state: 'start' | 'stop';
  /** 1-60, default 6: how long a `start` lasts without another one. */
  ttl_seconds?: number;
}

export interface PresenceRequest {
  client_id: string;
  state: ClientState;
  /** 10-3600, default 60: how long an `online` lasts without another one. Heartbeat every ttl/3. */
  ttl_seconds?: number;
}

/** Kommo's error codes: 905 requires `error`, a text Kommo shows its user. */
export type DeliveryErrorCode = 901 | 902 | 903 | 904 | 905;

export type StatusReport =
  | { status: 'delivered' | 'read' }
  | { status: 'error'; error_code: Exclude<DeliveryErrorCode, 905>; error?: string }
  | { status: 'error'; error_code: 905; error: string };

export interface ConversationRegistration {
  /** Kommo's amojo chat id, from Kommo's create-chat or send-message answer. */
  kommo_conversation_id: string;
  client_id: string;
}

export interface Ok {
  ok: true;
}

export interface StatusAccepted {
  ok: true;
  /** false: the status was stale or a repeat (statuses only move forward); nothing was sent to Kommo. */
  applied: boolean;
  status: 'delivered' | 'read' | 'error';
}

export interface Presence {
  client_id: string;
  online: boolean;
  last_seen_at: string | null;
  expires_at: string | null;
}

export interface StatusRecord {
  msgid: string;
  status: 'delivered' | 'read' | 'error';
  error_code?: DeliveryErrorCode;
  error?: string;
  updated_at: string;
  kommo: { delivered: boolean; attempts: number; last_error?: string };
}

/** What every event's `data` carries. */
export interface EventScope {
  scope_id: string;
  account_id: string;
}

export interface TypingEventData extends EventScope {
  /** null for a chat a Kommo user started ("write first") that you have not registered yet. */
  conversation_id: string | null;
  kommo_conversation_id: string;
  /** The Kommo user's amojo id. */
  user_id: string;
  /** ISO time: hide the indicator then unless another `typing.started` comes. */
  expires_at: string;
}

export interface PresenceChangedData extends EventScope {
  conversation_id: string;
  kommo_conversation_id: string | null;
  user_id: string | null;
  kommo_user_id: number;
  state: ClientState;
  /** ISO time. */
  at: string;
}

export interface ConversationReadData extends EventScope {
  conversation_id: string;
  kommo_conversation_id: string | null;
  user_id: string | null;
  kommo_user_id: number;
  /** ISO time: every client message in the conversation up to then is read. */
  read_at: string;
}

export interface UserPresenceChangedData extends EventScope {
  user_id: string | null;
  kommo_user_id: number;
  state: ClientState;
  /** Unix seconds (unlike the ISO times of the other events). */
  at: number;
}

interface Envelope<T extends string, D> {
  type: T;
  /** `evt_…`, also the `webhook-id`: de-duplicate on it (delivery is at least once). */
  id: string;
  timestamp: string;
  data: D;
}

export type BridgeEvent =
  | Envelope<'typing.started', TypingEventData>
  | Envelope<'typing.stopped', TypingEventData>
  | Envelope<'presence.changed', PresenceChangedData>
  | Envelope<'conversation.read', ConversationReadData>
  | Envelope<'user.presence.changed', UserPresenceChangedData>;

export type BridgeEventType = BridgeEvent['type'];

/** The bridge's error body. */
export interface BridgeErrorBody {
  error: { code: string; message: string };
}
