import { requireSettings } from '../core/config';
import { parseScope } from '../core/domain/scope';
import type { BridgeDeps } from '../core/deps';
import { json, parseJsonBody, pathParameter, rawBody, validate } from '../core/http/api';
import { pathSegmentIdentifier } from '../core/http/fields';
import { httpHandler } from '../core/http/route';
import { statusRequestSchema } from '../core/http/status-report';
import { readDeliveryStatus, updateDeliveryStatus } from '../core/use-cases/delivery-status';

/** The status report's rules are shared with the answer to the bridge's own status query (CHAT_SERVICE_STATUS_URL). */
export { statusRequestSchema };

/** Kommo's message id, from the outgoing-message hook. */
export const msgidSchema = pathSegmentIdentifier('msgid');

/** `POST /chat/{scope_id}/messages/{msgid}/status` (a status report) and `GET` of the same path (the record). */
export const createChatStatusHandler = (deps: BridgeDeps) =>
  httpHandler(deps, 'chat-service', async (event) => {
    const scope = parseScope(pathParameter(event, 'scope_id'), requireSettings(deps.config, ['KOMMO_CHANNEL_ID'], 'the /chat/... routes').KOMMO_CHANNEL_ID);
    const key = { scopeId: scope.scopeId, msgid: validate(pathParameter(event, 'msgid'), msgidSchema) };
    if (event.requestContext.http.method === 'GET') return json(200, await readDeliveryStatus(deps, key));
    const update = parseJsonBody(rawBody(event), statusRequestSchema);
    const { applied, status } = await updateDeliveryStatus(deps, key, update);
    return json(202, { ok: true, applied, status });
  });
