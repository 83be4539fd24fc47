import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { signKommoHook } from '../../functions/core/domain/amojo-signature';
import { emitEvent } from '../../functions/core/use-cases/outbound-events';
import { TEST_START } from '../support/manual-clock';
import { givenBridge, typingHook, type TestBridge } from '../support/test-bridge';

let bridge: TestBridge;
beforeEach(async () => {
  bridge = await givenBridge();
});
afterEach(async () => {
  await bridge.close();
});

const types = () => bridge.sink.events.map((event) => event.type);

describe('Kommo user typing → chat service', () => {
  it('a hook becomes typing.started, then exactly one typing.stopped within 2 s of expires_at', async () => {
    const hook = typingHook(bridge);
    await bridge.kommoHook(hook);
    await bridge.advance(0);

    const [started] = bridge.sink.events;
    expect(started).toMatchObject({
      type: 'typing.started',
      data: {
        scope_id: bridge.scopeId,
        account_id: bridge.accountId,
        conversation_id: 'c-1',
        kommo_conversation_id: hook.action.typing.conversation.id,
        user_id: hook.action.typing.user.id,
        expires_at: new Date(hook.action.typing.expired_at * 1000).toISOString(),
      },
    });

    await bridge.advance(30_000);

    const stopped = bridge.sink.eventsOfType('typing.stopped');
    expect(types()).toEqual(['typing.started', 'typing.stopped']);
    expect(stopped).toHaveLength(1);
    const lateness = stopped[0]!.receivedAt - hook.action.typing.expired_at * 1000;
    expect(lateness).toBeGreaterThanOrEqual(0);
    expect(lateness).toBeLessThanOrEqual(2000);
  });

  it('renewed hooks keep typing on: no stop in between, one stop after the last', async () => {
    for (let second = 0; second < 20; second += 4) {
      await bridge.kommoHook(typingHook(bridge));
      await bridge.advance(4000);
    }
    const lastExpiry = TEST_START + 16_000 + 5000;
    await bridge.advance(30_000);

    expect(types()).toEqual([
      'typing.started',
      'typing.started',
      'typing.started',
      'typing.started',
      'typing.started',
      'typing.stopped',
    ]);
    expect(bridge.sink.eventsOfType('typing.stopped')[0]!.receivedAt - lastExpiry).toBeLessThanOrEqual(2000);
  });

  it('an out-of-order older hook does not shorten typing', async () => {
    const later = typingHook(bridge, { expiredAtSeconds: TEST_START / 1000 + 8 });
    const older = typingHook(bridge, { expiredAtSeconds: TEST_START / 1000 + 5 });
    await bridge.kommoHook(later);
    await bridge.kommoHook(older);
    await bridge.advance(6000);

    expect(bridge.sink.eventsOfType('typing.stopped')).toHaveLength(0);
    await bridge.advance(10_000);
    expect(bridge.sink.eventsOfType('typing.stopped')).toHaveLength(1);
  });

  it('a "write first" chat (no client_id) still produces events, with conversation_id null', async () => {
    await bridge.kommoHook(typingHook(bridge, { clientId: null }));
    await bridge.advance(10_000);

    expect(
      bridge.sink.events.map((event) => [
        event.type,
        event.data.conversation_id,
        typeof event.data.kommo_conversation_id,
      ]),
    ).toEqual([
      ['typing.started', null, 'string'],
      ['typing.stopped', null, 'string'],
    ]);
  });

  it('keeps two Kommo users typing in one chat apart', async () => {
    await bridge.kommoHook(typingHook(bridge, { userId: 'user-a' }));
    await bridge.kommoHook(typingHook(bridge, { userId: 'user-b' }));
    await bridge.advance(10_000);

    const stops = bridge.sink
      .eventsOfType('typing.stopped')
      .map((event) => event.data.user_id)
      .sort();
    expect(stops).toEqual(['user-a', 'user-b']);
  });

  it('a forged hook produces no event at all', async () => {
    const hook = typingHook(bridge);
    const forged = signKommoHook(Buffer.from(JSON.stringify(hook)), 'a'.repeat(40));

    const response = await bridge.kommoHook(hook, { signature: forged });
    await bridge.advance(30_000);

    expect(response.status).toBe(401);
    expect(bridge.sink.events).toHaveLength(0);
    expect(bridge.sink.rejected).toHaveLength(0);
  });
});

