import { describe, expect, it } from 'vitest';
import { CONSUMER_MAX_CONCURRENCY, measuredMessagesPerInvocation } from '../../bench/cost-model';

const run = {
  accounts: 10,
  queues: {
    hooks: { messagesPerInvocation: 1.2 },
    events: { messagesPerInvocation: 1 },
    'kommo-status': { messagesPerInvocation: 1.04 },
    timers: { messagesPerInvocation: 1.16 },
  },
};

describe('messages per consumer invocation, from the measured load run', () => {
  it('is one message per invocation when nothing was measured', () => {
    expect(measuredMessagesPerInvocation(undefined, 100, 'hooks')).toBe(1);
  });

  it('is the measured figure at the accounts the run drove, and shrinks towards one below them', () => {
    expect(measuredMessagesPerInvocation(run, 10, 'hooks')).toBeCloseTo(1.2);
    expect(measuredMessagesPerInvocation(run, 5, 'hooks')).toBeCloseTo(1.1);
    expect(measuredMessagesPerInvocation(run, 1, 'events')).toBe(1);
  });

  it('keeps the measured figure as a floor above the run, until the concurrency cap forces fuller batches', () => {
    expect(measuredMessagesPerInvocation(run, 100, 'timers', 141)).toBeCloseTo(1.16);
    // 14,125 messages/s of 50-ms invocations need 706 at once: 100 can only keep up with batches of 7.
    const forced = measuredMessagesPerInvocation(run, 10_000, 'timers', 14_125);
    expect(CONSUMER_MAX_CONCURRENCY).toBe(100);
    expect(forced).toBeCloseTo(7.06, 2);
    expect(measuredMessagesPerInvocation(run, 1_000_000, 'timers', 1_412_500)).toBe(10);
  });
});
