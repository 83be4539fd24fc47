import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tableItems } from '../support/hostile';
import { DynamoWriteMeter } from '../support/dynamo-writes';
import { TEST_START } from '../support/manual-clock';
import { givenBridge, type TestBridge } from '../support/test-bridge';

/**
 * What client typing costs in DynamoDB. A chat service sends a typing `start` per keystroke, so the
 * cost of a start inside a live window is what typing costs: one conditional write, and no replay
 * record (typing is not claimed: a repeat inside the timestamp window only extends what is there).
 * Writes are counted as AWS charges them (test/support/dynamo-writes.ts).
 */

let bridge: TestBridge;
let meter: DynamoWriteMeter;
beforeEach(async () => {
  bridge = await givenBridge();
  meter = new DynamoWriteMeter(bridge.dynamo);
});
afterEach(async () => {
  await bridge.close();
});

const START = { conversation_id: 'c-1', sender_id: 'u-7', state: 'start' };
const typing = (body: Record<string, unknown>, webhookId?: string) =>
  bridge.chat('POST', `/chat/${bridge.scopeId}/typing`, body, webhookId === undefined ? {} : { webhookId });

/** Replay records in the table (`WEBHOOK#…`): typing must leave none. */
async function replayRecords(): Promise<number> {
  return (await tableItems(bridge.dynamo, bridge.tableName)).filter((item) => item.pk?.S?.startsWith('WEBHOOK#'))
    .length;
}

describe('a repeated typing start inside a live window', () => {
  it("another keystroke's start is at most one write, calls Kommo no more, and stores no replay record", async () => {
    // Prepare: the window is open (Kommo called at 0, the next call due at 4 s).
    await typing(START);
    await bridge.advance(1000);
    meter.reset();

    // Act
    const answer = await typing(START);

    // Assess
    expect(answer).toMatchObject({ status: 202, body: { ok: true } });
    expect(meter.requests).toBeLessThanOrEqual(1);
    expect(meter.to('WEBHOOK#')).toEqual([]);
    expect(await replayRecords()).toBe(0);
    expect(bridge.kommo.typingCalls()).toHaveLength(1);
  });

  it('the very same signed start sent again is at most one write too, and calls Kommo no more', async () => {
    // Prepare
    const first = await typing(START, 'msg_keystroke');
    await bridge.advance(1000);
    meter.reset();

    // Act: the chat service's retry of the same request, re-signed 1 s later.
    const repeat = await typing(START, 'msg_keystroke');
    await bridge.advance(0);

    // Assess
    expect(repeat).toMatchObject({ status: 202, body: first.body });
    expect(repeat.headers['webhook-replayed']).toBeUndefined();
    expect(meter.requests).toBeLessThanOrEqual(1);
    expect(meter.to('WEBHOOK#')).toEqual([]);
    expect(await replayRecords()).toBe(0);
    expect(bridge.kommo.typingCalls()).toHaveLength(1);
    expect(bridge.bridge.queues.timers.depth).toBe(1);
  });
});

describe('a 12 s keystroke session', () => {
  it('a start every 100 ms, then stop: 3 Kommo calls, one write per start after the first, and at most 130 WRU in all', async () => {
    // Act: starts at 0 s … 11.9 s, the stop 50 ms after the last one (before the refresh due at 12 s).
    const perStart: number[] = [];
    for (let tick = 0; tick < 120; tick += 1) {
      if (tick > 0) await bridge.advance(100);
      // Only the request's own writes: the refresh timers run in `advance`, between requests.
      const before = meter.requests;
      expect((await typing(START)).status).toBe(202);
      perStart.push(meter.requests - before);
    }
    await bridge.advance(50);
    await typing({ ...START, state: 'stop' });
    await bridge.advance(30_000);

    // Assess
    const units = meter.units;
    const refused = meter.writes.filter((write) => write.refused).length;
    const reported = meter.writes.reduce((sum, write) => sum + (write.reportedUnits ?? 0), 0);
    // DynamoDB Local reports consumed capacity for applied writes only; AWS also charges the refused ones.
    console.info(
      `typing session: ${meter.requests} DynamoDB write requests (${refused} refused), ${units} WRU by AWS's rules; DynamoDB Local reported ${reported} units for the applied ones`,
    );
    expect(bridge.kommo.typingCalls().map((call) => call.at - TEST_START)).toEqual([0, 4000, 8000]);
    // The first start opens the window (a refused extension, then the claim); every other start is one write.
    expect(perStart[0]).toBe(2);
    expect(perStart.slice(1).filter((writes) => writes !== 1)).toEqual([]);
    expect(meter.to('WEBHOOK#')).toEqual([]);
    expect(await replayRecords()).toBe(0);
    expect(units).toBeLessThanOrEqual(130);
    expect(reported + refused).toBe(units);
  });
});
