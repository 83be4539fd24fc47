import middy from '@middy/core';
import type { APIGatewayProxyWebsocketEventV2 } from 'aws-lambda';
import * as z from '../core/zod';
import type { BridgeDeps, DepsOf } from '../core/deps';
import { BridgeError } from '../core/domain/errors';
import { errorAnswer, MAX_BODY_BYTES, parseJsonBody } from '../core/http/api';
import { identifier } from '../core/http/fields';
import { flushMetrics } from '../core/http/middleware';
import { invocationLog, routeFor, type RouteTable } from '../core/http/route';
import {
  closeLiveConnection,
  handleLiveRequest,
  openLiveConnection,
  refuseLiveFrame,
  type LiveRequest,
} from '../core/use-cases/live-channel';

/** An API Gateway WebSocket event; `$connect` also carries the handshake's headers and query string. */
export type LiveEvent = APIGatewayProxyWebsocketEventV2 & { headers?: Record<string, string | undefined> };
/** For `$connect`, a status other than 200 refuses the handshake; for the others API Gateway only logs it. */
export interface LiveResult {
  statusCode: number;
  headers?: Record<string, string | number | boolean>;
  body?: string;
}

const kommoConversationId = identifier('kommo_conversation_id');

/** The frames a client may send (docs/contract.md, "Live channel for the widget"). */
export const liveFrameSchema = z.discriminatedUnion(
  'action',
  [
    z.strictObject({
      action: z.literal('watch'),
      kommo_conversation_id: kommoConversationId,
      user_amojo_id: z.optional(identifier('user_amojo_id')),
    }),
    z.strictObject({ action: z.literal('unwatch'), kommo_conversation_id: kommoConversationId }),
    z.strictObject({
      action: z.literal('visibility'),
      visible: z.boolean(),
      user_amojo_id: z.optional(identifier('user_amojo_id')),
    }),
    z.strictObject({ action: z.literal('ping'), pong: z.optional(z.boolean()) }),
  ],
  { error: 'action must be "watch", "unwatch", "visibility" or "ping"' },
);

function requestIn(event: LiveEvent): LiveRequest {
  const body = Buffer.from(event.body ?? '', event.isBase64Encoded ? 'base64' : 'utf8');
  if (body.length > MAX_BODY_BYTES)
    throw new BridgeError('too_large', 'frame_too_large', `A frame is at most ${MAX_BODY_BYTES} bytes`);
  const frame = parseJsonBody(body, liveFrameSchema);
  switch (frame.action) {
    case 'watch':
      return {
        action: 'watch',
        kommoConversationId: frame.kommo_conversation_id,
        ...(frame.user_amojo_id === undefined ? {} : { userAmojoId: frame.user_amojo_id }),
      };
    case 'unwatch':
      return { action: 'unwatch', kommoConversationId: frame.kommo_conversation_id };
    case 'visibility':
      return {
        action: 'visibility',
        visible: frame.visible,
        ...(frame.user_amojo_id === undefined ? {} : { userAmojoId: frame.user_amojo_id }),
      };
    case 'ping':
      return { action: 'ping', pong: frame.pong !== false };
  }
}

export type LiveDeps = Pick<BridgeDeps, 'log' | 'metrics'> &
  DepsOf<typeof openLiveConnection> &
  DepsOf<typeof closeLiveConnection> &
  DepsOf<typeof handleLiveRequest> &
  DepsOf<typeof refuseLiveFrame>;

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

type LiveRoute = (event: LiveEvent) => Promise<LiveResult>;

const liveRoutes = (deps: LiveDeps) => {
  const routes: RouteTable<'live', LiveRoute> = {
    $connect: async (event) => {
      try {
        await openLiveConnection(deps, event.requestContext.connectionId, event.queryStringParameters?.ticket);
        return { statusCode: 200 };
      } catch (error) {
        if (error instanceof BridgeError) return errorAnswer(error);
        throw error;
      }
    },
    $disconnect: async (event) => {
      await closeLiveConnection(deps, event.requestContext.connectionId);
      return { statusCode: 200 };
    },
    $default: async (event) => {
      const { connectionId } = event.requestContext;
      try {
        await handleLiveRequest(deps, connectionId, requestIn(event));
      } catch (error) {
        if (error instanceof BridgeError) {
          await refuseLiveFrame(deps, connectionId, error);
          return { statusCode: 200 };
        }
        deps.log.error('live frame failed', {
          error:
            error instanceof Error ? { name: error.name, message: error.message, stack: error.stack } : String(error),
        });
        await refuseLiveFrame(
          deps,
          connectionId,
          new BridgeError('unavailable', 'internal_error', 'The bridge could not handle this frame; send it again'),
        ).catch(() => undefined);
        throw error;
      }
      return { statusCode: 200 };
    },
  };
  return middy<LiveEvent, LiveResult>()
    .use(flushMetrics(deps.metrics))
    .handler((event) => routeFor(routes, event.requestContext.routeKey)(event));
};
