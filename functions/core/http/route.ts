import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import type { Log } from '../ports/telemetry';
import type { BridgeDeps } from '../deps';
import { notFound } from '../domain/errors';
import type { FunctionName, RouteKey } from '../../manifest';
import type { ApiEvent, ApiResult } from './api';
import {
  bodyLimit,
  chatServiceAuth,
  flushMetrics,
  jsonErrors,
  webhookIdClaims,
  type ChatServiceAuthDeps,
} from './middleware';

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
  if (auth === 'none') return build(deps, undefined, route);
  const chatServiceDeps = deps as ChatServiceHttpHandlerDeps;
  return build(deps, chatServiceAuth(chatServiceDeps), webhookIdClaims(chatServiceDeps, route));
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
 * keys `keysOf` names for its event (HTTP: `apiGatewayRequestKeys`). The invocation ends with one INFO
 * line, `answered`, holding what an operator looks for first (`invocationSummary`): the route, the
 * answer, the scope and the ids in the path, and the duration. Everything else a request does is
 * DEBUG (sampled in Lambda, docs/deploy-and-operate.md), so a quiet invocation costs one line of logs.
 */
export function invocationLog<E, R>(
  log: Log,
  handler: (event: E, context: Context) => Promise<R>,
  keysOf: (event: E) => Record<string, string>,
) {
  const logged = async (event: E, context: Context): Promise<R> => {
    const startedAt = performance.now();
    try {
      const result = await handler(event, context);
      log.info('answered', invocationSummary(event, result, startedAt));
      return result;
    } catch (error) {
      // The error itself is logged where it is understood; this line only closes the invocation.
      log.info('answered', { ...invocationSummary(event, undefined, startedAt), status: 'failed' });
      throw error;
    }
  };
  return (event: E, context: Context): Promise<R> => {
    if (!log.during) return logged(event, context);
    const keys = keysOf(event);
    return log.during({ context, ...(Object.keys(keys).length > 0 ? { keys } : {}) }, () => logged(event, context));
  };
}

interface RoutedEvent {
  routeKey?: string;
  requestContext?: { routeKey?: string };
  pathParameters?: Record<string, string | undefined> | null;
}

/**
 * The `answered` line's fields for an API Gateway event (HTTP or WebSocket) and its answer: `route`
 * (the route key), `status` and, for an error answer, `error_code`; `scope_id` and the other path
 * parameters (message, client, conversation ids) by name; `duration_ms` of the handler.
 */
export function invocationSummary(event: unknown, result: unknown, startedAt: number): Record<string, unknown> {
  const routed = (event ?? {}) as RoutedEvent;
  const answer = (result ?? {}) as { statusCode?: number; body?: unknown };
  const summary: Record<string, unknown> = {
    route: routed.routeKey ?? routed.requestContext?.routeKey ?? 'unknown',
    ...(answer.statusCode === undefined ? {} : { status: answer.statusCode }),
  };
  const code = answer.statusCode !== undefined && answer.statusCode >= 400 ? errorCodeOf(answer.body) : undefined;
  if (code !== undefined) summary.error_code = code;
  for (const [name, value] of Object.entries(routed.pathParameters ?? {}))
    if (value !== undefined) summary[name] = value;
  summary.duration_ms = Math.round((performance.now() - startedAt) * 10) / 10;
  return summary;
}

/** The contract's `{"error":{"code",…}}` of an error answer, when the body is one. */
function errorCodeOf(body: unknown): string | undefined {
  if (typeof body !== 'string' || !body.startsWith('{')) return undefined;
  try {
    const code = (JSON.parse(body) as { error?: { code?: unknown } }).error?.code;
    return typeof code === 'string' ? code : undefined;
  } catch {
    return undefined;
  }
}
