import { createHash } from 'node:crypto';
import type { BridgeDeps, DepsOf } from '../core/deps';
import { gone } from '../core/domain/errors';
import {
  header,
  json,
  parseJsonBody,
  pathParameter,
  rawBody,
  validate,
  type ApiEvent,
  type ApiResult,
} from '../core/http/api';
import type { RouteTable } from '../core/http/route';
import { conversationRead } from '../core/use-cases/conversation-read';
import { knownKommoChat, registeredConversationId } from '../core/use-cases/conversation-directory';
import { kommoUserHeartbeat, kommoUserLeft } from '../core/use-cases/kommo-user-presence';
import { issueLiveTicket } from '../core/use-cases/live-channel';
import { readPresence } from '../core/use-cases/presence';
import type { WidgetCaller } from '../core/use-cases/widget-caller';
import { kommoConversationId, readRequest, widgetChatPresenceRequestSchema, widgetFieldCheckSchema } from './requests';

export type WidgetRoute = (event: ApiEvent, caller: WidgetCaller) => Promise<ApiResult>;

/** A retired v1 route's answer: 410, naming the v2 route that replaces it; nothing is read or written. */
const retired = (replacement: string): never => {
  throw gone(
    'route_retired',
    `This v1 widget route is retired; use ${replacement}, which names the chat by Kommo's id`,
  );
};

export type WidgetRoutesDeps = Pick<BridgeDeps, 'log'> &
  DepsOf<typeof kommoUserHeartbeat> &
  DepsOf<typeof readPresence> &
  DepsOf<typeof conversationRead> &
  DepsOf<typeof knownKommoChat> &
  DepsOf<typeof issueLiveTicket>;

/** One entry per widget route of the manifest, each called with the caller its token names. */
export const widgetRoutes = (deps: WidgetRoutesDeps): RouteTable<'widget', WidgetRoute> => {
  const userIn = (caller: WidgetCaller, conversation: string) => ({
    scopeId: caller.scope.scopeId,
    accountId: caller.scope.accountId,
    conversationId: conversation,
    userId: String(caller.kommoUserId),
  });
  const presenceOf = async (
    user: ReturnType<typeof userIn>,
    request: { state: 'online' | 'offline' },
    labels: { kommoConversationId?: string; userAmojoId?: string },
  ) => {
    if (request.state === 'online') await kommoUserHeartbeat(deps, user, labels);
    else await kommoUserLeft(deps, user);
  };
  /** The client's presence for the widget: one Query, and none when no client id is known. */
  const clientPresence = async (caller: WidgetCaller, client: string | undefined) => {
    if (client === undefined) return null;
    const { client_id: _, ...view } = await readPresence(deps, { scopeId: caller.scope.scopeId, clientId: client });
    return view;
  };

  return {
    // v1, retired (docs/contract.md, "Widget routes, v1: retired"): they named a chat by the chat
    // service's id, which the token's scope could not vouch for, so one account's token could read
    // another's conversation. After the token check, so a caller without one still learns only 401.
    'POST /widget/presence': async () => retired('POST /widget/chats/{kommo_conversation_id}/presence'),
    'GET /widget/clients/{client_id}/presence': async () => retired('GET /widget/chats/{kommo_conversation_id}'),
    'POST /widget/conversations/{conversation_id}/read': async () =>
      retired('POST /widget/chats/{kommo_conversation_id}/read'),
    'GET /widget/chats/{kommo_conversation_id}': async (event, caller) => {
      const chat = await knownKommoChat(
        deps,
        caller.scope,
        validate(pathParameter(event, 'kommo_conversation_id'), kommoConversationId),
      );
      return json(200, {
        kommo_conversation_id: chat.kommoConversationId,
        conversation_id: chat.conversationId ?? null,
        client_id: chat.clientId ?? null,
        client_presence: await clientPresence(caller, chat.clientId),
      });
    },
    'POST /widget/chats/{kommo_conversation_id}/presence': async (event, caller) => {
      const kommoChat = validate(pathParameter(event, 'kommo_conversation_id'), kommoConversationId);
      const request = parseJsonBody(rawBody(event), widgetChatPresenceRequestSchema);
      const chat = await knownKommoChat(deps, caller.scope, kommoChat);
      await presenceOf(userIn(caller, registeredConversationId(chat)), request, {
        kommoConversationId: chat.kommoConversationId,
        userAmojoId: request.user_amojo_id,
      });
      // The client's presence rides on the answer, so a widget heartbeat needs no second request.
      return json(202, { ok: true, client_presence: await clientPresence(caller, chat.clientId) });
    },
    'POST /widget/chats/{kommo_conversation_id}/read': async (event, caller) => {
      const kommoChat = validate(pathParameter(event, 'kommo_conversation_id'), kommoConversationId);
      const request = readRequest(event);
      const chat = await knownKommoChat(deps, caller.scope, kommoChat);
      await conversationRead(deps, {
        scope: caller.scope,
        conversationId: registeredConversationId(chat),
        kommoConversationId: chat.kommoConversationId,
        kommoUserId: caller.kommoUserId,
        userAmojoId: request.user_amojo_id,
      });
      return json(202, { ok: true });
    },
    /**
     * The field check: one structured log line, and the token's fingerprint back, so the widget's next
     * check says whether Kommo gave it the same token again (the line's `token_reused`). The
     * fingerprint is a hash prefix: it names the token without being it.
     */
    'POST /widget/field-check': async (event, caller) => {
      const report = parseJsonBody(rawBody(event), widgetFieldCheckSchema);
      const tokenFingerprint = createHash('sha256')
        .update(header(event, 'x-auth-token') ?? '')
        .digest('hex')
        .slice(0, 16);
      deps.log.info('widget field check', {
        scopeId: caller.scope.scopeId,
        kommoAccountId: caller.kommoAccountId,
        kommoUserId: caller.kommoUserId,
        tokenFingerprint,
        tokenReused:
          report.previous_token_fingerprint === undefined
            ? null
            : report.previous_token_fingerprint === tokenFingerprint,
        widgetVersion: report.widget_version,
        isCard: report.is_card,
        entity: report.entity,
        address: report.address,
        talkEventTypes: report.talk_event_types,
        crmForms: report.crm_forms,
      });
      return json(202, { ok: true, token_fingerprint: tokenFingerprint });
    },
    // The live channel's URL with a ticket for one connect (docs/contract.md, "Live channel for the widget").
    'POST /widget/live': async (_event, caller) => json(200, await issueLiveTicket(deps, caller)),
  };
};
