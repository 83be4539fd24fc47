import { randomUUID } from 'node:crypto';
import type { ApiEvent } from '../functions/core/http/api';
import { httpRoutes, type FunctionName, type HttpRoute } from '../functions/manifest';

export interface LocalRequest {
  method: string;
  /** Path with optional query string, as sent. */
  url: string;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  sourceIp?: string;
}

interface CompiledRoute {
  route: HttpRoute;
  pattern: RegExp;
  names: string[];
}

const compiled: CompiledRoute[] = httpRoutes.map((route) => {
  const names: string[] = [];
  const pattern = new RegExp(
    `^${route.path.replace(/\{([^}]+)\}/g, (_, name: string) => {
      names.push(name);
      return '([^/]+)';
    })}$`,
  );
  return { route, pattern, names };
});

/** JSON and text bodies reach Lambda as text, anything else base64-encoded, as API Gateway does. */
function isTextual(contentType: string | undefined, body: Buffer): boolean {
  if (!contentType || !/json|text|xml|form-urlencoded/i.test(contentType)) return false;
  return Buffer.from(body.toString('utf8'), 'utf8').equals(body);
}

/**
 * Turns a local HTTP request into the API Gateway HTTP API (payload 2.0) event that the deployed route
 * would deliver, and names the function that serves it (`$default` when no route matches).
 */
export function toApiGatewayEvent(
  request: LocalRequest,
  nowMs: number,
): { event: ApiEvent; functionName: FunctionName | '$default' } {
  const [rawPath = '/', rawQueryString = ''] = request.url.split('?', 2);
  const method = request.method.toUpperCase();
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers)) {
    if (value !== undefined) headers[name.toLowerCase()] = Array.isArray(value) ? value.join(',') : value;
  }
  let match: { route: HttpRoute; pathParameters: Record<string, string> } | undefined;
  for (const candidate of compiled) {
    if (candidate.route.method !== method) continue;
    const found = candidate.pattern.exec(rawPath);
    if (!found) continue;
    try {
      const pathParameters = Object.fromEntries(
        candidate.names.map((name, index) => [name, decodeURIComponent(found[index + 1]!)]),
      );
      match = { route: candidate.route, pathParameters };
    } catch {
      // A malformed %-escape matches no route, as in API Gateway.
    }
    break;
  }
  const routeKey = match ? `${method} ${match.route.path}` : '$default';
  const textual = isTextual(headers['content-type'], request.body);
  const event: ApiEvent = {
    version: '2.0',
    routeKey,
    rawPath,
    rawQueryString,
    headers,
    requestContext: {
      accountId: 'local',
      apiId: 'local',
      domainName: headers.host ?? 'localhost',
      domainPrefix: 'localhost',
      http: {
        method,
        path: rawPath,
        protocol: 'HTTP/1.1',
        sourceIp: request.sourceIp ?? '127.0.0.1',
        userAgent: headers['user-agent'] ?? '',
      },
      requestId: randomUUID(),
      routeKey,
      stage: '$default',
      time: new Date(nowMs).toISOString(),
      timeEpoch: nowMs,
    },
    isBase64Encoded: request.body.length > 0 && !textual,
    ...(request.body.length > 0
      ? { body: textual ? request.body.toString('utf8') : request.body.toString('base64') }
      : {}),
    ...(match && Object.keys(match.pathParameters).length > 0 ? { pathParameters: match.pathParameters } : {}),
    ...(rawQueryString ? { queryStringParameters: Object.fromEntries(new URLSearchParams(rawQueryString)) } : {}),
  };
  return { event, functionName: match ? match.route.function : '$default' };
}
