import { randomBytes, randomUUID } from 'node:crypto';
import type { LiveEvent } from '../functions/live/handler';
import { liveChannelPath, type WebSocketRouteKey } from '../functions/manifest';

/** What the handshake of a local WebSocket connection carried. */
export interface LocalHandshake {
  /** Path with the query string, as requested. */
  url: string;
  headers: Record<string, string | string[] | undefined>;
  sourceIp?: string;
}

const eventTypes = { $connect: 'CONNECT', $disconnect: 'DISCONNECT', $default: 'MESSAGE' } as const;

/** A connection id shaped like API Gateway's (12 random bytes, base64: `L0SM9cOFvHcCIhw=`). */
export function newConnectionId(): string {
  return randomBytes(10).toString('base64');
}

/**
 * The event API Gateway's WebSocket API delivers to a route's Lambda (proxy integration): the route
 * key and connection in `requestContext`, the handshake's headers and query string on `$connect`,
 * the frame in `body` on `$default` (binary frames base64-encoded).
 */
export function toWebSocketEvent(
  routeKey: WebSocketRouteKey,
  connection: { connectionId: string; connectedAtMs: number; handshake?: LocalHandshake },
  nowMs: number,
  frame?: { data: Buffer; binary: boolean },
): LiveEvent {
  const handshake = routeKey === '$connect' ? connection.handshake : undefined;
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(handshake?.headers ?? {})) {
    if (value !== undefined) headers[name.toLowerCase()] = Array.isArray(value) ? value.join(',') : value;
  }
  const query = handshake ? new URLSearchParams(handshake.url.split('?', 2)[1] ?? '') : undefined;
  const queryStringParameters = query && [...query.keys()].length > 0 ? Object.fromEntries(query) : undefined;
  return {
    requestContext: {
      routeKey,
      messageId: routeKey === '$default' ? randomUUID() : '',
      eventType: eventTypes[routeKey],
      extendedRequestId: randomUUID(),
      requestTime: new Date(nowMs).toUTCString(),
      messageDirection: 'IN',
      stage: liveChannelPath,
      connectedAt: connection.connectedAtMs,
      requestTimeEpoch: nowMs,
      requestId: randomUUID(),
      domainName: headers.host ?? 'localhost',
      connectionId: connection.connectionId,
      apiId: 'local',
    },
    isBase64Encoded: frame?.binary ?? false,
    ...(frame ? { body: frame.binary ? frame.data.toString('base64') : frame.data.toString('utf8') } : {}),
    ...(handshake ? { headers } : {}),
    ...(queryStringParameters ? { queryStringParameters } : {}),
  };
}
