import { randomUUID } from 'node:crypto';
import { expect, it } from 'vitest';
import type { PresenceKey, PresenceStore } from '../../../functions/core/ports/presence-store';
import { TEST_START } from '../manual-clock';

/**
 * What every PresenceStore must do, seen only through the port: run against the in-memory fake the
 * presence tests use (test/unit/fakes) and meant for the DynamoDB adapter's integration file too. Each
 * test speaks for its own client, so one store (one table) serves them all.
 */

const scopeId = 'c0ffee00-0000-4000-8000-000000000001_52e591f7-c98f-4255-8495-827210138c81';
export const aPresenceClient = (): PresenceKey => ({ scopeId, clientId: `client-${randomUUID()}` });

export function presenceStoreContract(store: PresenceStore): void {
  it('opens a window for a client never seen, as its online transition', async () => {
    // Prepare
    const key = aPresenceClient();

    // Act
    const outcome = await store.open(key, TEST_START, TEST_START + 60_000, 'timer-1');

    // Assess
    expect(outcome).toEqual({
      opened: true,
      transitions: [{ state: 'online', atMs: TEST_START, lastSeenAtMs: TEST_START }],
    });
    expect(await store.read(key)).toEqual({ onlineUntilMs: TEST_START + 60_000, lastSeenAtMs: TEST_START });
  });

  it('opens exactly one window of 10 concurrent heartbeats', async () => {
    // Prepare
    const key = aPresenceClient();

    // Act
    const outcomes = await Promise.all(
      Array.from({ length: 10 }, (_, i) => store.open(key, TEST_START, TEST_START + 60_000, `timer-${i}`)),
    );

    // Assess
    expect(outcomes.filter((outcome) => outcome.opened)).toHaveLength(1);
    expect(outcomes.filter((outcome) => !outcome.opened).every((outcome) => outcome.transitions.length === 0)).toBe(
      true,
    );
  });

  it('extends only an open window', async () => {
    // Prepare
    const open = aPresenceClient();
    const never = aPresenceClient();
    await store.open(open, TEST_START, TEST_START + 60_000, 'timer-1');

    // Act
    const extended = await store.extend(open, TEST_START + 30_000, TEST_START + 90_000);
    const afterItsEnd = await store.extend(open, TEST_START + 90_000, TEST_START + 150_000);
    const neverOpen = await store.extend(never, TEST_START, TEST_START + 60_000);

    // Assess
    expect([extended, afterItsEnd, neverOpen]).toEqual([true, false, false]);
    expect(await store.read(open)).toEqual({ onlineUntilMs: TEST_START + 90_000, lastSeenAtMs: TEST_START + 30_000 });
  });

  it('reopens a window that ended unnoticed, with its offline at its end first', async () => {
    // Prepare
    const key = aPresenceClient();
    await store.open(key, TEST_START, TEST_START + 60_000, 'timer-1');
    await store.extend(key, TEST_START + 10_000, TEST_START + 70_000);

    // Act
    const outcome = await store.open(key, TEST_START + 80_000, TEST_START + 140_000, 'timer-2');

    // Assess
    expect(outcome).toEqual({
      opened: true,
      transitions: [
        { state: 'offline', atMs: TEST_START + 70_000, lastSeenAtMs: TEST_START + 10_000 },
        { state: 'online', atMs: TEST_START + 80_000, lastSeenAtMs: TEST_START + 80_000 },
      ],
    });
  });

  it('closes an open window now, once', async () => {
    // Prepare
    const key = aPresenceClient();
    await store.open(key, TEST_START, TEST_START + 60_000, 'timer-1');

    // Act
    const closes = [await store.closeNow(key, TEST_START + 5_000), await store.closeNow(key, TEST_START + 6_000)];

    // Assess
    expect(closes).toEqual([
      { state: 'offline', atMs: TEST_START + 5_000, lastSeenAtMs: TEST_START + 5_000 },
      undefined,
    ]);
    expect(await store.read(key)).toEqual({ lastSeenAtMs: TEST_START + 5_000 });
  });

  it('leaves a lapsed window to its timer: closeNow does not close it', async () => {
    // Prepare
    const key = aPresenceClient();
    await store.open(key, TEST_START, TEST_START + 60_000, 'timer-1');

    // Act
    const close = await store.closeNow(key, TEST_START + 60_000);

    // Assess
    expect(close).toBeUndefined();
    expect(await store.closeExpired(key, TEST_START + 60_000)).toEqual({
      closed: { state: 'offline', atMs: TEST_START + 60_000, lastSeenAtMs: TEST_START },
    });
  });

  it('says until when a window is still open and which timer it names; gone once closed', async () => {
    // Prepare
    const key = aPresenceClient();
    await store.open(key, TEST_START, TEST_START + 60_000, 'timer-1');

    // Act
    const early = await store.closeExpired(key, TEST_START + 59_999);
    const due = await store.closeExpired(key, TEST_START + 65_000);
    const again = await store.closeExpired(key, TEST_START + 65_000);

    // Assess
    expect(early).toEqual({ stillOpenUntilMs: TEST_START + 60_000, timerId: 'timer-1' });
    expect(due).toEqual({ closed: { state: 'offline', atMs: TEST_START + 60_000, lastSeenAtMs: TEST_START } });
    expect(again).toEqual({ gone: true });
    expect(await store.read(key)).toEqual({ lastSeenAtMs: TEST_START });
  });

  it('hands the timer chain on only from the timer the window names, and not for a closed window', async () => {
    // Prepare
    const key = aPresenceClient();
    await store.open(key, TEST_START, TEST_START + 60_000, 'timer-1');

    // Act
    const stray = await store.passTimerOn(key, 'timer-stray', 'timer-x');
    const named = await store.passTimerOn(key, 'timer-1', 'timer-2');
    const copy = await store.passTimerOn(key, 'timer-1', 'timer-3');
    await store.closeNow(key, TEST_START + 1_000);
    const afterClose = await store.passTimerOn(key, undefined, 'timer-4');

    // Assess
    expect([stray, named, copy, afterClose]).toEqual([false, true, false, false]);
  });

  it('reads a client never seen as nothing at all', async () => {
    // Act
    const record = await store.read(aPresenceClient());

    // Assess
    expect(record).toEqual({});
  });
}
