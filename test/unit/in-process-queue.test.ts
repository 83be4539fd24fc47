import type { SQSEvent } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { InProcessQueue } from '../../functions/core/adapters/in-process-queue/in-process-queue';
import { ManualClock, TEST_START } from '../support/manual-clock';

function givenQueue(
  options: { maxReceiveCount?: number; visibilityTimeoutSeconds?: number; batchingWindowSeconds?: number } = {},
) {
  const clock = new ManualClock(TEST_START);
  const deadLetterQueue = new InProcessQueue<unknown>({
    name: 'work-dlq',
    clock,
    visibilityTimeoutSeconds: 30,
    maxReceiveCount: 1000,
    batchSize: 10,
  });
  const queue = new InProcessQueue<{ n: number }>({
    name: 'work',
    clock,
    visibilityTimeoutSeconds: options.visibilityTimeoutSeconds ?? 30,
    maxReceiveCount: options.maxReceiveCount ?? 3,
    batchSize: 2,
    ...(options.batchingWindowSeconds === undefined ? {} : { batchingWindowSeconds: options.batchingWindowSeconds }),
    deadLetterQueue,
  });
  const received: { n: number; receiveCount: number; at: number }[] = [];
  let failing = new Set<number>();
  queue.attach(async (event: SQSEvent) => {
    const failures = [];
    for (const record of event.Records) {
      const body = JSON.parse(record.body) as { n: number };
      received.push({ n: body.n, receiveCount: Number(record.attributes.ApproximateReceiveCount), at: clock.now() });
      if (failing.has(body.n)) failures.push({ itemIdentifier: record.messageId });
    }
    return { batchItemFailures: failures };
  });
  return { clock, queue, deadLetterQueue, received, failOn: (...ns: number[]) => (failing = new Set(ns)) };
}

describe('in-process queue (SQS semantics for the local runtime)', () => {
  it('holds a delayed message until its delay has passed', async () => {
    const { clock, queue, received } = givenQueue();
    await queue.send({ n: 1 }, { delaySeconds: 4 });

    await queue.pump();
    clock.advanceBy(3999);
    await queue.pump();
    const before = received.length;
    clock.advanceBy(1);
    await queue.pump();

    expect(before).toBe(0);
    expect(received).toEqual([{ n: 1, receiveCount: 1, at: TEST_START + 4000 }]);
  });

  it('with a batching window, waits for a full batch or for the window to close, as an event source mapping does', async () => {
    const { clock, queue, received } = givenQueue({ batchingWindowSeconds: 1 });
    await queue.send({ n: 1 });

    // Alone and inside the window: held, and due when the window closes.
    const early = await queue.pump();
    expect(queue.nextVisibleAt()).toBe(TEST_START + 1000);
    clock.advanceBy(999);
    const stillEarly = await queue.pump();
    clock.advanceBy(1);
    const atWindowEnd = await queue.pump();
    // A second pair: the batch (2) is full at once, so no wait.
    await queue.send({ n: 2 });
    await queue.send({ n: 3 });
    const full = await queue.pump();

    expect([early, stillEarly, atWindowEnd, full]).toEqual([0, 0, 1, 2]);
    expect(received).toEqual([
      { n: 1, receiveCount: 1, at: TEST_START + 1000 },
      { n: 2, receiveCount: 1, at: TEST_START + 1000 },
      { n: 3, receiveCount: 1, at: TEST_START + 1000 },
    ]);
  });

  it('delivers in batches of the configured size and deletes what succeeded', async () => {
    const { queue, received } = givenQueue();
    for (const n of [1, 2, 3]) await queue.send({ n });

    const delivered = await queue.pump();

    expect(delivered).toBe(3);
    expect(received.map((entry) => entry.n)).toEqual([1, 2, 3]);
    expect(queue.depth).toBe(0);
  });

  it('redelivers only the failed message of a batch after the visibility timeout', async () => {
    const { clock, queue, received, failOn } = givenQueue({ visibilityTimeoutSeconds: 30 });
    failOn(2);
    await queue.send({ n: 1 });
    await queue.send({ n: 2 });

    await queue.pump();
    clock.advanceBy(29_000);
    await queue.pump();
    clock.advanceBy(1_000);
    await queue.pump();

    expect(received.map((entry) => [entry.n, entry.receiveCount])).toEqual([
      [1, 1],
      [2, 1],
      [2, 2],
    ]);
  });

  it('moves a message to the dead-letter queue after maxReceiveCount receives', async () => {
    const { clock, queue, deadLetterQueue, received, failOn } = givenQueue({
      maxReceiveCount: 3,
      visibilityTimeoutSeconds: 10,
    });
    failOn(7);
    await queue.send({ n: 7 });

    for (let i = 0; i < 5; i += 1) {
      await queue.pump();
      clock.advanceBy(10_000);
    }

    expect(received).toHaveLength(3);
    expect(queue.depth).toBe(0);
    expect(deadLetterQueue.peek()).toEqual([{ n: 7 }]);
  });

  it('treats a consumer that throws as a failure of the whole batch', async () => {
    const clock = new ManualClock(TEST_START);
    const queue = new InProcessQueue<{ n: number }>({
      name: 'q',
      clock,
      visibilityTimeoutSeconds: 5,
      maxReceiveCount: 5,
      batchSize: 10,
    });
    queue.attach(async () => {
      throw new Error('boom');
    });
    await queue.send({ n: 1 });
    await queue.send({ n: 2 });

    await queue.pump();

    expect(queue.depth).toBe(2);
    expect(queue.nextVisibleAt()).toBe(TEST_START + 5000);
  });

  it.each([-1, 901])('refuses a delay of %i seconds, as SQS does', async (delaySeconds) => {
    const { queue } = givenQueue();

    await expect(queue.send({ n: 1 }, { delaySeconds })).rejects.toThrow(RangeError);
    expect(queue.depth).toBe(0);
  });
});
