/**
 * Exponential backoff with full jitter (AWS Architecture Blog, "Exponential Backoff And Jitter"):
 * the wait before attempt n+1 is uniform in [0, min(cap, base * 2^(n-1))]. Waits are whole seconds
 * because SQS `DelaySeconds` is the timer; at least 1 s so a retry never races the failed attempt.
 */
export interface RetryPolicy {
  maxAttempts: number;
  baseSeconds: number;
  capSeconds: number;
}

/** SQS refuses a `DelaySeconds` above 900. */
export const MAX_QUEUE_DELAY_SECONDS = 900;

/**
 * SQS delays are whole seconds counted on SQS's clock, not ours: a delayed message that arrives less
 * than a second before the time it was queued for is on time.
 */
export const QUEUE_DELAY_TOLERANCE_MS = 1_000;

export type RetryDecision = { retry: true; delaySeconds: number } | { retry: false };

/** `attempt` is the number of the attempt that just failed (1 for the first). */
export function nextRetry(policy: RetryPolicy, attempt: number, random: () => number): RetryDecision {
  if (attempt >= policy.maxAttempts) return { retry: false };
  const ceiling = Math.min(policy.capSeconds, policy.baseSeconds * 2 ** (attempt - 1), MAX_QUEUE_DELAY_SECONDS);
  return { retry: true, delaySeconds: Math.max(1, Math.round(random() * ceiling)) };
}
