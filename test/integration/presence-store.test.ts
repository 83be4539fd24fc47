import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { DynamoPresenceStore } from '../../functions/core/adapters/dynamodb/presence-store';
import { partitionKey } from '../../functions/core/adapters/dynamodb/table';
import { LAST_SEEN_RETENTION_MS } from '../../functions/core/domain/presence-window';
import type { PresenceKey } from '../../functions/core/ports/presence-store';
import { presenceStoreContract } from '../support/contracts/presence-store-contract';
import { TEST_START } from '../support/manual-clock';
import { storeTable } from '../support/store-table';

const { table, item, partition } = storeTable('presence');
const store = new DynamoPresenceStore(table);
const scopeId = 'c0ffee00-0000-4000-8000-000000000001_52e591f7-c98f-4255-8495-827210138c81';

/** Every test has a client of its own, so tests share one table without seeing each other. */
const aClient = (): PresenceKey => ({ scopeId, clientId: `client-${randomUUID()}` });
const clientItem = (key: PresenceKey) => item(partitionKey('presence', key.scopeId, key.clientId), 'STATE#SEEN');
const keptUntil = (lastSeenAtMs: number) => Math.floor((lastSeenAtMs + LAST_SEEN_RETENTION_MS) / 1000);

/** A window opened at TEST_START for 30 s, naming `timer-1`. */
async function givenOpenWindow(key: PresenceKey): Promise<void> {
  expect((await store.open(key, TEST_START, TEST_START + 30_000, 'timer-1')).opened).toBe(true);
}

// The same contract the in-memory presence store of the unit tests passes, so that fake cannot drift from this store.
describe("client presence (the port's contract)", () => presenceStoreContract(store));

describe('opening a window', () => {
  it("opens the window as the online transition, in the client's one item, kept 30 days after the last sign of life", async () => {
    // Prepare
    const key = aClient();

    // Act
    const outcome = await store.open(key, TEST_START, TEST_START + 30_000, 'timer-1');

    // Assess
    expect(outcome).toEqual({
      opened: true,
      transitions: [{ state: 'online', atMs: TEST_START, lastSeenAtMs: TEST_START }],
    });
    expect(await partition(partitionKey('presence', key.scopeId, key.clientId))).toEqual([
      {
        pk: partitionKey('presence', key.scopeId, key.clientId),
        sk: 'STATE#SEEN',
        onlineUntilMs: TEST_START + 30_000,
        lastSeenAtMs: TEST_START,
        timerId: 'timer-1',
        state: 'online',
        changedAtMs: TEST_START,
        expiresAt: keptUntil(TEST_START),
      },
    ]);
    expect(await store.read(key)).toEqual({ onlineUntilMs: TEST_START + 30_000, lastSeenAtMs: TEST_START });
  });

  it('opens exactly one window of 10 concurrent openers', async () => {
    // Prepare
    const key = aClient();

    // Act
    const outcomes = await Promise.all(
      Array.from({ length: 10 }, (_, n) => store.open(key, TEST_START, TEST_START + 30_000, `timer-${n}`)),
    );

    // Assess
    const winners = outcomes.flatMap((outcome, n) => (outcome.opened ? [`timer-${n}`] : []));
    expect(winners).toHaveLength(1);
    expect(outcomes.filter((outcome) => !outcome.opened)).toEqual(Array(9).fill({ opened: false, transitions: [] }));
    expect((await clientItem(key))?.timerId).toBe(winners[0]);
  });

  it('refuses to open over an open window, and changes nothing', async () => {
    // Prepare
    const key = aClient();
    await givenOpenWindow(key);
    const before = await clientItem(key);

    // Act
    const outcome = await store.open(key, TEST_START + 29_999, TEST_START + 60_000, 'timer-2');

    // Assess
    expect(outcome).toEqual({ opened: false, transitions: [] });
    expect(await clientItem(key)).toEqual(before);
  });

  // The transitions it answers are the contract's (above); here, what the one item holds afterwards.
  it('opens over a window that ended before its timer ran: the item holds the new window and its timer', async () => {
    // Prepare
    const key = aClient();
    await givenOpenWindow(key);
    await store.extend(key, TEST_START + 10_000, TEST_START + 40_000);

    // Act
    const outcome = await store.open(key, TEST_START + 50_000, TEST_START + 80_000, 'timer-2');

    // Assess
    expect(outcome.opened).toBe(true);
    expect(await clientItem(key)).toMatchObject({
      onlineUntilMs: TEST_START + 80_000,
      timerId: 'timer-2',
      state: 'online',
      changedAtMs: TEST_START + 50_000,
    });
  });

  it('opens after an offline without an offline of its own', async () => {
    // Prepare
    const key = aClient();
    await givenOpenWindow(key);
    await store.closeNow(key, TEST_START + 5000);

    // Act
    const outcome = await store.open(key, TEST_START + 6000, TEST_START + 36_000, 'timer-2');

    // Assess
    expect(outcome.transitions).toEqual([
      { state: 'online', atMs: TEST_START + 6000, lastSeenAtMs: TEST_START + 6000 },
    ]);
  });
});

