import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { TimerJob } from '../../functions/core/queue-messages';
import { kommoUserHeartbeat } from '../../functions/core/use-cases/kommo-user-presence';
import { announcedPresence, storedPresence } from '../support/client-presence';
import { DynamoFaults, type FaultMode } from '../support/hostile';
import { TEST_START } from '../support/manual-clock';
import { givenBridge, givenConnectedAccount, widgetRequest, type TestBridge } from '../support/test-bridge';

/**
 * A presence window has one timer chain: one delayed timer message at a time that, at the window's
 * end, either closes it or queues the next. Racing heartbeats, a timer message delivered twice, and a
 * timer that fails between queueing the next and handing the chain on must leave exactly one: two
 * would live (and cost) as long as the client stays online, none would leave the window unclosed.
 * The chains are counted where they live: the timer messages waiting in the timers queue.
 */

let bridge: TestBridge;
let faults: DynamoFaults;
beforeEach(async () => {
  bridge = await givenBridge();
  faults = new DynamoFaults(bridge.dynamo);
});
afterEach(async () => {
  faults.disarm();
  await bridge.close();
});

type PresenceExpiry = Extract<TimerJob, { kind: 'presence-expiry' }>;
type KommoUserPresenceExpiry = Extract<TimerJob, { kind: 'kommo-user-presence-expiry' }>;

/** The timer messages of one kind waiting in the timers queue, due or not. */
function pendingTimers<K extends TimerJob['kind']>(kind: K): Extract<TimerJob, { kind: K }>[] {
  return (bridge.bridge.queues.timers.peek() as TimerJob[]).filter(
    (job): job is Extract<TimerJob, { kind: K }> => job.kind === kind,
  );
}

/** SQS delivering a message twice: the same body again, due when the original is (the only message waiting). */
async function duplicateTheTimer(): Promise<void> {
  const timers = bridge.bridge.queues.timers;
  const [job] = timers.peek();
  expect(timers.depth).toBe(1);
  await timers.send(job, { delaySeconds: (timers.nextVisibleAt()! - bridge.clock.now()) / 1000 });
}

/** Past the timers queue's visibility timeout (6 × the 30-s consumer timeout): a failed timer has run again. */
const PAST_REDELIVERY_MS = 400_000;

describe('client presence: one timer chain per window', () => {
  const clientId = 'u-7';
  const TTL_SECONDS = 30;
  const heartbeat = () =>
    bridge.chat('POST', `/chat/${bridge.scopeId}/presence`, {
      client_id: clientId,
      state: 'online',
      ttl_seconds: TTL_SECONDS,
    });
  const windowTimerId = async () => (await storedPresence(bridge, clientId))?.timerId as string | undefined;

  /** Heartbeats every 20 s for `ms`: the window never lapses, so every timer at its end waits on. */
  async function stayOnline(ms: number): Promise<void> {
    for (let elapsed = 0; elapsed < ms; elapsed += 20_000) {
      expect((await heartbeat()).status).toBe(202);
      await bridge.advance(20_000);
    }
  }

  /** Exactly one timer waits, and it is the one the window names. */
  async function expectOneChain(): Promise<void> {
    const pending = pendingTimers('presence-expiry');
    expect(pending.map((job: PresenceExpiry) => job.timerId)).toEqual([await windowTimerId()]);
  }

  /** Heartbeats stop: the window ends 30 s after the last one, offline is announced once, and no timer is left. */
  async function expectOfflineOnceAfterSilence(): Promise<void> {
    const lastHeartbeatMs = bridge.clock.now() - 20_000 - TEST_START;
    await bridge.advance(PAST_REDELIVERY_MS);
    expect(await storedPresence(bridge, clientId)).toMatchObject({
      state: 'offline',
      changedAtMs: TEST_START + lastHeartbeatMs + TTL_SECONDS * 1000,
    });
    expect(announcedPresence(bridge, clientId)).toEqual([
      ['online', 0],
      ['offline', lastHeartbeatMs + TTL_SECONDS * 1000],
    ]);
    expect(bridge.metrics.get('PresenceTransition')).toBe(2);
    expect(pendingTimers('presence-expiry')).toEqual([]);
  }

  it('20 concurrent first heartbeats: after a few window extensions one timer chain is left, and offline comes once', async () => {
    const answers = await Promise.all(Array.from({ length: 20 }, () => heartbeat()));
    expect(answers.map((answer) => answer.status)).toEqual(Array(20).fill(202));
    await bridge.advance(20_000);

    await stayOnline(200_000);

    await expectOneChain();
    await expectOfflineOnceAfterSilence();
  });

  it('a timer message delivered twice: after a few window extensions one timer chain is left, and offline comes once', async () => {
    await heartbeat();
    await duplicateTheTimer();
    expect(pendingTimers('presence-expiry')).toHaveLength(2);
    await bridge.advance(20_000);

    await stayOnline(200_000);

    await expectOneChain();
    await expectOfflineOnceAfterSilence();
  });

  it.each<[string, FaultMode]>([
    ['fails between queueing the next timer and handing the chain on', 'request-lost'],
    ['hands the chain on but never hears so', 'answer-lost'],
  ])('a timer that %s: neither lost nor doubled, and offline comes once', async (_, mode) => {
    // Prepare: at 30 s the window (extended at 20 s) is still open, so its timer hands the chain on.
    await heartbeat();
    await bridge.advance(20_000);
    await heartbeat();

    // Act: the timer's second DynamoDB call (its hand-on) fails; SQS delivers it again later.
    faults.arm(2, mode);
    await bridge.advance(10_000);
    expect(faults.disarm()).toEqual(['GetItem', 'UpdateItem']);
    await stayOnline(PAST_REDELIVERY_MS);

    // Assess
    expect(bridge.bridge.deadLetterQueues.timers.depth).toBe(0);
    await expectOneChain();
    await expectOfflineOnceAfterSilence();
  });
});

