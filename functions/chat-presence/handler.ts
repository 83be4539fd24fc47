import { z } from 'zod';
import { requireSettings } from '../core/config';
import { PRESENCE_TTL } from '../core/domain/presence-window';
import { parseScope } from '../core/domain/scope';
import type { BridgeDeps } from '../core/deps';
import { json, parseJsonBody, pathParameter, rawBody, validate } from '../core/http/api';
import { identifier, seconds } from '../core/http/fields';
import { httpHandler } from '../core/http/route';
import { clientOffline, clientOnline, readPresence } from '../core/use-cases/presence';

const clientId = identifier('client_id');

export const presenceRequestSchema = z.strictObject({
  client_id: clientId,
  state: z.enum(['online', 'offline'], { error: 'state must be "online" or "offline"' }),
  ttl_seconds: seconds('ttl_seconds', PRESENCE_TTL),
});

/** `POST /chat/{scope_id}/presence` (heartbeats and offline) and `GET /chat/{scope_id}/presence/{client_id}`. */
export const createChatPresenceHandler = (deps: BridgeDeps) =>
  httpHandler(deps, 'chat-service', async (event) => {
    const scope = parseScope(pathParameter(event, 'scope_id'), requireSettings(deps.config, ['KOMMO_CHANNEL_ID'], 'the /chat/... routes').KOMMO_CHANNEL_ID);
    if (event.requestContext.http.method === 'GET') {
      const id = validate(pathParameter(event, 'client_id'), clientId);
      return json(200, await readPresence(deps, { scopeId: scope.scopeId, clientId: id }));
    }
    const request = parseJsonBody(rawBody(event), presenceRequestSchema);
    const key = { scopeId: scope.scopeId, clientId: request.client_id };
    if (request.state === 'online') await clientOnline(deps, key, request.ttl_seconds);
    else await clientOffline(deps, key);
    return json(202, { ok: true });
  });

