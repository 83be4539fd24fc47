import { nextRetry, type RetryPolicy } from '../domain/retry-policy';
import type { BridgeDeps } from '../deps';
import type { OutboundCallError } from '../ports/outbound';
import type { WorkQueue } from '../ports/queue';

/** Delays between delivery attempts: 2 s, then doubling, capped at 5 min, each drawn with full jitter. */
export function deliveryPolicy(maxAttempts: number): RetryPolicy {
  return { maxAttempts, baseSeconds: 2, capSeconds: 300 };
}

export type FailureOutcome = { outcome: 'retrying'; delaySeconds: number } | { outcome: 'dead-lettered' };

export type RetryDeps = Pick<BridgeDeps, 'config' | 'clock' | 'random' | 'metrics' | 'log'>;

/**
 * What to do after a failed call to another party: retryable failures go back on the queue with a
 * full-jitter delay and the next attempt number; a final failure, or the last attempt, goes to the
 * dead-letter queue with its reason, so nothing is lost silently.
 */
export async function retryOrDeadLetter<T extends { attempt: number }>(
  deps: RetryDeps,
  queue: WorkQueue<T>,
  job: T,
  error: OutboundCallError,
): Promise<FailureOutcome> {
  const decision = error.retryable
    ? nextRetry(deliveryPolicy(deps.config.DELIVERY_MAX_ATTEMPTS), job.attempt, deps.random)
    : ({ retry: false } as const);
  if (decision.retry) {
    await queue.send({ ...job, attempt: job.attempt + 1 }, { delaySeconds: decision.delaySeconds });
    deps.log.info('call failed; will retry', {
      party: error.party,
      status: error.status,
      attempt: job.attempt,
      delaySeconds: decision.delaySeconds,
    });
    return { outcome: 'retrying', delaySeconds: decision.delaySeconds };
  }
  const reason = error.retryable
    ? `gave up after ${job.attempt} attempts: ${error.message}`
    : `final answer: ${error.message}`;
  await queue.deadLetters.send({
    reason,
    failedAt: new Date(deps.clock.now()).toISOString(),
    attempts: job.attempt,
    message: job,
  });
  deps.metrics.count('DeadLettered');
  deps.log.warn('dead-lettered', { party: error.party, status: error.status, attempts: job.attempt, reason });
  return { outcome: 'dead-lettered' };
}
