import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Context } from 'aws-lambda';
import { InProcessQueue } from '../functions/core/adapters/in-process-queue/in-process-queue';
import type { BridgeConfig } from '../functions/core/config';
import { createDeps } from '../functions/core/create-deps';
import { bridgeQueueNames, type BridgeDeps, type BridgeQueues } from '../functions/core/deps';
import type { ApiResult } from '../functions/core/http/api';
import type { Clock } from '../functions/core/ports/clock';
import type { Log, Metrics } from '../functions/core/ports/telemetry';
import type { LiveEvent, LiveResult } from '../functions/live/handler';
import {
  fallbackFunction,
  httpRoutes,
  queues as queueSpecs,
  webSocketRoutes,
  type FunctionName,
  type QueueName,
} from '../functions/manifest';
import { toApiGatewayEvent, type LocalRequest } from './api-gateway-event';
import { createLocalFunction, type HttpFunction, type WebSocketFunction } from './function-registry';
import { LocalLiveGateway } from './live-gateway';
import { enforceTableGrants, runningFunction } from './table-grants';

export interface LocalBridgeOptions {
  config: BridgeConfig;
  clock: Clock;
  dynamo: DynamoDBClient;
  tableName: string;
  log: Log;
  metrics: Metrics;
  random?: () => number;
  newId?: () => string;
  /**
   * `realtime` delivers queue messages on real timers (npm start); `manual` leaves it to the caller
   * (`settle`, or a test clock's `advance`), so tests decide when time passes.
   */
  scheduling: 'realtime' | 'manual';
  /**
   * Real-time scheduling only: consumer invocations each queue runs at once, as an SQS event source
   * mapping's pollers do (Lambda starts with 5). Unset, each queue's batches run one after the other,
   * the queues in turn (`settle`).
   */
  pollersPerQueue?: number;
}

