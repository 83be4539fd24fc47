import { requireSettings } from '../core/config';
import { parseScope } from '../core/domain/scope';
import { json, parseJsonBody, pathParameter, rawBody, validate, type ApiEvent, type ApiResult } from '../core/http/api';
import { pathSegmentIdentifier } from '../core/http/fields';
import { httpHandler, routeFor, type ChatServiceHttpHandlerDeps, type RouteTable } from '../core/http/route';
import { statusRequestSchema } from '../core/http/status-report';
import type { StatusKey } from '../core/ports/status-store';
import { readDeliveryStatus, updateDeliveryStatus, type DeliveryStatusDeps } from '../core/use-cases/delivery-status';

/** The status report's rules are shared with the answer to the bridge's own status query (CHAT_SERVICE_STATUS_URL). */
export { statusRequestSchema };

/** Kommo's message id, from the outgoing-message hook. */
export const msgidSchema = pathSegmentIdentifier('msgid');

export type ChatStatusDeps = ChatServiceHttpHandlerDeps & DeliveryStatusDeps;

/** `POST /chat/{scope_id}/messages/{msgid}/status` (a status report) and `GET` of the same path (the record). */
export const createChatStatusHandler = (deps: ChatStatusDeps) => {
  const routes: RouteTable<'chat-status', (event: ApiEvent, key: StatusKey) => Promise<ApiResult>> = {
    'GET /chat/{scope_id}/messages/{msgid}/status': async (_event, key) =>
      json(200, await readDeliveryStatus(deps, key)),
    'POST /chat/{scope_id}/messages/{msgid}/status': async (event, key) => {
      const update = parseJsonBody(rawBody(event), statusRequestSchema);
      const { applied, status } = await updateDeliveryStatus(deps, key, update);
      return json(202, { ok: true, applied, status });
    },
  };
  return httpHandler(deps, 'chat-service', async (event) => {
    const route = routeFor(routes, event.routeKey);
    const scope = parseScope(
      pathParameter(event, 'scope_id'),
      requireSettings(deps.config, ['KOMMO_CHANNEL_ID'], 'the /chat/... routes').KOMMO_CHANNEL_ID,
    );
    return route(event, { scopeId: scope.scopeId, msgid: validate(pathParameter(event, 'msgid'), msgidSchema) });
  });
};