describe('extending a window', () => {
  it('moves the end, the last sign of life and the TTL of an open window, with one item still', async () => {
    // Prepare
    const key = aClient();
    await givenOpenWindow(key);

    // Act
    const extended = await store.extend(key, TEST_START + 20_000, TEST_START + 50_000);

    // Assess
    expect(extended).toBe(true);
    expect(await clientItem(key)).toMatchObject({
      onlineUntilMs: TEST_START + 50_000,
      lastSeenAtMs: TEST_START + 20_000,
      expiresAt: keptUntil(TEST_START + 20_000),
      timerId: 'timer-1',
      state: 'online',
      changedAtMs: TEST_START,
    });
    expect(await partition(partitionKey('presence', key.scopeId, key.clientId))).toHaveLength(1);
  });

  it.each([
    ['a client never seen', async (_key: PresenceKey) => undefined, TEST_START],
    ['a window whose end has passed', givenOpenWindow, TEST_START + 30_000],
    [
      'a closed window',
      async (key: PresenceKey) => {
        await givenOpenWindow(key);
        await store.closeNow(key, TEST_START + 1000);
      },
      TEST_START + 2000,
    ],
  ])('refuses to extend %s, and changes nothing', async (_, given, nowMs) => {
    // Prepare
    const key = aClient();
    await given(key);
    const before = await clientItem(key);

    // Act
    const extended = await store.extend(key, nowMs, nowMs + 30_000);

    // Assess
    expect(extended).toBe(false);
    expect(await clientItem(key)).toEqual(before);
  });
});

describe('handing the timer chain on', () => {
  it('moves the chain from the timer the window names', async () => {
    // Prepare
    const key = aClient();
    await givenOpenWindow(key);

    // Act
    const passed = await store.passTimerOn(key, 'timer-1', 'timer-2');

    // Assess
    expect(passed).toBe(true);
    expect((await clientItem(key))?.timerId).toBe('timer-2');
  });

  it.each([
    ['a timer the window does not name', async (key: PresenceKey) => givenOpenWindow(key), 'timer-other'],
    [
      'a closed window',
      async (key: PresenceKey) => {
        await givenOpenWindow(key);
        await store.closeNow(key, TEST_START + 1000);
      },
      'timer-1',
    ],
    [
      'a closed window, adopted by a timer that names none',
      async (key: PresenceKey) => {
        await givenOpenWindow(key);
        await store.closeNow(key, TEST_START + 1000);
      },
      undefined,
    ],
    ['a client never seen', async (_key: PresenceKey) => undefined, undefined],
  ])('refuses for %s, and changes nothing', async (_, given, fromTimerId) => {
    // Prepare
    const key = aClient();
    await given(key);
    const before = await clientItem(key);

    // Act
    const passed = await store.passTimerOn(key, fromTimerId, 'timer-2');

    // Assess
    expect(passed).toBe(false);
    expect(await clientItem(key)).toEqual(before);
  });
});

