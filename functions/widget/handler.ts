import { z } from 'zod';
import type { BridgeDeps } from '../core/deps';
import { header, json, parseJsonBody, pathParameter, rawBody, validate, type ApiEvent, type ApiResult } from '../core/http/api';
import { identifier } from '../core/http/fields';
import { widgetHttpHandler } from '../core/http/widget-route';
import { notFound } from '../core/domain/errors';
import { conversationRead } from '../core/use-cases/conversation-read';
import { kommoUserHeartbeat, kommoUserLeft } from '../core/use-cases/kommo-user-presence';
import { readPresence } from '../core/use-cases/presence';
import { authenticateWidgetCaller, widgetTokenRulesFrom, type WidgetCaller } from '../core/use-cases/widget-caller';

const conversationId = identifier('conversation_id');
const clientId = identifier('client_id');

export const widgetPresenceRequestSchema = z.strictObject({
  conversation_id: conversationId,
  state: z.enum(['online', 'offline'], { error: 'state must be "online" or "offline"' }),
});

type WidgetRoute = (event: ApiEvent, caller: WidgetCaller) => Promise<ApiResult>;

/**
 * The Kommo widget's routes (CONTRACT.md, "Kommo widget → bridge"), and their CORS preflights.
 * Without KOMMO_CLIENT_SECRET or KOMMO_REDIRECT_URI the function does not start.
 */
export const createWidgetHandler = (deps: BridgeDeps) => {
  const tokenRules = widgetTokenRulesFrom(deps.config);
  const userIn = (caller: WidgetCaller, conversation: string) => ({
    scopeId: caller.scope.scopeId,
    accountId: caller.scope.accountId,
    conversationId: conversation,
    userId: String(caller.kommoUserId),
  });

  const routes: Record<string, WidgetRoute> = {
    'POST /widget/presence': async (event, caller) => {
      const request = parseJsonBody(rawBody(event), widgetPresenceRequestSchema);
      const key = userIn(caller, request.conversation_id);
      if (request.state === 'online') await kommoUserHeartbeat(deps, key);
      else await kommoUserLeft(deps, key);
      return json(202, { ok: true });
    },
    'GET /widget/clients/{client_id}/presence': async (event, caller) => {
      const id = validate(pathParameter(event, 'client_id'), clientId);
      return json(200, await readPresence(deps, { scopeId: caller.scope.scopeId, clientId: id }));
    },
    'POST /widget/conversations/{conversation_id}/read': async (event, caller) => {
      const conversation = validate(pathParameter(event, 'conversation_id'), conversationId);
      await conversationRead(deps, { scope: caller.scope, conversationId: conversation, userId: String(caller.kommoUserId) });
      return json(202, { ok: true });
    },
  };

  return widgetHttpHandler(deps, async (event) => {
    const route = routes[event.routeKey];
    if (!route) throw notFound('unknown_route', `No widget route for ${event.routeKey}`);
    return route(event, await authenticateWidgetCaller(deps, tokenRules, header(event, 'x-auth-token')));
  });
};
