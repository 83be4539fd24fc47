import { setTimeout as pause } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  DELIVERY_STATUSES,
  deliveryStatusRank,
  kommoDeliveryCode,
  type DeliveryStatus,
} from '../../functions/core/domain/delivery-status';
import { SYNC_LEASE_MS, syncDeliveryStatus } from '../../functions/core/use-cases/delivery-status';
import { startBusyCpu } from '../support/busy-cpu';
import { seededRandom } from '../support/mixed-load';
import { nextAcceptedCall } from '../support/hostile';
import { HOSTILE_SEED } from '../support/hostile-arbitraries';
import { givenBridge, type TestBridge } from '../support/test-bridge';

/**
 * The delivery-status guarantee when time is against the bridge: Kommo receives a message's statuses
 * in order, never backwards, none lost, and a status twice only when the first call's outcome is
 * unknown (it was given up at its deadline). The whole file runs beside two spinning threads, so it
 * holds on a busy machine too; no assertion depends on how fast anything runs.
 */

let busyCpu: ReturnType<typeof startBusyCpu>;
beforeAll(() => {
  busyCpu = startBusyCpu(2);
});
afterAll(async () => {
  await busyCpu.stop();
});

let bridge: TestBridge;
afterEach(async () => {
  await bridge.close();
});

const statusPath = (msgid: string) => `/chat/${bridge.scopeId}/messages/${msgid}/status`;
const postStatus = (msgid: string, body: unknown) => bridge.chat('POST', statusPath(msgid), body);
const kommoSent = () => bridge.kommo.deliveryStatusCalls().map((call) => call.body);

