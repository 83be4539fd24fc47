import middy from '@middy/core';
import type { APIGatewayProxyWebsocketEventV2 } from 'aws-lambda';
import type { BridgeDeps, DepsOf } from '../core/deps';
import { BridgeError } from '../core/domain/errors';
import { errorAnswer } from '../core/http/api';
import { flushMetrics } from '../core/http/middleware';
import { routeFor, type RouteTable } from '../core/http/route';
import {
  closeLiveConnection,
  handleLiveRequest,
  openLiveConnection,
  refuseLiveFrame,
} from '../core/use-cases/live-channel';
import { requestIn } from './frames';

/** An API Gateway WebSocket event; `$connect` also carries the handshake's headers and query string. */
export type LiveEvent = APIGatewayProxyWebsocketEventV2 & { headers?: Record<string, string | undefined> };
/** For `$connect`, a status other than 200 refuses the handshake; for the others API Gateway only logs it. */
export interface LiveResult {
  statusCode: number;
  headers?: Record<string, string | number | boolean>;
  body?: string;
}

export type LiveDeps = Pick<BridgeDeps, 'log' | 'metrics'> &
  DepsOf<typeof openLiveConnection> &
  DepsOf<typeof closeLiveConnection> &
  DepsOf<typeof handleLiveRequest> &
  DepsOf<typeof refuseLiveFrame>;

type LiveRoute = (event: LiveEvent) => Promise<LiveResult>;

export const liveRoutes = (deps: LiveDeps) => {
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
