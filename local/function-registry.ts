import type { SQSBatchResponse, SQSEvent, Context } from 'aws-lambda';
import { createAdminHandler } from '../functions/admin/handler';
import { createChatConversationsHandler } from '../functions/chat-conversations/handler';
import { createChatPresenceHandler } from '../functions/chat-presence/handler';
import { createChatStatusHandler } from '../functions/chat-status/handler';
import { createChatTypingHandler } from '../functions/chat-typing/handler';
import { ConfigError } from '../functions/core/config';
import type { BridgeDeps } from '../functions/core/deps';
import { json, type ApiEvent, type ApiResult } from '../functions/core/http/api';
import { createEventDispatcherHandler } from '../functions/event-dispatcher/handler';
import { createHookWorkerHandler } from '../functions/hook-worker/handler';
import { createKommoHookHandler } from '../functions/kommo-hook/handler';
import { createKommoInstallHandler } from '../functions/kommo-install/handler';
import { createKommoStatusSenderHandler } from '../functions/kommo-status-sender/handler';
import { createLiveHandler, type LiveEvent, type LiveResult } from '../functions/live/handler';
import type { FunctionName } from '../functions/manifest';
import { createNotFoundHandler } from '../functions/not-found/handler';
import { createTimerWorkerHandler } from '../functions/timer-worker/handler';
import { createWidgetHandler } from '../functions/widget/handler';

export type HttpFunction = (event: ApiEvent, context: Context) => Promise<ApiResult>;
export type QueueFunction = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;
export type WebSocketFunction = (event: LiveEvent, context: Context) => Promise<LiveResult>;

/**
 * For functions that need settings the others do not (the widget's and the operator's). In Lambda
 * such a function alone fails to start, logging one line naming the setting (functions/core/wiring.ts),
 * and its routes fail while every other function runs. Locally all functions share one process, so
 * the line is logged at start-up and the function's routes answer 503 with it instead.
 */
function unlessUnconfigured(factory: (deps: BridgeDeps) => HttpFunction): (deps: BridgeDeps) => HttpFunction {
  return (deps) => {
    try {
      return factory(deps);
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      deps.log.warn(error.message);
      return async () => json(503, { error: { code: 'not_configured', message: error.message } });
    }
  };
}

/**
 * The same handler factories the Lambda entries (`functions/<name>/index.ts`) use, keyed by the
 * manifest's function names. A function missing here fails the local runtime's start-up check.
 */
export const httpFunctionFactories: Partial<Record<FunctionName, (deps: BridgeDeps) => HttpFunction>> = {
  'kommo-hook': createKommoHookHandler,
  'chat-typing': createChatTypingHandler,
  'chat-status': createChatStatusHandler,
  'chat-presence': createChatPresenceHandler,
  'chat-conversations': createChatConversationsHandler,
  widget: unlessUnconfigured(createWidgetHandler),
  admin: unlessUnconfigured(createAdminHandler),
  // Never fails to start: without the integration's settings its routes answer 503 themselves.
  'kommo-install': createKommoInstallHandler,
  'not-found': createNotFoundHandler,
};

export const queueFunctionFactories: Partial<Record<FunctionName, (deps: BridgeDeps) => QueueFunction>> = {
  'hook-worker': createHookWorkerHandler,
  'event-dispatcher': createEventDispatcherHandler,
  'kommo-status-sender': createKommoStatusSenderHandler,
  'timer-worker': createTimerWorkerHandler,
};

/** The functions behind the live channel's WebSocket routes (`webSocketRoutes` in the manifest). */
export const webSocketFunctionFactories: Partial<Record<FunctionName, (deps: BridgeDeps) => WebSocketFunction>> = {
  live: createLiveHandler,
};
