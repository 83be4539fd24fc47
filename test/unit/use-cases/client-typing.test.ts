import { describe, expect, it } from 'vitest';
import {
  refreshClientTyping,
  startClientTyping,
  stopClientTyping,
} from '../../../functions/core/use-cases/client-typing';
import { callFailure, FakeKommoChatApi } from '../../support/fakes/outbound';
import { InMemoryClientTypingStore } from '../../support/fakes/typing-stores';
import { baseDeps, UNIT_SCOPE_ID } from '../../support/fakes/unit-deps';

const key = { scopeId: UNIT_SCOPE_ID, conversationId: 'conv-1', senderId: 'client-1' };

function givenClientTyping() {
  return {
    ...baseDeps({ TYPING_REFRESH_SECONDS: '4' }),
    kommoChatApi: new FakeKommoChatApi(),
    clientTyping: new InMemoryClientTypingStore(),
  };
}

const refreshTimer = { kind: 'client-typing-refresh', ...key };

describe('a client starts typing', () => {
  it('calls Kommo once and queues the refresh for when the call stops covering the display', async () => {
    // Prepare
    const deps = givenClientTyping();

    // Act
    const outcome = await startClientTyping(deps, key, 6);

    // Assess
    expect(outcome).toEqual({ kommoCalled: true });
    expect(deps.kommoChatApi.typingCalls).toEqual([
      { scopeId: UNIT_SCOPE_ID, typing: { conversationId: 'conv-1', senderId: 'client-1' } },
    ]);
    expect(deps.queues.timers.sent).toEqual([{ body: refreshTimer, delaySeconds: 4 }]);
    expect(deps.metrics.get('KommoTypingCall')).toBe(1);
  });

  it('makes one Kommo call for a hundred starts in the same window', async () => {
    // Prepare
    const deps = givenClientTyping();

    // Act
    const outcomes = [];
    for (let i = 0; i < 100; i += 1) {
      outcomes.push(await startClientTyping(deps, key, 6));
      deps.clock.advanceBy(30);
    }

    // Assess
    expect(outcomes.filter((outcome) => outcome.kommoCalled)).toHaveLength(1);
    expect(deps.kommoChatApi.typingCalls).toHaveLength(1);
    expect(deps.queues.timers.sent).toHaveLength(1);
    expect(deps.metrics.get('TypingStartCoalesced')).toBe(99);
  });

  it('calls Kommo again for a start after the window ran out', async () => {
    // Prepare
    const deps = givenClientTyping();
    await startClientTyping(deps, key, 1);
    deps.clock.advanceBy(4_000);

    // Act
    const outcome = await startClientTyping(deps, key, 6);

    // Assess
    expect(outcome).toEqual({ kommoCalled: true });
    expect(deps.kommoChatApi.typingCalls).toHaveLength(2);
  });

  it('keeps typing for each sender apart', async () => {
    // Prepare
    const deps = givenClientTyping();

    // Act
    await startClientTyping(deps, key, 6);
    await startClientTyping(deps, { ...key, senderId: 'client-2' }, 6);

    // Assess
    expect(deps.kommoChatApi.typingCalls.map((call) => call.typing.senderId)).toEqual(['client-1', 'client-2']);
  });

  it('does not retry a typing call Kommo refused, and says so in the metrics', async () => {
    // Prepare
    const deps = givenClientTyping();
    deps.kommoChatApi.failTyping(callFailure('kommo', 403, 'ORIGIN_INVALID_SIGNATURE'));

    // Act
    const outcome = await startClientTyping(deps, key, 6);

    // Assess: a late "typing" would be wrong information, so nothing is queued to try again.
    expect(outcome).toEqual({ kommoCalled: true });
    expect(deps.kommoChatApi.typingCalls).toHaveLength(1);
    expect(deps.queues.timers.bodies()).toEqual([refreshTimer]);
    expect([
      deps.metrics.get('KommoCallFailed'),
      deps.metrics.get('KommoCallForbidden'),
      deps.metrics.get('KommoTypingCall'),
    ]).toEqual([1, 1, 0]);
  });

  it('gives the window back when its refresh cannot be queued, so the retried request calls Kommo at once', async () => {
    // Prepare
    const deps = givenClientTyping();
    deps.queues.timers.failNextSends(1);

    // Act
    const failed = startClientTyping(deps, key, 6);
    await expect(failed).rejects.toThrow('the queue is unreachable');
    const retried = await startClientTyping(deps, key, 6);

    // Assess
    expect(retried).toEqual({ kommoCalled: true });
    expect(deps.kommoChatApi.typingCalls).toHaveLength(1);
    expect(deps.queues.timers.sent).toHaveLength(1);
  });
});

describe('the refresh timer', () => {
  it('calls Kommo and queues the next refresh while the client is still typing', async () => {
    // Prepare
    const deps = givenClientTyping();
    await startClientTyping(deps, key, 10);
    deps.clock.advanceBy(4_000);

    // Act
    const outcome = await refreshClientTyping(deps, key);

    // Assess
    expect(outcome).toEqual({ kommoCalled: true });
    expect(deps.kommoChatApi.typingCalls).toHaveLength(2);
    expect(deps.queues.timers.sent).toEqual([
      { body: refreshTimer, delaySeconds: 4 },
      { body: refreshTimer, delaySeconds: 4 },
    ]);
  });

  it('ends the chain once typing has run out: no call, no next timer', async () => {
    // Prepare
    const deps = givenClientTyping();
    await startClientTyping(deps, key, 3);
    deps.clock.advanceBy(4_000);

    // Act
    const outcome = await refreshClientTyping(deps, key);

    // Assess
    expect(outcome).toEqual({ kommoCalled: false });
    expect(deps.kommoChatApi.typingCalls).toHaveLength(1);
    expect(deps.queues.timers.sent).toHaveLength(1);
  });

  it('makes no call after stop', async () => {
    // Prepare
    const deps = givenClientTyping();
    await startClientTyping(deps, key, 30);
    deps.clock.advanceBy(1_000);
    await stopClientTyping(deps, key);
    deps.clock.advanceBy(3_000);

    // Act
    const outcome = await refreshClientTyping(deps, key);

    // Assess
    expect(outcome).toEqual({ kommoCalled: false });
    expect(deps.kommoChatApi.typingCalls).toHaveLength(1);
    expect(deps.queues.timers.sent).toHaveLength(1);
  });

  it('does nothing when it comes early, before the window it would refresh is over', async () => {
    // Prepare
    const deps = givenClientTyping();
    await startClientTyping(deps, key, 30);
    deps.clock.advanceBy(3_999);

    // Act
    const outcome = await refreshClientTyping(deps, key);

    // Assess
    expect(outcome).toEqual({ kommoCalled: false });
    expect(deps.kommoChatApi.typingCalls).toHaveLength(1);
  });

  it('does nothing for a sender who never typed', async () => {
    // Prepare
    const deps = givenClientTyping();

    // Act
    const outcome = await refreshClientTyping(deps, key);

    // Assess
    expect(outcome).toEqual({ kommoCalled: false });
    expect(deps.kommoChatApi.typingCalls).toEqual([]);
    expect(deps.queues.timers.sent).toEqual([]);
  });
});
