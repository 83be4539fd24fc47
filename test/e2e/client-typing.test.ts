import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TEST_START } from '../support/manual-clock';
import { givenBridge, type TestBridge } from '../support/test-bridge';

let bridge: TestBridge;
beforeEach(async () => {
  bridge = await givenBridge();
});
afterEach(async () => {
  await bridge.close();
});

const typing = (state: 'start' | 'stop', extra: Record<string, unknown> = {}) =>
  bridge.chat('POST', `/chat/${bridge.scopeId}/typing`, { conversation_id: 'c-1', sender_id: 'u-7', state, ...extra });

/** Offsets (ms from test start) of the Kommo typing calls the sandbox accepted. */
const callTimes = () => bridge.kommo.typingCalls().map((call) => call.at - TEST_START);

function longestGap(times: number[]): number {
  return Math.max(0, ...times.slice(1).map((time, index) => time - times[index]!));
}

describe('client typing → Kommo', () => {
  it('12 s of a start every 100 ms then stop: at most 4 calls, never more than 5 s apart, none after stop', async () => {
    for (let tick = 0; tick < 120; tick += 1) {
      expect((await typing('start')).status).toBe(202);
      await bridge.advance(100);
    }
    await typing('stop');
    const stoppedAt = bridge.clock.now() - TEST_START;
    await bridge.advance(30_000);

    const times = callTimes();
    expect(times.length).toBeGreaterThanOrEqual(3);
    expect(times.length).toBeLessThanOrEqual(4);
    expect(times[0]).toBe(0);
    expect(longestGap(times)).toBeLessThanOrEqual(5000);
    expect(times.every((time) => time <= stoppedAt)).toBe(true);
    expect(bridge.metrics.get('TypingStartCoalesced')).toBe(120 - 1);
  });

  it('one start, then stop after 12 s: the same calls, refreshed by the bridge itself', async () => {
    await typing('start', { ttl_seconds: 30 });
    await bridge.advance(12_000);
    await typing('stop');
    await bridge.advance(30_000);

    const times = callTimes();
    expect(times).toEqual([0, 4000, 8000, 12000].slice(0, times.length));
    expect(times.length).toBeGreaterThanOrEqual(3);
    expect(longestGap(times)).toBeLessThanOrEqual(5000);
    expect(times.every((time) => time <= 12_000)).toBe(true);
  });

  it('50 concurrent starts make one Kommo call', async () => {
    const answers = await Promise.all(Array.from({ length: 50 }, () => typing('start')));

    expect(answers.every((answer) => answer.status === 202)).toBe(true);
    expect(bridge.kommo.typingCalls()).toHaveLength(1);
  });

  it('sends the chat service ids to Kommo as conversation_id and sender.id', async () => {
    await typing('start');

    expect(bridge.kommo.typingCalls()[0]).toMatchObject({
      scopeId: bridge.scopeId,
      body: { conversation_id: 'c-1', sender: { id: 'u-7' } },
    });
  });

  it('ends on its own after ttl_seconds without a new start', async () => {
    await typing('start', { ttl_seconds: 6 });
    await bridge.advance(60_000);

    expect(callTimes()).toEqual([0, 4000]);
  });

  it('a start after stop shows typing again at once', async () => {
    await typing('start');
    await bridge.advance(1000);
    await typing('stop');
    await bridge.advance(9000);
    await typing('start');

    expect(callTimes()).toEqual([0, 10_000]);
  });

  it('a failed typing call is counted and logged, never retried late, and typing goes on', async () => {
    bridge.kommo.failNext(1, 503);

    await typing('start', { ttl_seconds: 10 });
    await bridge.advance(20_000);

    expect(callTimes()).toEqual([4000, 8000]);
    expect(bridge.metrics.get('KommoCallFailed')).toBe(1);
    expect(bridge.log.lines.some((line) => line.level === 'warn' && line.message.includes('typing call failed'))).toBe(
      true,
    );
  });

  it('counts a 403 from Kommo (a wrong channel secret) for the alarm', async () => {
    bridge.kommo.failNext(1, 403);

    await typing('start');

    expect(bridge.metrics.get('KommoCallForbidden')).toBe(1);
  });

  it.each([
    ['an unknown state', { state: 'typing' }, 'state'],
    ['ttl_seconds above 60', { ttl_seconds: 61 }, 'ttl_seconds'],
    ['ttl_seconds below 1', { ttl_seconds: 0 }, 'ttl_seconds'],
    ['a fractional ttl_seconds', { ttl_seconds: 1.5 }, 'ttl_seconds'],
    ['a missing sender_id', { sender_id: undefined }, 'sender_id'],
    ['an empty conversation_id', { conversation_id: '' }, 'conversation_id'],
    ['a conversation_id over 128 characters', { conversation_id: 'c'.repeat(129) }, 'conversation_id'],
    ['an unknown field', { colour: 'red' }, 'colour'],
  ])('refuses %s with a 400 naming the field, and calls nobody', async (_, change, field) => {
    const response = await bridge.chat('POST', `/chat/${bridge.scopeId}/typing`, {
      conversation_id: 'c-1',
      sender_id: 'u-7',
      state: 'start',
      ...change,
    });

    expect(response.status).toBe(400);
    expect(response.body.error.message).toContain(field);
    expect(bridge.kommo.typingCalls()).toHaveLength(0);
    expect(bridge.bridge.queues.timers.depth).toBe(0);
  });
});