describe('Kommo user presence: one timer chain per window', () => {
  const key = () => ({ scopeId: bridge.scopeId, accountId: bridge.accountId, conversationId: 'c-1', userId: '7001' });
  const heartbeat = () => widgetRequest(bridge, 'POST', '/widget/chats/k-c-1/presence', { state: 'online' });
  const presenceChanges = () =>
    bridge.sink
      .eventsOfType('presence.changed')
      .map((event) => [event.data.state, Date.parse(String(event.data.at)) - TEST_START]);

  beforeEach(async () => {
    await givenConnectedAccount(bridge);
    const registered = await bridge.chat('PUT', `/chat/${bridge.scopeId}/conversations/c-1`, {
      kommo_conversation_id: 'k-c-1',
      client_id: 'u-7',
    });
    expect(registered.status).toBe(200);
  });

  /** Widget heartbeats every 30 s for `ms`: the window never lapses, so every timer at its end waits on. */
  async function stayOnline(ms: number): Promise<void> {
    for (let elapsed = 0; elapsed < ms; elapsed += 30_000) {
      expect((await heartbeat()).status).toBe(202);
      await bridge.advance(30_000);
    }
  }

  async function expectOneChain(): Promise<void> {
    const pending = pendingTimers('kommo-user-presence-expiry');
    expect(pending.map((job: KommoUserPresenceExpiry) => job.timerId)).toEqual([
      (await bridge.deps.kommoUserPresence.read(key()))?.timerId,
    ]);
  }

  /** Heartbeats stop: offline 90 s after the last one, sent once, and no timer is left. */
  async function expectOnlineThenOfflineOnce(): Promise<void> {
    const lastHeartbeatMs = bridge.clock.now() - 30_000 - TEST_START;
    await bridge.advance(PAST_REDELIVERY_MS);
    expect(presenceChanges()).toEqual([
      ['online', 0],
      ['offline', lastHeartbeatMs + 90_000],
    ]);
    expect(pendingTimers('kommo-user-presence-expiry')).toEqual([]);
  }

  it('20 concurrent first heartbeats: after a few window extensions one timer chain is left, and offline is sent once', async () => {
    const answers = await Promise.all(Array.from({ length: 20 }, () => heartbeat()));
    expect(answers.map((answer) => answer.status)).toEqual(Array(20).fill(202));
    await bridge.advance(30_000);

    await stayOnline(300_000);

    await expectOneChain();
    await expectOnlineThenOfflineOnce();
    expect(bridge.sink.duplicates).toBe(0);
  });

  it('a timer message delivered twice: after a few window extensions one timer chain is left, and offline is sent once', async () => {
    await heartbeat();
    await duplicateTheTimer();
    expect(pendingTimers('kommo-user-presence-expiry')).toHaveLength(2);
    await bridge.advance(30_000);

    await stayOnline(300_000);

    await expectOneChain();
    await expectOnlineThenOfflineOnce();
    expect(bridge.sink.duplicates).toBe(0);
  });

  it('a heartbeat that queued its timer but failed to mark the window announced: the next one queues that timer again, and one chain is left', async () => {
    // Prepare: the first heartbeat dies after queueing the timer and the online event.
    const store = bridge.deps.kommoUserPresence;
    const failing = {
      ...bridge.deps,
      kommoUserPresence: Object.assign(Object.create(store) as typeof store, {
        markAnnounced: () => Promise.reject(new Error('lost')),
      }),
    };
    await expect(kommoUserHeartbeat(failing, key())).rejects.toThrow('lost');
    await bridge.advance(30_000);

    // Act: the widget's next heartbeat announces the window again, then the user stays.
    await stayOnline(300_000);

    // Assess
    await expectOneChain();
    await expectOnlineThenOfflineOnce();
  });

  it.each<[string, FaultMode]>([
    ['fails between queueing the next timer and handing the chain on', 'request-lost'],
    ['hands the chain on but never hears so', 'answer-lost'],
  ])('a timer that %s: neither lost nor doubled, and offline is sent once', async (_, mode) => {
    // Prepare: at 90 s the window (extended at 30 s and 60 s) is still open, so its timer hands the chain on.
    await heartbeat();
    await bridge.advance(30_000);
    await heartbeat();
    await bridge.advance(30_000);
    await heartbeat();
    await bridge.advance(0);

    // Act: the timer's second DynamoDB call (its hand-on) fails; SQS delivers it again later.
    faults.arm(2, mode);
    await bridge.advance(30_000);
    expect(faults.disarm()).toEqual(['GetItem', 'UpdateItem']);
    await stayOnline(PAST_REDELIVERY_MS);

    // Assess
    expect(bridge.bridge.deadLetterQueues.timers.depth).toBe(0);
    await expectOneChain();
    await expectOnlineThenOfflineOnce();
  });
});
