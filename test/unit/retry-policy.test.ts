import { describe, expect, it } from 'vitest';
import { nextRetry } from '../../functions/core/domain/retry-policy';
import { isStaleTypingEvent, buildEvent } from '../../functions/core/domain/outbound-event';

const policy = { maxAttempts: 5, baseSeconds: 2, capSeconds: 10 };

describe('exponential backoff with full jitter', () => {
  it.each([
    [1, 2],
    [2, 4],
    [3, 8],
    [4, 10],
  ])('after attempt %i waits at most %i s', (attempt, ceiling) => {
    const highest = nextRetry(policy, attempt, () => 0.999999);
    const lowest = nextRetry(policy, attempt, () => 0);

    expect(highest).toEqual({ retry: true, delaySeconds: ceiling });
    expect(lowest).toEqual({ retry: true, delaySeconds: 1 });
  });

  it('spreads waits across the whole window', () => {
    const waits = [0.1, 0.3, 0.5, 0.7, 0.9].map((random) => nextRetry(policy, 3, () => random));

    expect(waits.map((wait) => (wait.retry ? wait.delaySeconds : -1))).toEqual([1, 2, 4, 6, 7]);
  });

  it('stops after the last attempt', () => {
    expect(nextRetry(policy, 5, () => 0.5)).toEqual({ retry: false });
  });

  it('never exceeds the SQS delay limit', () => {
    const decision = nextRetry({ maxAttempts: 50, baseSeconds: 2, capSeconds: 10_000 }, 30, () => 0.999999);

    expect(decision).toEqual({ retry: true, delaySeconds: 900 });
  });
});

describe('stale typing events', () => {
  const now = Date.parse('2026-11-21T10:00:00.000Z');
  const scope = { scope_id: 's', account_id: 'a' };

  it('drops a typing.started once its expires_at has passed', () => {
    const event = buildEvent(
      'typing.started',
      { ...scope, expires_at: new Date(now + 5000).toISOString() },
      { id: '1', nowMs: now },
    );

    expect(isStaleTypingEvent(event, now + 4999)).toBe(false);
    expect(isStaleTypingEvent(event, now + 5000)).toBe(true);
  });

  it('drops a typing.stopped a minute after it was made', () => {
    const event = buildEvent(
      'typing.stopped',
      { ...scope, expires_at: new Date(now).toISOString() },
      { id: '2', nowMs: now },
    );

    expect(isStaleTypingEvent(event, now + 60_000)).toBe(false);
    expect(isStaleTypingEvent(event, now + 60_001)).toBe(true);
  });

  it('never drops other events', () => {
    const event = buildEvent(
      'conversation.read',
      { ...scope, read_at: new Date(now).toISOString() },
      { id: '3', nowMs: now },
    );

    expect(isStaleTypingEvent(event, now + 86_400_000)).toBe(false);
  });
});
