import type { PresenceView } from './presence-window';

/**
 * The live channel's rules (docs/contract.md, "Live channel for the widget"): the widget asks for a ticket
 * over HTTP, connects with it once within 60 s, and watches chats; the bridge pushes the watched
 * chats' client presence.
 */

/** A ticket is good for one connect within this time. */
export const LIVE_TICKET_SECONDS = 60;

/**
 * API Gateway closes a WebSocket connection after 2 hours whatever happens on it
 * (https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html), so nothing about a
 * connection needs to be kept longer; the margin covers a `$disconnect` that runs late.
 */
export const LIVE_CONNECTION_MAX_MS = 2 * 60 * 60 * 1000;
export const LIVE_ITEM_RETENTION_MS = LIVE_CONNECTION_MAX_MS + 10 * 60 * 1000;

/**
 * Each ping heartbeats every chat the connection watches, so the number of watches bounds the work
 * of a ping; the widget watches the chat that is open, a handful at most.
 */
export const MAX_WATCHES_PER_CONNECTION = 20;

/** `{"type": "client.presence", …}`: the watched chat's client presence, as the presence query answers it. */
export interface ClientPresenceFrame {
  type: 'client.presence';
  kommo_conversation_id: string;
  conversation_id: string | null;
  client_id: string | null;
  online: boolean;
  last_seen_at: string | null;
  expires_at: string | null;
}

export type LiveFrame = ClientPresenceFrame | { type: 'pong' } | { type: 'error'; code: string; message: string };

/**
 * The frame for a watched chat. A chat whose client the bridge does not know yet has no client
 * presence to hear: it is offline, never seen, until the directory learns its client.
 */
export function clientPresenceFrame(
  chat: { kommoConversationId: string; conversationId?: string; clientId?: string },
  presence: PresenceView | undefined,
): ClientPresenceFrame {
  return {
    type: 'client.presence',
    kommo_conversation_id: chat.kommoConversationId,
    conversation_id: chat.conversationId ?? null,
    client_id: chat.clientId ?? null,
    online: presence?.online ?? false,
    last_seen_at: presence?.last_seen_at ?? null,
    expires_at: presence?.expires_at ?? null,
  };
}
