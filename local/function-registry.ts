import type { SQSBatchResponse, SQSEvent, Context } from 'aws-lambda';
import { createChatPresenceHandler } from '../functions/chat-presence/handler';
import { createChatStatusHandler } from '../functions/chat-status/handler';
import { createChatTypingHandler } from '../functions/chat-typing/handler';
import type { BridgeDeps } from '../functions/core/deps';
import type { ApiEvent, ApiResult } from '../functions/core/http/api';
import { createEventDispatcherHandler } from '../functions/event-dispatcher/handler';
import { createHookWorkerHandler } from '../functions/hook-worker/handler';
import { createKommoHookHandler } from '../functions/kommo-hook/handler';
import { createKommoStatusSenderHandler } from '../functions/kommo-status-sender/handler';
import type { FunctionName } from '../functions/manifest';
import { createNotFoundHandler } from '../functions/not-found/handler';
import { createTimerWorkerHandler } from '../functions/timer-worker/handler';

export type HttpFunction = (event: ApiEvent, context: Context) => Promise<ApiResult>;
export type QueueFunction = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;

/**
 * The same handler factories the Lambda entries (`functions/<name>/index.ts`) use, keyed by the
 * manifest's function names. A function missing here fails the local runtime's start-up check.
 */
export const httpFunctionFactories: Partial<Record<FunctionName, (deps: BridgeDeps) => HttpFunction>> = {
  'kommo-hook': createKommoHookHandler,
  'chat-typing': createChatTypingHandler,
  'chat-status': createChatStatusHandler,
  'chat-presence': createChatPresenceHandler,
  'not-found': createNotFoundHandler,
};

export const queueFunctionFactories: Partial<Record<FunctionName, (deps: BridgeDeps) => QueueFunction>> = {
  'hook-worker': createHookWorkerHandler,
  'event-dispatcher': createEventDispatcherHandler,
  'kommo-status-sender': createKommoStatusSenderHandler,
  'timer-worker': createTimerWorkerHandler,
};
