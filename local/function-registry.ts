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

/** How the local runtime runs a function: behind HTTP routes, as a queue consumer, or behind the live channel. */
export type LocalFunction =
  | { kind: 'http'; create: (deps: BridgeDeps) => HttpFunction }
  | { kind: 'queue'; create: (deps: BridgeDeps) => QueueFunction }
  | { kind: 'websocket'; create: (deps: BridgeDeps) => WebSocketFunction };

/**
 * The same handler factories the Lambda entries (`functions/<name>/index.ts`) use, one per manifest
 * function: a function added to the manifest and missing here fails `tsc`, not a request.
 */
export const localFunctions = {
  'kommo-hook': { kind: 'http', create: createKommoHookHandler },
  'chat-typing': { kind: 'http', create: createChatTypingHandler },
  'chat-status': { kind: 'http', create: createChatStatusHandler },
  'chat-presence': { kind: 'http', create: createChatPresenceHandler },
  'chat-conversations': { kind: 'http', create: createChatConversationsHandler },
  widget: { kind: 'http', create: unlessUnconfigured(createWidgetHandler) },
  admin: { kind: 'http', create: unlessUnconfigured(createAdminHandler) },
  // Never fails to start: without the integration's settings its routes answer 503 themselves.
  'kommo-install': { kind: 'http', create: createKommoInstallHandler },
  'not-found': { kind: 'http', create: createNotFoundHandler },
  'hook-worker': { kind: 'queue', create: createHookWorkerHandler },
  'event-dispatcher': { kind: 'queue', create: createEventDispatcherHandler },
  'kommo-status-sender': { kind: 'queue', create: createKommoStatusSenderHandler },
  'timer-worker': { kind: 'queue', create: createTimerWorkerHandler },
  live: { kind: 'websocket', create: createLiveHandler },
} as const satisfies Record<FunctionName, LocalFunction>;

/** The local function `name` built as a `kind` function, or an error naming the mismatch (a route pointing at a queue consumer). */
export function createLocalFunction<Kind extends keyof LocalFunctionOfKind>(
  name: FunctionName,
  kind: Kind,
  deps: BridgeDeps,
): LocalFunctionOfKind[Kind] {
  const entry: LocalFunction = localFunctions[name];
  if (entry.kind !== kind) throw new Error(`${name} is a ${entry.kind} function, not a ${kind} one`);
  return entry.create(deps) as LocalFunctionOfKind[Kind];
}

interface LocalFunctionOfKind {
  http: HttpFunction;
  queue: QueueFunction;
  websocket: WebSocketFunction;
}
