import { invocationLog } from '../core/http/route';
import { liveRoutes, type LiveDeps, type LiveEvent } from './routes';

export type { LiveDeps, LiveEvent, LiveResult } from './routes';

/**
 * The live channel's three routes: `$connect` (refused without a valid ticket), `$disconnect`, and
 * `$default`, which receives every frame. Answers go back as frames through the Management API,
 * never as route responses, so every frame a client gets takes the one path pushes take. Every line
 * an invocation logs carries API Gateway's request id and the connection it is about.
 */
export const createLiveHandler = (deps: LiveDeps) =>
  invocationLog(deps.log, liveRoutes(deps), (event: LiveEvent) => ({
    api_gateway_request_id: event.requestContext.requestId,
    live_connection_id: event.requestContext.connectionId,
  }));
