import { randomUUID } from 'node:crypto';
import { expect, it } from 'vitest';
import { POLL_RETENTION_MS, POLLING_WINDOW_MS } from '../../../functions/core/domain/status-poll';
import type { StatusPollStore } from '../../../functions/core/ports/status-poll-store';
import type { StatusKey } from '../../../functions/core/ports/status-store';
import { TEST_START } from '../manual-clock';

/**
 * What every StatusPollStore must do, seen only through the port: run against the DynamoDB adapter
 * (test/integration) and the in-memory fake (test/unit/fakes). Each test polls its own message.
 */

const scopeId = 'c0ffee00-0000-4000-8000-000000000001_52e591f7-c98f-4255-8495-827210138c81';
export const aPolledMessage = (): StatusKey => ({ scopeId, msgid: `msg-${randomUUID()}` });
export const aPoll = (timerId: string, startedAtMs = TEST_START) => ({
  timerId,
  startedAtMs,
  endsAtMs: startedAtMs + POLLING_WINDOW_MS,
  expiresAtMs: startedAtMs + POLL_RETENTION_MS,
});

export function statusPollStoreContract(store: StatusPollStore): void {
  it('starts a chain naming its timer, with no poll made yet', async () => {
    // Prepare
    const key = aPolledMessage();

    // Act
    const started = await store.start(key, aPoll('timer-1'), TEST_START);

    // Assess
    expect(started).toBe(true);
    expect(await store.read(key, TEST_START)).toEqual({
      timerId: 'timer-1',
      startedAtMs: TEST_START,
      endsAtMs: TEST_START + POLLING_WINDOW_MS,
      pollsMade: 0,
    });
  });

  it('starts exactly one chain of 10 concurrent hooks; the others change nothing', async () => {
    // Prepare
    const key = aPolledMessage();

    // Act
    const outcomes = await Promise.all(
      Array.from({ length: 10 }, (_, i) => store.start(key, aPoll(`timer-${i}`), TEST_START)),
    );

    // Assess
    expect(outcomes.filter(Boolean)).toHaveLength(1);
    expect((await store.read(key, TEST_START))?.timerId).toBe(`timer-${outcomes.indexOf(true)}`);
  });

  it('treats a poll past its retention as absent, and a new hook replaces it', async () => {
    // Prepare
    const key = aPolledMessage();
    await store.start(key, aPoll('timer-1'), TEST_START);
    const later = TEST_START + POLL_RETENTION_MS;

    // Act
    const read = await store.read(key, later);
    const started = await store.start(key, aPoll('timer-2', later), later);

    // Assess
    expect(read).toBeUndefined();
    expect(started).toBe(true);
    expect((await store.read(key, later))?.timerId).toBe('timer-2');
  });

  it('hands the chain on only from the timer it names, with the polls made', async () => {
    // Prepare
    const key = aPolledMessage();
    await store.start(key, aPoll('timer-1'), TEST_START);

    // Act
    const stray = await store.passTimerOn(key, 'timer-stray', 'timer-x', 5);
    const named = await store.passTimerOn(key, 'timer-1', 'timer-2', 1);
    const copy = await store.passTimerOn(key, 'timer-1', 'timer-3', 1);

    // Assess
    expect([stray, named, copy]).toEqual([false, true, false]);
    expect(await store.read(key, TEST_START)).toMatchObject({ timerId: 'timer-2', pollsMade: 1 });
  });

  it('lets one of 10 concurrent copies of the named timer hand the chain on', async () => {
    // Prepare
    const key = aPolledMessage();
    await store.start(key, aPoll('timer-1'), TEST_START);

    // Act
    const outcomes = await Promise.all(
      Array.from({ length: 10 }, (_, i) => store.passTimerOn(key, 'timer-1', `next-${i}`, 1)),
    );

    // Assess
    expect(outcomes.filter(Boolean)).toHaveLength(1);
    expect((await store.read(key, TEST_START))?.timerId).toBe(`next-${outcomes.indexOf(true)}`);
  });

  it('ends the chain: no timer is named any more, and a repeated hook starts nothing', async () => {
    // Prepare
    const key = aPolledMessage();
    await store.start(key, aPoll('timer-1'), TEST_START);

    // Act
    const stray = await store.end(key, 'timer-stray', 3, 'final-status');
    const ended = await store.end(key, 'timer-1', 2, 'final-status');
    const restart = await store.start(key, aPoll('timer-9'), TEST_START + 1_000);
    const handOn = await store.passTimerOn(key, 'timer-1', 'timer-2', 3);

    // Assess
    expect([stray, ended, restart, handOn]).toEqual([false, true, false, false]);
    expect(await store.read(key, TEST_START + 1_000)).toEqual({
      startedAtMs: TEST_START,
      endsAtMs: TEST_START + POLLING_WINDOW_MS,
      pollsMade: 2,
      endedBecause: 'final-status',
    });
  });
}
