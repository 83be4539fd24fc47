import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import type { Log } from '../ports/telemetry';
import type { BridgeDeps } from '../deps';
import { notFound } from '../domain/errors';
import type { FunctionName, RouteKey } from '../../manifest';
import type { ApiEvent, ApiResult } from './api';
import { bodyLimit, chatServiceAuth, flushMetrics, jsonErrors, type ChatServiceAuthDeps } from './middleware';

export type RouteAuth = 'chat-service' | 'none';

/**
 * A function's sub-routing: one entry per route key the manifest gives the function, CORS preflights
 * (`OPTIONS`) aside, which the widget middleware answers. A missing, extra or misspelt key fails `tsc`.
 */
export type RouteTable<F extends FunctionName, RouteHandler> = Record<
  Exclude<RouteKey<F>, `OPTIONS ${string}`>,
  RouteHandler
>;

/**
 * The entry of `table` for API Gateway's `routeKey`; 404 `unknown_route` ("No <what> for <key>") when
 * this function has no such route, which only a route added to the API and not to the table can cause.
 */
export function routeFor<Key extends string, RouteHandler>(
  table: Record<Key, RouteHandler>,
  routeKey: string,
  what = 'route',
): RouteHandler {
  if (!Object.hasOwn(table, routeKey)) throw notFound('unknown_route', `No ${what} for ${routeKey}`);
  return table[routeKey as Key];
}

/**
 * An HTTP API handler: JSON errors, the 64 KiB limit, the route's authentication, then the route.
 * Routes that verify their own signature (Kommo hooks) use `auth: 'none'` and check it first thing.
 */
/** What an HTTP handler needs: telemetry, and for chat-service routes what their authentication checks with. */
export type HttpHandlerDeps = Pick<BridgeDeps, 'log' | 'metrics'>;
export type ChatServiceHttpHandlerDeps = HttpHandlerDeps & ChatServiceAuthDeps;

export function httpHandler(
  deps: ChatServiceHttpHandlerDeps,
  auth: 'chat-service',
  route: Route,
): ReturnType<typeof build>;
export function httpHandler(deps: HttpHandlerDeps, auth: 'none', route: Route): ReturnType<typeof build>;
export function httpHandler(deps: HttpHandlerDeps & Partial<ChatServiceAuthDeps>, auth: RouteAuth, route: Route) {
  return build(deps, auth === 'chat-service' ? chatServiceAuth(deps as ChatServiceHttpHandlerDeps) : undefined, route);
}

type Route = (event: ApiEvent) => Promise<ApiResult>;

function build(
  deps: Pick<BridgeDeps, 'log' | 'metrics'>,
  auth: ReturnType<typeof chatServiceAuth> | undefined,
  route: Route,
) {
  const handler = middy<ApiEvent, ApiResult>()
    .use(flushMetrics(deps.metrics))
    .use(jsonErrors(deps.log))
    .use(bodyLimit());
  if (auth) handler.use(auth);
  return invocationLog(deps.log, handler.handler(route), apiGatewayRequestKeys);
}

/** API Gateway's request id of an HTTP invocation: what its access log and the caller's `apigw-requestid` header show. */
export function apiGatewayRequestKeys(event: ApiEvent): Record<string, string> {
  const requestId = event.requestContext?.requestId;
  return requestId ? { api_gateway_request_id: requestId } : {};
}

/**
 * Every line an invocation logs, the error middleware's included, carries the Lambda context and the
 * keys `keysOf` names for its event (HTTP: `apiGatewayRequestKeys`).
 */
export function invocationLog<E, R>(
  log: Log,
  handler: (event: E, context: Context) => Promise<R>,
  keysOf: (event: E) => Record<string, string>,
) {
  return (event: E, context: Context): Promise<R> => {
    if (!log.during) return handler(event, context);
    const keys = keysOf(event);
    return log.during({ context, ...(Object.keys(keys).length > 0 ? { keys } : {}) }, () => handler(event, context));
  };
}