/** A Lambda context for in-process invocations; nothing in the bridge reads more than this. */
function localContext(functionName: string): Context {
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:local:000000000000:function:${functionName}`,
    memoryLimitInMB: '512',
    awsRequestId: `local-${Math.random().toString(36).slice(2)}`,
    logGroupName: `/local/${functionName}`,
    logStreamName: 'local',
    getRemainingTimeInMillis: () => 30_000,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

/**
 * The whole bridge in one process: the real handlers, the real DynamoDB adapter (on DynamoDB Local),
 * and in-process queues with SQS semantics in place of SQS. Only the queue adapter differs from AWS.
 */
export class LocalBridge {
  readonly deps: BridgeDeps;
  readonly queues: Record<QueueName, InProcessQueue<unknown>>;
  readonly deadLetterQueues: Record<QueueName, InProcessQueue<unknown>>;
  /** The live channel (API Gateway's WebSocket API and its Management API, locally). */
  readonly live: LocalLiveGateway;
  private readonly http = new Map<FunctionName, HttpFunction>();
  private readonly webSocket = new Map<FunctionName, WebSocketFunction>();
  private timer: NodeJS.Timeout | undefined;
  private pumping: Promise<void> | undefined;
  private pumpAgain = false;
  private stopped = false;

  constructor(private readonly options: LocalBridgeOptions) {
    const { clock } = options;
    const onSend = () => this.wake();
    const deadLetterQueues = {} as Record<QueueName, InProcessQueue<unknown>>;
    const queues = {} as Record<QueueName, InProcessQueue<unknown>>;
    for (const spec of queueSpecs) {
      deadLetterQueues[spec.name] = new InProcessQueue({
        name: `${spec.name}-dlq`,
        clock,
        visibilityTimeoutSeconds: 30,
        maxReceiveCount: Number.MAX_SAFE_INTEGER,
        batchSize: 10,
      });
      queues[spec.name] = new InProcessQueue({
        name: spec.name,
        clock,
        visibilityTimeoutSeconds: spec.consumerTimeoutSeconds * 6,
        maxReceiveCount: spec.maxReceiveCount,
        batchSize: spec.batchSize,
        batchingWindowSeconds: spec.maxBatchingWindowSeconds,
        ...(options.pollersPerQueue === undefined ? {} : { pollers: options.pollersPerQueue }),
        deadLetterQueue: deadLetterQueues[spec.name],
        onSend,
      });
    }
    this.queues = queues;
    this.deadLetterQueues = deadLetterQueues;
    const bridgeQueues = Object.fromEntries(
      Object.entries(bridgeQueueNames).map(([key, name]) => [key, queues[name]]),
    ) as unknown as BridgeQueues;
    // Each function may touch only the items its manifest entry grants, as IAM enforces in AWS.
    enforceTableGrants(options.dynamo);
    this.live = new LocalLiveGateway(clock);
    this.deps = createDeps({ ...options, queues: bridgeQueues, liveConnections: this.live });

    for (const name of new Set([...httpRoutes.map((route) => route.function), fallbackFunction])) {
      this.http.set(name, createLocalFunction(name, 'http', this.deps));
    }
    for (const name of new Set(webSocketRoutes.map((route) => route.function))) {
      this.webSocket.set(name, createLocalFunction(name, 'websocket', this.deps));
    }
    this.live.attach((event) => this.invokeLive(event));
    for (const spec of queueSpecs) {
      const consumer = createLocalFunction(spec.consumer, 'queue', this.deps);
      const context = localContext(spec.consumer);
      queues[spec.name].attach((event) => runningFunction.run(spec.consumer, () => consumer(event, context)));
    }
  }

  /** Serves one HTTP request as API Gateway and the route's Lambda would. */
  async invoke(request: LocalRequest): Promise<ApiResult> {
    const { event, functionName } = toApiGatewayEvent(request, this.options.clock.now());
    const name = functionName === '$default' ? fallbackFunction : functionName;
    const result = await runningFunction.run(name, () => this.http.get(name)!(event, localContext(name)));
    this.wake();
    return result;
  }

  /** Delivers one live-channel event to the function its WebSocket route names, as API Gateway would. */
  async invokeLive(event: LiveEvent): Promise<LiveResult> {
    const route =
      webSocketRoutes.find((candidate) => candidate.routeKey === event.requestContext.routeKey) ??
      webSocketRoutes.find((candidate) => candidate.routeKey === '$default')!;
    try {
      return await runningFunction.run(route.function, () =>
        this.webSocket.get(route.function)!(event, localContext(route.function)),
      );
    } finally {
      this.wake();
    }
  }

  /**
   * Delivers every queue message that is visible now, and what those deliveries queue in turn, until
   * none is left. One batch per queue in turn, as separate consumers would, so a burst on one queue
   * does not hold the others back; stops early once the bridge is stopping.
   */
  async settle(maxRounds = 1_000_000): Promise<void> {
    for (let round = 0; round < maxRounds && !this.stopped; round += 1) {
      let delivered = 0;
      for (const queue of Object.values(this.queues)) delivered += await queue.pump(1);
      if (delivered === 0) return;
    }
    if (this.stopped) return;
    throw new Error('queues did not settle: a message keeps producing messages');
  }

  /** When the next queued message becomes visible (undefined when every queue is empty). */
  nextDueAt(): number | undefined {
    const due = Object.values(this.queues)
      .map((queue) => queue.nextVisibleAt())
      .filter((at): at is number => at !== undefined);
    return due.length > 0 ? Math.min(...due) : undefined;
  }

  /** Dead letters of a queue, as the bridge wrote them. */
  deadLetters(queue: QueueName): unknown[] {
    return this.deadLetterQueues[queue].peek();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.pumping;
    await Promise.all(Object.values(this.queues).map((queue) => queue.idle()));
  }

  /**
   * Real-time scheduling with pollers: every queue hands what is ready to its free pollers, and each
   * invocation that ends dispatches again; a timer wakes the queues when the next message is due.
   */
  private dispatch(): void {
    for (const queue of Object.values(this.queues)) {
      queue
        .dispatch(() => this.wake())
        .catch((error: unknown) =>
          this.options.log.error('queue delivery failed', {
            error: error instanceof Error ? error.message : String(error),
          }),
        );
    }
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const next = this.nextDueAt();
    if (next !== undefined) {
      this.timer = setTimeout(() => this.wake(), Math.max(0, next - this.options.clock.now()));
      this.timer.unref?.();
    }
  }

  /** Real-time scheduling: pump now, then sleep until the next message is due. */
  private wake(): void {
    if (this.options.scheduling !== 'realtime' || this.stopped) return;
    if (this.options.pollersPerQueue !== undefined) {
      this.dispatch();
      return;
    }
    if (this.pumping) {
      this.pumpAgain = true;
      return;
    }
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.pumping = (async () => {
      do {
        this.pumpAgain = false;
        try {
          await this.settle();
        } catch (error) {
          this.options.log.error('queue delivery failed', {
            error: error instanceof Error ? error.message : String(error),
          });
        }
      } while (this.pumpAgain && !this.stopped);
    })().finally(() => {
      this.pumping = undefined;
      const next = this.nextDueAt();
      if (next !== undefined && !this.stopped) {
        this.timer = setTimeout(() => this.wake(), Math.max(0, next - this.options.clock.now()));
        this.timer.unref?.();
      }
    });
  }
}