describe('closing a window', () => {
  it('closes an open window now, as the offline, keeping the client seen now', async () => {
    // Prepare
    const key = aClient();
    await givenOpenWindow(key);

    // Act
    const offline = await store.closeNow(key, TEST_START + 5000);

    // Assess
    expect(offline).toEqual({ state: 'offline', atMs: TEST_START + 5000, lastSeenAtMs: TEST_START + 5000 });
    const stored = await clientItem(key);
    expect(stored).toMatchObject({
      state: 'offline',
      changedAtMs: TEST_START + 5000,
      lastSeenAtMs: TEST_START + 5000,
      expiresAt: keptUntil(TEST_START + 5000),
    });
    expect(stored).not.toHaveProperty('onlineUntilMs');
    expect(stored).not.toHaveProperty('timerId');
    expect(await store.read(key)).toEqual({ lastSeenAtMs: TEST_START + 5000 });
  });

  it.each([
    ['a client never seen', async (_key: PresenceKey) => undefined],
    [
      'a closed window',
      async (key: PresenceKey) => {
        await givenOpenWindow(key);
        await store.closeNow(key, TEST_START + 1000);
      },
    ],
    ['a window whose end has passed (its timer closes it, at its end)', givenOpenWindow],
  ])('an offline for %s changes nothing', async (_, given) => {
    // Prepare
    const key = aClient();
    await given(key);
    const before = await clientItem(key);

    // Act
    const offline = await store.closeNow(key, TEST_START + 30_000);

    // Assess
    expect(offline).toBeUndefined();
    expect(await clientItem(key)).toEqual(before);
  });

  it('the timer at the end closes a lapsed window as the offline at its end, with the last heartbeat as last seen', async () => {
    // Prepare
    const key = aClient();
    await givenOpenWindow(key);
    await store.extend(key, TEST_START + 10_000, TEST_START + 40_000);

    // Act
    const outcome = await store.closeExpired(key, TEST_START + 41_000);

    // Assess
    expect(outcome).toEqual({
      closed: { state: 'offline', atMs: TEST_START + 40_000, lastSeenAtMs: TEST_START + 10_000 },
    });
    expect(await clientItem(key)).toMatchObject({
      state: 'offline',
      changedAtMs: TEST_START + 40_000,
      lastSeenAtMs: TEST_START + 10_000,
      expiresAt: keptUntil(TEST_START + 10_000),
    });
    expect(await store.closeExpired(key, TEST_START + 42_000)).toEqual({ gone: true });
  });

  it('two copies of the timer at the end together: one closes the window, the other finds it gone', async () => {
    // Prepare
    const key = aClient();
    await givenOpenWindow(key);

    // Act
    const outcomes = await Promise.all([
      store.closeExpired(key, TEST_START + 31_000),
      store.closeExpired(key, TEST_START + 31_000),
    ]);

    // Assess
    expect(outcomes.filter((outcome) => 'closed' in outcome)).toHaveLength(1);
    expect(outcomes.filter((outcome) => 'gone' in outcome)).toHaveLength(1);
  });

  it('the timer finds a window still open: its end and the timer it names, and changes nothing', async () => {
    // Prepare
    const key = aClient();
    await givenOpenWindow(key);
    await store.extend(key, TEST_START + 20_000, TEST_START + 50_000);
    const before = await clientItem(key);

    // Act
    const outcome = await store.closeExpired(key, TEST_START + 30_000);

    // Assess
    expect(outcome).toEqual({ stillOpenUntilMs: TEST_START + 50_000, timerId: 'timer-1' });
    expect(await clientItem(key)).toEqual(before);
  });

  it('the timer of a client never seen finds nothing, and writes nothing', async () => {
    // Prepare
    const key = aClient();

    // Act
    const outcome = await store.closeExpired(key, TEST_START);

    // Assess
    expect(outcome).toEqual({ gone: true });
    expect(await clientItem(key)).toBeUndefined();
  });

  it('reads nothing for a client never seen', async () => {
    expect(await store.read(aClient())).toEqual({});
  });
});
