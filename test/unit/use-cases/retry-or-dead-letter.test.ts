import { describe, expect, it } from 'vitest';
import { retryOrDeadLetter } from '../../../functions/core/use-cases/retry-or-dead-letter';
import { TEST_START } from '../../support/manual-clock';
import { callFailure } from '../../support/fakes/outbound';
import { RecordingQueue } from '../../support/fakes/queues';
import { baseDeps } from '../../support/fakes/unit-deps';

function givenFailure(settings: { DELIVERY_MAX_ATTEMPTS?: string } = {}, random = 0.5) {
  return {
    deps: { ...baseDeps(settings), random: () => random },
    queue: new RecordingQueue<{ name: string; attempt: number }>(),
  };
}

describe('after a failed call', () => {
  it('waits 2 s doubling per attempt up to 5 minutes, each drawn with full jitter', async () => {
    // Prepare: jitter just under 1 draws each ceiling itself.
    const { deps, queue } = givenFailure({ DELIVERY_MAX_ATTEMPTS: '20' }, 0.9999);

    // Act
    const outcomes = [];
    for (let attempt = 1; attempt <= 10; attempt += 1)
      outcomes.push(await retryOrDeadLetter(deps, queue, { name: 'job', attempt }, callFailure('kommo', 503)));

    // Assess
    expect(
      outcomes.map((outcome) => (outcome.outcome === 'retrying' ? outcome.delaySeconds : outcome.outcome)),
    ).toEqual([2, 4, 8, 16, 32, 64, 128, 256, 300, 300]);
    expect(queue.sent.map((message) => [message.body.attempt, message.delaySeconds])).toEqual([
      [2, 2],
      [3, 4],
      [4, 8],
      [5, 16],
      [6, 32],
      [7, 64],
      [8, 128],
      [9, 256],
      [10, 300],
      [11, 300],
    ]);
  });

  it('never retries sooner than a second, whatever the jitter draws', async () => {
    // Prepare
    const { deps, queue } = givenFailure({}, 0);

    // Act
    const outcome = await retryOrDeadLetter(deps, queue, { name: 'job', attempt: 1 }, callFailure('chat-service'));

    // Assess
    expect(outcome).toEqual({ outcome: 'retrying', delaySeconds: 1 });
    expect(queue.sent).toEqual([{ body: { name: 'job', attempt: 2 }, delaySeconds: 1 }]);
  });

  it.each([[429], [500], [undefined]])('retries %s (may succeed later)', async (status) => {
    // Prepare
    const { deps, queue } = givenFailure();

    // Act
    const outcome = await retryOrDeadLetter(deps, queue, { name: 'job', attempt: 1 }, callFailure('kommo', status));

    // Assess
    expect(outcome.outcome).toBe('retrying');
    expect(queue.deadLettered).toEqual([]);
  });

  it.each([[400], [403], [404]])('dead-letters %s at once with the final answer as the reason', async (status) => {
    // Prepare
    const { deps, queue } = givenFailure();

    // Act
    const outcome = await retryOrDeadLetter(deps, queue, { name: 'job', attempt: 1 }, callFailure('kommo', status));

    // Assess
    expect(outcome).toEqual({ outcome: 'dead-lettered' });
    expect(queue.sent).toEqual([]);
    expect(queue.deadLettered).toEqual([
      {
        reason: `final answer: answered ${status}`,
        failedAt: new Date(TEST_START).toISOString(),
        attempts: 1,
        message: { name: 'job', attempt: 1 },
      },
    ]);
    expect(deps.metrics.get('DeadLettered')).toBe(1);
  });

  it('dead-letters the last attempt, saying retries were spent', async () => {
    // Prepare
    const { deps, queue } = givenFailure({ DELIVERY_MAX_ATTEMPTS: '8' });

    // Act
    const outcome = await retryOrDeadLetter(deps, queue, { name: 'job', attempt: 8 }, callFailure('chat-service', 503));

    // Assess
    expect(outcome).toEqual({ outcome: 'dead-lettered' });
    expect(queue.deadLettered.map((letter) => [letter.reason, letter.attempts])).toEqual([
      ['gave up after 8 attempts: answered 503', 8],
    ]);
  });
});