describe('a status reaches Kommo once unless its first call timed out', () => {
  it('Kommo answering later in real time than KOMMO_TIMEOUT_MS, while the bridge clock stands still: each status is sent once', async () => {
    // Prepare: every answer takes 300 ms of real time; calls may take 100 ms, counted on the bridge's clock.
    bridge = await givenBridge({ KOMMO_TIMEOUT_MS: '100' });
    bridge.kommo.setLatency(300);

    // Act
    await postStatus('m-1', { status: 'delivered' });
    await postStatus('m-1', { status: 'read' });
    await bridge.advance(10_000);

    // Assess
    expect(kommoSent()).toEqual([
      { msgid: 'm-1', delivery_status: 1 },
      { msgid: 'm-1', delivery_status: 2 },
    ]);
    expect((await bridge.chat('GET', statusPath('m-1'))).body.kommo).toEqual({ delivered: true, attempts: 1 });
    expect(bridge.metrics.get('KommoCallFailed')).toBe(0);
  });

  it('a sync lease that runs out while its job still waits on Kommo is not taken over: the next job waits for the answer instead of sending the status again', async () => {
    // Prepare: each of three calls keeps Kommo busy until just before its deadline (29 of 30 s on the
    // bridge's clock), so the third starts 58 s into the job and is still unanswered 61 s in, after the
    // SYNC_LEASE_MS the job's lease started with. Its answer waits until the test releases it.
    bridge = await givenBridge({ KOMMO_TIMEOUT_MS: '30000' });
    let arrivals = 0;
    let releaseAnswers = () => {};
    let thirdCallArrived!: () => void;
    const thirdCall = new Promise<void>((resolve) => (thirdCallArrived = resolve));
    bridge.kommo.respondWith((call) => {
      if (call.method !== 'delivery_status') return undefined;
      arrivals += 1;
      if (arrivals <= 2) bridge.clock.advanceBy(29_000);
      if (arrivals === 3) {
        bridge.clock.advanceBy(3_000);
        releaseAnswers = bridge.kommo.holdAnswers();
        thirdCallArrived();
      }
      // A second send of the status: answer both, so the test fails on its assertions instead of hanging.
      if (arrivals === 4) releaseAnswers();
      return undefined;
    });
    for (const update of [{ status: 'delivered' }, { status: 'read' }, { status: 'error', error_code: 902 }])
      await postStatus('m-1', update);

    // Act: while the third call is unanswered, a second job for the message runs.
    const firstJob = bridge.bridge.settle();
    await thirdCall;
    const secondJob = await syncDeliveryStatus(bridge.deps, { scopeId: bridge.scopeId, msgid: 'm-1', attempt: 1 });
    releaseAnswers();
    await firstJob;
    await bridge.advance(SYNC_LEASE_MS);

    // Assess
    expect(kommoSent()).toEqual([
      { msgid: 'm-1', delivery_status: 1 },
      { msgid: 'm-1', delivery_status: 2 },
      { msgid: 'm-1', delivery_status: -1, error_code: 902 },
    ]);
    expect(secondJob).toBe('lease-held');
    expect((await bridge.chat('GET', statusPath('m-1'))).body.kommo).toEqual({ delivered: true, attempts: 1 });
    expect(bridge.bridge.queues['kommo-status'].depth).toBe(0);
    expect(bridge.bridge.deadLetters('kommo-status')).toEqual([]);
  });

  it('a call still unanswered when the bridge clock reaches its deadline is given up, and the status is sent again: the one case of a second send', async () => {
    // Prepare
    bridge = await givenBridge({ KOMMO_TIMEOUT_MS: '2000' });
    const firstCall = nextAcceptedCall(bridge.kommo);
    const releaseAnswers = bridge.kommo.holdAnswers();
    await postStatus('m-1', { status: 'read' });

    // Act: 1999 ms on, the answer can still come; at 2000 ms the call is given up.
    const job = bridge.bridge.settle();
    await firstCall;
    bridge.clock.advanceBy(1999);
    const before = (await bridge.chat('GET', statusPath('m-1'))).body.kommo;
    bridge.clock.advanceBy(1);
    await job;
    const after = (await bridge.chat('GET', statusPath('m-1'))).body.kommo;
    releaseAnswers();
    await bridge.advance(SYNC_LEASE_MS);

    // Assess
    expect(before).toEqual({ delivered: false, attempts: 0 });
    expect(after).toEqual({
      delivered: false,
      attempts: 1,
      last_error: expect.stringContaining('timed out after 2000 ms'),
    });
    expect(kommoSent()).toEqual([
      { msgid: 'm-1', delivery_status: 2 },
      { msgid: 'm-1', delivery_status: 2 },
    ]);
    expect((await bridge.chat('GET', statusPath('m-1'))).body.kommo).toMatchObject({ delivered: true, attempts: 2 });
    expect(bridge.bridge.deadLetters('kommo-status')).toEqual([]);
  });

  it('40 messages updated at once, with Kommo slower than KOMMO_TIMEOUT_MS in real time and failing first calls: every status once, in order', async () => {
    // Prepare: three rounds, 1 s apart on the test clock; per message and round one status (1-3 copies).
    bridge = await givenBridge({ KOMMO_TIMEOUT_MS: '100' });
    bridge.kommo.setLatency(120);
    const random = seededRandom(HOSTILE_SEED);
    const rounds: { msgid: string; update: Record<string, unknown> }[][] = [[], [], []];
    const expected: Record<string, number[]> = {};
    for (let m = 0; m < 40; m += 1) {
      const msgid = `m-${m}`;
      let current: DeliveryStatus | undefined;
      for (const round of rounds) {
        if (!random.chance(0.7)) continue;
        const status = random.pick(DELIVERY_STATUSES);
        const update = status === 'error' ? { status, error_code: 903 } : { status };
        for (let copy = random.int(1, 3); copy > 0; copy -= 1) round.push({ msgid, update });
        if (current === undefined || deliveryStatusRank[status] > deliveryStatusRank[current]) {
          current = status;
          (expected[msgid] ??= []).push(kommoDeliveryCode[status]);
        }
      }
    }
    const failsFirst = (msgid: string) => Number(msgid.slice(2)) % 4 === 0;
    const failed = new Set<string>();
    bridge.kommo.respondWith((call) => {
      if (call.method !== 'delivery_status' || !failsFirst(call.msgid)) return undefined;
      const key = `${call.msgid}:${call.body.delivery_status}`;
      if (failed.has(key)) return undefined;
      failed.add(key);
      return { status: 503 };
    });

    // Act: the sync jobs run while the updates arrive, as the queue consumer would.
    for (const [index, round] of rounds.entries()) {
      if (index > 0) bridge.clock.advanceBy(1000);
      let arriving = true;
      const consumer = (async () => {
        while (arriving) {
          await bridge.bridge.settle();
          await pause(5);
        }
      })();
      await Promise.all(round.map(({ msgid, update }) => postStatus(msgid, update)));
      arriving = false;
      await consumer;
    }
    await bridge.advance(15 * 60_000);

    // Assess
    const sent: Record<string, number[]> = {};
    for (const call of bridge.kommo.deliveryStatusCalls()) (sent[call.msgid] ??= []).push(call.body.delivery_status);
    expect(sent).toEqual(expected);
    const failingUpdates = Object.entries(expected)
      .filter(([msgid]) => failsFirst(msgid))
      .reduce((sum, [, codes]) => sum + codes.length, 0);
    expect(bridge.kommo.rejected.map((refusal) => refusal.status)).toEqual(Array(failingUpdates).fill(503));
    expect(bridge.metrics.get('KommoCallFailed')).toBe(failingUpdates);
    expect(bridge.bridge.queues['kommo-status'].depth).toBe(0);
    expect(bridge.bridge.deadLetters('kommo-status')).toEqual([]);
    // A runner limit, not an assertion: about 150 calls of 120 ms each, on a machine kept busy.
  }, 180_000);
});
