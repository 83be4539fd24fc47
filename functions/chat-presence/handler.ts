import * as z from '../core/zod';
import { requireSettings } from '../core/config';
import { PRESENCE_TTL } from '../core/domain/presence-window';
import { parseScope, type Scope } from '../core/domain/scope';
import { json, parseJsonBody, pathParameter, rawBody, validate, type ApiEvent, type ApiResult } from '../core/http/api';
import { identifier, seconds } from '../core/http/fields';
import { httpHandler, routeFor, type ChatServiceHttpHandlerDeps, type RouteTable } from '../core/http/route';
import { clientOffline, clientOnline, readPresence, type PresenceDeps } from '../core/use-cases/presence';

const clientId = identifier('client_id');

export const presenceRequestSchema = z.strictObject({
  client_id: clientId,
  state: z.enum(['online', 'offline'], { error: 'state must be "online" or "offline"' }),
  ttl_seconds: seconds('ttl_seconds', PRESENCE_TTL),
});

export type ChatPresenceDeps = ChatServiceHttpHandlerDeps & PresenceDeps;

/** `POST /chat/{scope_id}/presence` (heartbeats and offline) and `GET /chat/{scope_id}/presence/{client_id}`. */
export const createChatPresenceHandler = (deps: ChatPresenceDeps) => {
  const routes: RouteTable<'chat-presence', (event: ApiEvent, scope: Scope) => Promise<ApiResult>> = {
    'GET /chat/{scope_id}/presence/{client_id}': async (event, scope) => {
      const id = validate(pathParameter(event, 'client_id'), clientId);
      return json(200, await readPresence(deps, { scopeId: scope.scopeId, clientId: id }));
    },
    'POST /chat/{scope_id}/presence': async (event, scope) => {
      const request = parseJsonBody(rawBody(event), presenceRequestSchema);
      const key = { scopeId: scope.scopeId, clientId: request.client_id };
      if (request.state === 'online') await clientOnline(deps, key, request.ttl_seconds);
      else await clientOffline(deps, key);
      return json(202, { ok: true });
    },
  };
  return httpHandler(deps, 'chat-service', async (event) => {
    const route = routeFor(routes, event.routeKey);
    return route(
      event,
      parseScope(
        pathParameter(event, 'scope_id'),
        requireSettings(deps.config, ['KOMMO_CHANNEL_ID'], 'the /chat/... routes').KOMMO_CHANNEL_ID,
      ),
    );
  });
};
