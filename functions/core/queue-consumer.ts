import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import middy from '@middy/core';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import type { z } from 'zod';
import type { BridgeDeps } from './deps';
import { flushMetrics } from './http/middleware';
import type { WorkQueue } from './ports/queue';

export interface QueueConsumerOptions<S extends z.ZodType> {
  queue: WorkQueue<z.output<S>>;
  schema: S;
  process: (job: z.output<S>, record: SQSRecord) => Promise<unknown>;
}

/**
 * An SQS consumer with partial batch responses (Powertools batch): a record that throws is retried by
 * SQS after the visibility timeout, the others are deleted. A body that does not match the queue's
 * schema can never succeed, so it is dead-lettered with the reason at once instead of cycling.
 */
export function queueHandler<S extends z.ZodType>(deps: BridgeDeps, options: QueueConsumerOptions<S>) {
  const handleRecord = async (record: SQSRecord) => {
    let body: unknown;
    try {
      body = JSON.parse(record.body);
    } catch {
      body = record.body;
    }
    const parsed = options.schema.safeParse(body);
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
    await options.process(parsed.data, record);
  };
  return middy<SQSEvent, SQSBatchResponse>()
    .use(flushMetrics(deps.metrics))
    .handler(async (event, context) => {
      // A processor per invocation: it holds the batch's state.
      const processor = new BatchProcessor(EventType.SQS);
      return processPartialResponse(event, handleRecord, processor, { context, throwOnFullBatchFailure: false });
    });
}
