import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { forbidden } from '../domain/errors';
import { isKommoAccountOrigin } from '../domain/kommo-origin';
import type { BridgeDeps } from '../deps';
import { header, type ApiEvent, type ApiResult } from './api';
import { bodyLimit, flushMetrics, jsonErrors } from './middleware';
import { apiGatewayRequestKeys, invocationLog } from './route';

type HttpMiddleware = middy.MiddlewareObj<ApiEvent, ApiResult, Error, Context>;

/** What a preflight allows: the widget routes' methods and the headers `$authorizedAjax` sends. */
const PREFLIGHT_HEADERS = {
  'access-control-allow-methods': 'GET, POST',
  'access-control-allow-headers': 'X-Auth-Token, Content-Type',
  'access-control-max-age': '600',
};

/**
 * CORS for the widget routes, whose JavaScript runs on the Kommo account's own pages: a Kommo
 * account origin gets itself echoed (with `Vary: Origin`) on every answer, errors included, so
 * the widget can read them; any other origin gets no CORS header at all. Preflights (`OPTIONS`,
 * which carry no token) are answered here; one from another origin is refused. No credentials:
 * the one-time token travels in a header, never in a cookie.
 */
export function kommoCors(): HttpMiddleware {
  const allowOrigin = (event: ApiEvent, response: ApiResult | null | undefined) => {
    const origin = header(event, 'origin');
    if (!response || !isKommoAccountOrigin(origin)) return;
    response.headers = { ...response.headers, 'access-control-allow-origin': origin, vary: 'Origin' };
  };
  return {
    before: async (request) => {
      if (request.event.requestContext.http.method !== 'OPTIONS') return;
      const origin = header(request.event, 'origin');
      if (!isKommoAccountOrigin(origin)) {
        throw forbidden(
          'origin_not_allowed',
          'Only Kommo account pages (https://<subdomain>.kommo.com, .amocrm.ru or .amocrm.com) may call the widget routes',
        );
      }
      return {
        statusCode: 204,
        headers: { 'access-control-allow-origin': origin, vary: 'Origin', ...PREFLIGHT_HEADERS },
        body: '',
      };
    },
    after: async (request) => allowOrigin(request.event, request.response),
    onError: async (request) => allowOrigin(request.event, request.response),
  };
}

type Route = (event: ApiEvent) => Promise<ApiResult>;

/**
 * An HTTP handler for the widget routes: CORS, JSON errors, the 64 KiB limit, then the route, which
 * authenticates the Kommo one-time token first thing. CORS is used before the error mapper so that
 * its `onError` (middy runs those in reverse) decorates the error answer the mapper made.
 */
export function widgetHttpHandler(deps: Pick<BridgeDeps, 'log' | 'metrics'>, route: Route) {
  return invocationLog(
    deps.log,
    middy<ApiEvent, ApiResult>()
      .use(flushMetrics(deps.metrics))
      .use(kommoCors())
      .use(jsonErrors(deps.log))
      .use(bodyLimit())
      .handler(route),
    apiGatewayRequestKeys,
  );
}
