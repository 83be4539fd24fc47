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

  it('with pollers, runs that many invocations at once and gathers what arrives meanwhile into the next batch, as an event source mapping does', async () => {
    const clock = new ManualClock(TEST_START);
    const queue = new InProcessQueue<{ n: number }>({
      name: 'work',
      clock,
      visibilityTimeoutSeconds: 30,
      maxReceiveCount: 3,
      batchSize: 2,
      pollers: 2,
    });
    const batches: number[][] = [];
    const releases: (() => void)[] = [];
    let running = 0;
    let mostAtOnce = 0;
    queue.attach(async (event: SQSEvent) => {
      batches.push(event.Records.map((record) => (JSON.parse(record.body) as { n: number }).n));
      running += 1;
      mostAtOnce = Math.max(mostAtOnce, running);
      await new Promise<void>((resolve) => releases.push(resolve));
      running -= 1;
      return undefined;
    });
    const again = () => void queue.dispatch(again);

    // Two free pollers: each message is taken as it arrives, alone.
    await queue.send({ n: 1 });
    await queue.dispatch(again);
    await queue.send({ n: 2 });
    await queue.dispatch(again);
    // Both pollers busy: three more wait, then the first poller to finish takes two of them at once.
    for (const n of [3, 4, 5]) await queue.send({ n });
    await queue.dispatch(again);
    const whileBusy = batches.length;
    releases.shift()!();
    await new Promise((resolve) => setImmediate(resolve));
    releases.shift()!();
    await new Promise((resolve) => setImmediate(resolve));
    while (releases.length > 0) {
      releases.shift()!();
      await new Promise((resolve) => setImmediate(resolve));
    }
    await queue.idle();

    expect(whileBusy).toBe(2);
    expect(batches).toEqual([[1], [2], [3, 4], [5]]);
    expect(mostAtOnce).toBe(2);
    expect(queue.depth).toBe(0);
    expect(queue.deliveries.invocations).toBe(4);
    expect(queue.deliveries.messages).toBe(5);
    expect([...queue.deliveries.byBatchSize].sort()).toEqual([
      [1, 3],
      [2, 1],
    ]);
  });

  it('with pollers, keeps the batching window: a lone message waits for the window before a free poller takes it', async () => {
    const { clock, queue, received } = givenQueue({ batchingWindowSeconds: 1 });
    await queue.send({ n: 1 });

    await queue.dispatch(() => undefined);
    const early = received.length;
    clock.advanceBy(1000);
    await queue.dispatch(() => undefined);
    await queue.idle();

    expect(early).toBe(0);
    expect(received).toEqual([{ n: 1, receiveCount: 1, at: TEST_START + 1000 }]);
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