describe('Kommo user typing: one queue hop per hook', () => {
  /** The messages each queue is sent from now on (the hook job, timers, events), by queue. */
  function countSends(): Record<string, number> {
    const sends: Record<string, number> = {};
    for (const [name, queue] of Object.entries(bridge.bridge.queues)) {
      const send = queue.send.bind(queue);
      queue.send = async (...args) => {
        sends[name] = (sends[name] ?? 0) + 1;
        return send(...args);
      };
    }
    return sends;
  }

  it('a hook reaches the chat service as typing.started and typing.stopped with its job and one timer, nothing on the events queue', async () => {
    // Prepare
    const sends = countSends();

    // Act
    await bridge.kommoHook(typingHook(bridge));
    await bridge.advance(30_000);

    // Assess
    expect(types()).toEqual(['typing.started', 'typing.stopped']);
    expect(sends).toEqual({ hooks: 1, timers: 1 });
    expect(bridge.sink.duplicates).toBe(0);
  });

  it('a chat service that fails the first attempts: both events are retried through the events queue, with backoff, and arrive once', async () => {
    // Prepare
    const sends = countSends();
    bridge.sink.failNext(1, 503);

    // Act: typing.started fails once; typing.stopped, 6.5 s later, fails once too.
    await bridge.kommoHook(typingHook(bridge));
    await bridge.advance(6000);
    bridge.sink.failNext(1, 503);
    await bridge.advance(30_000);

    // Assess
    expect(types()).toEqual(['typing.started', 'typing.stopped']);
    expect(bridge.sink.rejected.map((refusal) => refusal.status)).toEqual([503, 503]);
    expect(sends).toEqual({ hooks: 1, timers: 1, events: 2 });
    expect(bridge.metrics.get('EventRetried')).toBe(2);
  });

  it('a chat service that refuses typing.started (400): it is dead-lettered with the reason, and the stop still comes', async () => {
    // Prepare
    bridge.sink.failNext(1, 400);

    // Act
    await bridge.kommoHook(typingHook(bridge));
    await bridge.advance(30_000);

    // Assess
    expect(types()).toEqual(['typing.stopped']);
    expect(bridge.bridge.deadLetters('events')).toEqual([
      expect.objectContaining({
        attempts: 1,
        reason: expect.stringContaining('final answer'),
        message: expect.objectContaining({ event: expect.objectContaining({ type: 'typing.started' }) }),
      }),
    ]);
  });
});

