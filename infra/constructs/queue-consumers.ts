import { Duration } from 'aws-cdk-lib';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { queues as queueSpecs, type FunctionName, type QueueName } from '../../functions/manifest';
import type { BridgeFunction } from './bridge-function';
import type { BridgeQueue } from './bridge-queue';
import { declared } from './names';

/** How the queues' consumers are started. */
export interface ConsumerLimits {
  /** The most concurrent invocations each queue's event source mapping starts (SQS `maxConcurrency`). */
  readonly maxConcurrency: number;
  /** Reserved concurrency by function; a consumer's must not be below `maxConcurrency`. */
  readonly reservedConcurrency?: Partial<Readonly<Record<FunctionName, number>>>;
  /** Each queue's maximum batching window in seconds, in place of the manifest's `maxBatchingWindowSeconds`. */
  readonly batchingWindowSeconds?: Partial<Readonly<Record<QueueName, number>>>;
}

/**
 * Each queue's consumer (the manifest's `consumer`) reads it in batches, reporting failed items only.
 * The queues stay the stack's own children: the SQS event source names its mapping after the queue's
 * path, and a renamed mapping is a second mapping of the same queue, which Lambda refuses.
 */
export function connectConsumers(
  queues: ReadonlyMap<QueueName, BridgeQueue>,
  functions: ReadonlyMap<FunctionName, BridgeFunction>,
  limits: ConsumerLimits,
): void {
  const { maxConcurrency } = limits;
  for (const spec of queueSpecs) {
    const reserved = limits.reservedConcurrency?.[spec.consumer];
    // A mapping allowed more invocations than its function may run keeps being throttled by Lambda,
    // and the throttled batches count as receives towards the dead-letter queue.
    if (reserved !== undefined && reserved < maxConcurrency) {
      throw new Error(
        `reservedConcurrency of ${spec.consumer} (${reserved}) is below consumerMaxConcurrency (${maxConcurrency}) of the ${spec.name} queue it consumes`,
      );
    }
    const window = limits.batchingWindowSeconds?.[spec.name] ?? spec.maxBatchingWindowSeconds;
    if (!(Number.isInteger(window) && window >= 0 && window <= 300))
      throw new Error(`the batching window of the ${spec.name} queue must be 0 to 300 whole seconds, got ${window}`);
    declared(functions, 'function', spec.consumer).function.addEventSource(
      new SqsEventSource(declared(queues, 'queue', spec.name).queue, {
        batchSize: spec.batchSize,
        ...(window > 0 ? { maxBatchingWindow: Duration.seconds(window) } : {}),
        reportBatchItemFailures: true,
        maxConcurrency,
      }),
    );
  }
}
