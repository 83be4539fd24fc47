import { createHash } from 'node:crypto';

/** A Kommo user in one conversation: the widget reports it, the chat service hears of transitions. */
export interface KommoUserPresenceKey {
  scopeId: string;
  /** The scope's account (amojo id), for the events. */
  accountId: string;
  /** The chat service's conversation id. */
  conversationId: string;
  /** Kommo's numeric user id, as a string. */
  userId: string;
}

/**
 * What a window's events say about the chat and the user besides the key: Kommo's chat id (known when
 * the widget named the chat by it) and the Kommo user's amojo id (when the widget sent it). The
 * heartbeat that opens a window sets them; the window's offline event repeats them.
 */
export interface KommoUserPresenceLabels {
  kommoConversationId?: string;
  userAmojoId?: string;
}

/** An online window: opened by a heartbeat after silence, extended by each heartbeat after that. */
export interface KommoUserWindow extends KommoUserPresenceLabels {
  /** Names this window in its timer and its events, so neither can be confused with a later window. */
  windowId: string;
  openedAtMs: number;
  onlineUntilMs: number;
  lastSeenAtMs: number;
  /**
   * The window's timer chain: the one end-of-window timer that may queue the next (absent on windows
   * written before windows named their timer).
   */
  timerId?: string;
}

/**
 * A Kommo user's presence in a conversation, as the widget reports it (docs/contract.md, "Kommo widget →
 * bridge"): pings or heartbeats keep the user online; a window without one, and the user is offline.
 * The defaults of the deployment's choice (`KOMMO_USER_PING_SECONDS`, `KOMMO_USER_WINDOW_SECONDS`): a
 * ping every 30 s and a 90-s window, so three fit in a window and one lost ping (a slow network, a busy
 * tab) never flips the user offline.
 */
export const KOMMO_USER_PING_DEFAULT_SECONDS = 30;
export const KOMMO_USER_WINDOW_DEFAULT_SECONDS = 90;

export type KommoUserPresenceState = 'online' | 'offline';

/** The end of the window a heartbeat at `nowMs` opens, or extends the open one to. */
export function kommoUserOnlineUntil(nowMs: number, windowSeconds: number): number {
  return nowMs + windowSeconds * 1000;
}

/**
 * How long a window item outlives its end (its `expiresAt`): the timer at the end must still find
 * it to send the `offline`, even when the timers queue runs late, and DynamoDB TTL may delete an
 * item any time after `expiresAt`.
 */
export const KOMMO_USER_WINDOW_RETENTION_MS = 24 * 60 * 60 * 1000;

/**
 * `presence.changed` ids derive from the window they open or close: whichever of the explicit
 * `offline`, the timer or a later heartbeat notices the end of a window, and however often a retry
 * repeats it, the chat service receives one `webhook-id` per transition and can drop repeats.
 */
export function kommoUserPresenceEventId(
  state: KommoUserPresenceState,
  key: KommoUserPresenceKey,
  window: Pick<KommoUserWindow, 'windowId'>,
): string {
  const digest = createHash('sha256')
    .update([state, key.scopeId, key.userId, key.conversationId, window.windowId].join('\n'))
    .digest('hex');
  return `evt_prs_${digest.slice(0, 32)}`;
}

/**
 * The `presence.changed` event's data (docs/contract.md, "Bridge → chat service"). `user_id` is the Kommo
 * user's amojo id, the spelling typing events use, when the widget sent it (null otherwise);
 * `kommo_user_id` is always the numeric CRM id from the widget's token.
 */
export function kommoUserPresenceData(
  key: KommoUserPresenceKey,
  state: KommoUserPresenceState,
  atMs: number,
  labels: KommoUserPresenceLabels = {},
) {
  return {
    scope_id: key.scopeId,
    account_id: key.accountId,
    conversation_id: key.conversationId,
    kommo_conversation_id: labels.kommoConversationId ?? null,
    user_id: labels.userAmojoId ?? null,
    kommo_user_id: Number(key.userId),
    state,
    at: new Date(atMs).toISOString(),
  };
}