describe('outbound event delivery', () => {
  it('signs every event so the sink accepts it, with the event id as webhook-id', async () => {
    await bridge.kommoHook(typingHook(bridge));
    await bridge.advance(0);

    expect(bridge.sink.rejected).toHaveLength(0);
    expect(bridge.sink.events[0]!.id).toMatch(/^evt_/);
  });

  it('retries on 503 and 429 with backoff, then delivers', async () => {
    bridge.sink.failNext(1, 503);
    await emitEvent(bridge.deps, 'conversation.read', {
      scope_id: bridge.scopeId,
      account_id: bridge.accountId,
      conversation_id: 'c-1',
      read_at: new Date(TEST_START).toISOString(),
    });
    await bridge.advance(0);
    expect(bridge.sink.events).toHaveLength(0);
    bridge.sink.failNext(1, 429);

    await bridge.advance(60_000);

    expect(bridge.sink.eventsOfType('conversation.read')).toHaveLength(1);
    expect(bridge.sink.rejected.map((refusal) => refusal.status)).toEqual([503, 429]);
    expect(bridge.metrics.get('EventRetried')).toBe(2);
  });

  it('dead-letters an event the chat service never takes, with the reason, after the retry budget', async () => {
    bridge.sink.setDown(true);
    const event = await emitEvent(bridge.deps, 'conversation.read', {
      scope_id: bridge.scopeId,
      account_id: bridge.accountId,
      conversation_id: 'c-1',
      read_at: new Date(TEST_START).toISOString(),
    });

    await bridge.advance(60 * 60 * 1000);

    const letters = bridge.bridge.deadLetters('events') as {
      reason: string;
      attempts: number;
      message: { event: { id: string } };
    }[];
    expect(letters).toHaveLength(1);
    expect(letters[0]).toMatchObject({
      attempts: bridge.config.DELIVERY_MAX_ATTEMPTS,
      message: { event: { id: event.id } },
    });
    expect(letters[0]!.reason).toMatch(/gave up after \d+ attempts: .*network error/);
    expect(bridge.bridge.queues.events.depth).toBe(0);
  });

  it('dead-letters at once on a final answer (400) without retrying', async () => {
    bridge.sink.failNext(1, 400);
    await emitEvent(bridge.deps, 'conversation.read', {
      scope_id: bridge.scopeId,
      account_id: bridge.accountId,
      conversation_id: 'c-1',
      read_at: new Date(TEST_START).toISOString(),
    });

    await bridge.advance(60_000);

    expect(bridge.sink.rejected).toHaveLength(1);
    expect(bridge.bridge.deadLetters('events')).toEqual([
      expect.objectContaining({ attempts: 1, reason: expect.stringContaining('final answer') }),
    ]);
  });

  it('drops a typing event that is stale when its retry comes due, instead of dead-lettering it', async () => {
    bridge.sink.setDown(true);
    await bridge.kommoHook(typingHook(bridge));
    await bridge.advance(6000);
    bridge.sink.setDown(false);

    await bridge.advance(120_000);

    expect(bridge.sink.eventsOfType('typing.started')).toHaveLength(0);
    expect(bridge.sink.eventsOfType('typing.stopped')).toHaveLength(1);
    expect(bridge.metrics.get('EventDropped')).toBe(1);
    expect(bridge.bridge.deadLetters('events')).toHaveLength(0);
  });
});

describe('redriving dead letters', () => {
  it('delivers a dead-lettered event once it is moved back to its queue, with a fresh retry budget', async () => {
    bridge.sink.setDown(true);
    const event = await emitEvent(bridge.deps, 'conversation.read', {
      scope_id: bridge.scopeId,
      account_id: bridge.accountId,
      conversation_id: 'c-1',
      read_at: new Date(TEST_START).toISOString(),
    });
    await bridge.advance(60 * 60 * 1000);
    const [letter] = bridge.bridge.deadLetters('events');
    bridge.sink.setDown(false);

    // What SQS redrive does: the dead letter's body, verbatim, back on the source queue.
    await bridge.bridge.queues.events.sendRaw(JSON.stringify(letter));
    await bridge.advance(0);

    expect(bridge.sink.events.map((received) => received.id)).toEqual([event.id]);
  });
});

describe("Kommo's typing cadence", () => {
  // Kommo renews the hook every 5 s with expired_at = its time + 5 s; the renewal lands around the deadline.
  it.each([
    ['half a second before the deadline', -500],
    ['at the deadline', 0],
    ['one second after the deadline', 1000],
  ])('a renewal that lands %s never makes a stop between renewals', async (_when, landsAfterDeadlineMs) => {
    // Prepare: the first hook at t=0 (expired_at = 5 s).
    await bridge.kommoHook(typingHook(bridge));
    let deadlineMs = TEST_START + 5000;

    // Act: five renewals, each landing relative to the deadline it renews, each expiring 5 s after it was sent.
    for (let renewal = 0; renewal < 5; renewal += 1) {
      await bridge.advance(deadlineMs + landsAfterDeadlineMs - bridge.clock.now());
      const sentAtSeconds = deadlineMs / 1000;
      await bridge.kommoHook(typingHook(bridge, { expiredAtSeconds: sentAtSeconds + 5 }));
      deadlineMs = (sentAtSeconds + 5) * 1000;
    }
    await bridge.advance(deadlineMs - bridge.clock.now() + 30_000);

    // Assess: six starts, then one stop, within 2 s of the last expires_at.
    expect(types()).toEqual([...Array(6).fill('typing.started'), 'typing.stopped']);
    const lateness = bridge.sink.eventsOfType('typing.stopped')[0]!.receivedAt - deadlineMs;
    expect(lateness).toBeGreaterThanOrEqual(0);
    expect(lateness).toBeLessThanOrEqual(2000);
  });
});
