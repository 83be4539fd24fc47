import { z } from 'zod';
import { PRESENCE_TTL } from '../core/domain/presence-window';
import { parseScope } from '../core/domain/scope';
import type { BridgeDeps } from '../core/deps';
import { json, parseJsonBody, pathParameter, rawBody, validate } from '../core/http/api';
import { httpHandler } from '../core/http/route';
import { clientOffline, clientOnline, readPresence } from '../core/use-cases/presence';

const clientId = z
  .string({ error: 'client_id is required and must be a string' })
  .min(1, { message: 'client_id must be 1-128 characters' })
  .max(128, { message: 'client_id must be 1-128 characters' });

export const presenceRequestSchema = z.strictObject({
  client_id: clientId,
  state: z.enum(['online', 'offline'], { error: 'state must be "online" or "offline"' }),
  ttl_seconds: z
    .number({ error: 'ttl_seconds must be a number' })
    .int({ message: 'ttl_seconds must be a whole number' })
    .min(PRESENCE_TTL.min, { message: `ttl_seconds must be ${PRESENCE_TTL.min}-${PRESENCE_TTL.max}` })
    .max(PRESENCE_TTL.max, { message: `ttl_seconds must be ${PRESENCE_TTL.min}-${PRESENCE_TTL.max}` })
    .default(PRESENCE_TTL.default),
});

/** `POST /chat/{scope_id}/presence` (heartbeats and offline) and `GET /chat/{scope_id}/presence/{client_id}`. */
export const createChatPresenceHandler = (deps: BridgeDeps) =>
  httpHandler(deps, 'chat-service', async (event) => {
    const scope = parseScope(pathParameter(event, 'scope_id'), deps.config.KOMMO_CHANNEL_ID);
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

