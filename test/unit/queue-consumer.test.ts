import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { queueHandler } from '../../functions/core/queue-consumer';
import { statusSyncJobSchema, type StatusSyncJob } from '../../functions/core/queue-messages';
import { TEST_START } from '../support/manual-clock';
import { RecordingQueue } from '../support/fakes/queues';
import { baseDeps, UNIT_SCOPE_ID } from '../support/fakes/unit-deps';

const context = {
  functionName: 'consumer-test',
  awsRequestId: 'invocation-1',
  getRemainingTimeInMillis: () => 30_000,
} as unknown as Context;

/** An SQS record as Lambda's event source hands it over. */
function record(messageId: string, body: unknown, receiveCount = 1): SQSRecord {
  return {
    messageId,
    receiptHandle: messageId,
    body: typeof body === 'string' ? body : JSON.stringify(body),
    attributes: {
      ApproximateReceiveCount: String(receiveCount),
      SentTimestamp: String(TEST_START),
      SenderId: 'test',
      ApproximateFirstReceiveTimestamp: String(TEST_START),
    },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:local:000000000000:kommo-status',
    awsRegion: 'local',
  };
}

const job = (msgid: string, attempt = 1): StatusSyncJob => ({ scopeId: UNIT_SCOPE_ID, msgid, attempt });

/** A consumer of the status queue whose work fails for the msgids a test names. */
function givenConsumer(failFor: string[] = []) {
  let flushes = 0;
  const base = baseDeps();
  const parts = { ...base, metrics: Object.assign(base.metrics, { flush: () => void (flushes += 1) }) };
  const queue = new RecordingQueue<StatusSyncJob>();
  const processed: { job: StatusSyncJob; redriven: boolean }[] = [];
  const handler = queueHandler(parts, {
    queue,
    schema: statusSyncJobSchema,
    process: async (parsed, _record, delivery) => {
      parts.log.info('working on a job');
      if (failFor.includes(parsed.msgid)) throw new Error(`work on ${parsed.msgid} failed`);
      processed.push({ job: parsed, redriven: delivery.redriven });
    },
  });
  const run = (...records: SQSRecord[]) => handler({ Records: records } satisfies SQSEvent, context);
  return { parts, queue, processed, run, flushes: () => flushes };
}

describe('the queue consumer', () => {
  it('processes every record of the batch and reports no failure', async () => {
    // Prepare
    const { processed, run } = givenConsumer();

    // Act
    const answer = await run(record('m-1', job('msg-1')), record('m-2', job('msg-2')));

    // Assess
    expect(answer).toEqual({ batchItemFailures: [] });
    expect(processed.map((entry) => entry.job)).toEqual([job('msg-1'), job('msg-2')]);
  });

  it('reports only the record that failed, so SQS delivers that one again', async () => {
    // Prepare
    const { processed, run } = givenConsumer(['msg-2']);

    // Act
    const answer = await run(record('m-1', job('msg-1')), record('m-2', job('msg-2')), record('m-3', job('msg-3')));

    // Assess
    expect(answer).toEqual({ batchItemFailures: [{ itemIdentifier: 'm-2' }] });
    expect(processed.map((entry) => entry.job.msgid)).toEqual(['msg-1', 'msg-3']);
  });

  it.each([
    ["a body that breaks the queue's schema", { scopeId: UNIT_SCOPE_ID, attempt: 1 }, 'malformed message: msgid: '],
    ['a body that is not JSON', 'not json', 'malformed message: body: '],
  ])('dead-letters %s at once with the reason, instead of letting it cycle', async (_, body, reason) => {
    // Prepare
    const { parts, queue, processed, run } = givenConsumer();

    // Act
    const answer = await run(record('m-1', body, 3));

    // Assess
    expect(answer).toEqual({ batchItemFailures: [] });
    expect(processed).toEqual([]);
    expect(queue.deadLettered).toEqual([
      {
        reason: expect.stringContaining(reason),
        failedAt: new Date(TEST_START).toISOString(),
        attempts: 3,
        message: body,
      },
    ]);
    expect(parts.metrics.get('DeadLettered')).toBe(1);
  });

  it('takes a redriven dead letter up again as its job, with a fresh retry budget', async () => {
    // Prepare
    const { processed, run } = givenConsumer();
    const letter = {
      reason: 'gave up after 8 attempts: answered 503',
      failedAt: new Date(TEST_START).toISOString(),
      attempts: 8,
      message: job('msg-1', 8),
    };

    // Act
    await run(record('m-1', letter));

    // Assess
    expect(processed).toEqual([{ job: job('msg-1', 1), redriven: true }]);
  });

  it('publishes the metrics once per batch', async () => {
    // Prepare
    const { run, flushes } = givenConsumer(['msg-2']);

    // Act
    await run(record('m-1', job('msg-1')), record('m-2', job('msg-2')));

    // Assess
    expect(flushes()).toBe(1);
  });

  it("writes each record's lines with its SQS message id and the invocation", async () => {
    // Prepare
    const { parts, run } = givenConsumer();

    // Act
    await run(record('m-1', job('msg-1')), record('m-2', job('msg-2')));

    // Assess
    const lines = parts.log.lines.filter((line) => line.message === 'working on a job');
    expect(lines.map((line) => line.invocation)).toEqual([
      expect.objectContaining({ sqs_message_id: 'm-1', function_request_id: 'invocation-1' }),
      expect.objectContaining({ sqs_message_id: 'm-2', function_request_id: 'invocation-1' }),
    ]);
  });
});
