import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import middy from '@middy/core';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import * as z from './zod';
import type { BridgeDeps } from './deps';
import { flushMetrics } from './http/middleware';
import type { WorkQueue } from './ports/queue';

export type QueueConsumerDeps = Pick<BridgeDeps, 'clock' | 'log' | 'metrics'>;

export interface QueueConsumerOptions<S extends z.ZodMiniType> {
  queue: WorkQueue<z.output<S>>;
  schema: S;
  process: (job: z.output<S>, record: SQSRecord, delivery: { redriven: boolean }) => Promise<unknown>;
}

/** What the bridge writes to a dead-letter queue (ports/queue.ts `DeadLetter`). */
const deadLetterSchema = z.object({
  reason: z.string(),
  failedAt: z.string(),
  attempts: z.number(),
  message: z.unknown(),
});

/**
 * A dead letter moved back to its queue (SQS "start DLQ redrive" after the cause was fixed) is the
 * original job again, with a fresh retry budget.
 */
function unwrapRedriven(body: unknown): { body: unknown; redriven: boolean } {
  const letter = deadLetterSchema.safeParse(body);
  if (!letter.success) return { body, redriven: false };
  const message = letter.data.message;
  const fresh =
    message !== null && typeof message === 'object' && 'attempt' in message ? { ...message, attempt: 1 } : message;
  return { body: fresh, redriven: true };
}

/** The queue's name, the last part of its ARN. */
function queueNameOf(arn: string | undefined): string {
  return arn?.split(':').at(-1) ?? 'unknown';
}

/**
 * An SQS consumer with partial batch responses (Powertools batch): a record that throws is retried by
 * SQS after the visibility timeout, the others are deleted. A body that does not match the queue's
 * schema can never succeed, so it is dead-lettered with the reason at once instead of cycling.
 */
export function queueHandler<S extends z.ZodMiniType>(deps: QueueConsumerDeps, options: QueueConsumerOptions<S>) {
  const handleRecord = (record: SQSRecord) =>
    deps.log.during
      ? deps.log.during({ keys: { sqs_message_id: record.messageId } }, () => handleOne(record))
      : handleOne(record);
  const handleOne = async (record: SQSRecord) => {
    let body: unknown;
    try {
      body = JSON.parse(record.body);
    } catch {
      body = record.body;
    }
    const unwrapped = unwrapRedriven(body);
    if (unwrapped.redriven) deps.log.info('redriven dead letter taken up again', { messageId: record.messageId });
    const parsed = options.schema.safeParse(unwrapped.body);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      await options.queue.deadLetters.send({
        reason: `malformed message: ${issue?.path.join('.') || 'body'}: ${issue?.message ?? 'invalid'}`,
        failedAt: new Date(deps.clock.now()).toISOString(),
        attempts: Number(record.attributes.ApproximateReceiveCount ?? 1),
        message: body as z.output<S>,
      });
      deps.metrics.count('DeadLettered');
      deps.log.warn('malformed queue message dead-lettered', { messageId: record.messageId });
      return;
    }
    await options.process(parsed.data, record, { redriven: unwrapped.redriven });
  };
  return middy<SQSEvent, SQSBatchResponse>()
    .use(flushMetrics(deps.metrics))
    .handler(async (event, context) => {
      // A processor per invocation: it holds the batch's state.
      const processor = new BatchProcessor(EventType.SQS);
      const run = async () => {
        const startedAt = performance.now();
        const answer = await processPartialResponse(event, handleRecord, processor, {
          context,
          throwOnFullBatchFailure: false,
        });
        // One INFO line per invocation, as HTTP invocations end with (http/route.ts): the batch, not each record.
        deps.log.info('batch done', {
          queue: queueNameOf(event.Records[0]?.eventSourceARN),
          records: event.Records.length,
          failed: answer.batchItemFailures.length,
          duration_ms: Math.round((performance.now() - startedAt) * 10) / 10,
        });
        return answer;
      };
      // Every line carries the Lambda context; a record's lines also its SQS message id.
      return deps.log.during ? deps.log.during({ context }, run) : run();
    });
}
