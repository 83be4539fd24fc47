import { describe, expect, it } from 'vitest';
import { FIRST_POLL_AFTER_SECONDS, POLLING_WINDOW_MS } from '../../../functions/core/domain/status-poll';
import { startStatusPoll, statusPollTimer } from '../../../functions/core/use-cases/status-poll';
import { TEST_START } from '../../support/manual-clock';
import { callFailure, FakeKommoChatApi, FakeStatusSource } from '../../support/fakes/outbound';
import { InMemoryStatusPollStore, InMemoryStatusStore } from '../../support/fakes/status-stores';
import { baseDeps, UNIT_ACCOUNT_ID, UNIT_SCOPE_ID } from '../../support/fakes/unit-deps';

const key = { scopeId: UNIT_SCOPE_ID, msgid: 'msg-1' };

function givenPolling(enabled = true) {
  return {
    ...baseDeps(),
    kommoChatApi: new FakeKommoChatApi(),
    statuses: new InMemoryStatusStore(),
    statusPolls: new InMemoryStatusPollStore(),
    chatServiceStatuses: new FakeStatusSource(enabled),
  };
}

/** Kommo's outgoing-message hook (a Kommo user wrote to a client). */
const messageHook = (msgid = 'msg-1') => ({
  account_id: UNIT_ACCOUNT_ID,
  message: {
    conversation: { id: 'kommo-chat-1', client_id: 'conv-1' },
    message: { id: msgid, type: 'text', text: 'Hello' },
  },
});

/** The timer the chain names now, as the timer queue would deliver it. */
function lastPollTimer(deps: ReturnType<typeof givenPolling>) {
  const body = deps.queues.timers.sent.at(-1)?.body;
  if (body?.kind !== 'status-poll') throw new Error('no status-poll timer queued');
  return body;
}

async function runDuePoll(deps: ReturnType<typeof givenPolling>) {
  const timer = lastPollTimer(deps);
  deps.clock.set(Math.max(deps.clock.now(), timer.dueAtMs));
  return statusPollTimer(deps, key, timer.timerId, timer.dueAtMs);
}

describe('starting to poll a message', () => {
  it('queues the first poll a second after the hook, once however often the hook comes', async () => {
    // Prepare
    const deps = givenPolling();

    // Act
    const outcomes = [
      await startStatusPoll(deps, { scopeId: UNIT_SCOPE_ID, receivedAtMs: TEST_START, body: messageHook() }),
      await startStatusPoll(deps, { scopeId: UNIT_SCOPE_ID, receivedAtMs: TEST_START, body: messageHook() }),
    ];

    // Assess
    expect(outcomes).toEqual(['started', 'already-polling']);
    expect(deps.queues.timers.sent).toEqual([
      {
        body: { kind: 'status-poll', ...key, timerId: 'id-1', dueAtMs: TEST_START + FIRST_POLL_AFTER_SECONDS * 1000 },
        delaySeconds: FIRST_POLL_AFTER_SECONDS,
      },
    ]);
  });

  it.each([
    ['polling is not configured', false, messageHook(), TEST_START, 'not-configured'],
    [
      'the hook is not a message',
      true,
      { account_id: UNIT_ACCOUNT_ID, action: { reaction: {} } },
      TEST_START,
      'not-a-message',
    ],
    ['its msgid cannot name a Kommo delivery status', true, messageHook('a/b'), TEST_START, 'invalid-msgid'],
    ['the hook is a day old', true, messageHook(), TEST_START - POLLING_WINDOW_MS, 'window-closed'],
  ])('starts nothing when %s', async (_, enabled, body, receivedAtMs, outcome) => {
    // Prepare
    const deps = givenPolling(enabled);

    // Act
    const started = await startStatusPoll(deps, { scopeId: UNIT_SCOPE_ID, receivedAtMs, body });

    // Assess
    expect(started).toBe(outcome);
    expect(deps.queues.timers.sent).toEqual([]);
  });
});

describe('the poll timer', () => {
  it('asks the chat service, and backs off while it has nothing to report', async () => {
    // Prepare
    const deps = givenPolling();
    await startStatusPoll(deps, { scopeId: UNIT_SCOPE_ID, receivedAtMs: TEST_START, body: messageHook() });

    // Act
    const outcomes = [await runDuePoll(deps), await runDuePoll(deps), await runDuePoll(deps)];

    // Assess
    expect(outcomes).toEqual(['polled', 'polled', 'polled']);
    expect(deps.chatServiceStatuses.queries.map((query) => query.msgid)).toEqual(['msg-1', 'msg-1', 'msg-1']);
    expect(new Set(deps.chatServiceStatuses.queries.map((query) => query.webhookId)).size).toBe(3);
    expect(deps.queues.timers.sent.map((message) => message.delaySeconds)).toEqual([1, 2, 5, 15]);
  });

  it('applies a polled status as a pushed one (queued for Kommo), and ends the chain at read', async () => {
    // Prepare
    const deps = givenPolling();
    await startStatusPoll(deps, { scopeId: UNIT_SCOPE_ID, receivedAtMs: TEST_START, body: messageHook() });
    deps.chatServiceStatuses.answerNext(
      { outcome: 'update', update: { status: 'delivered' } },
      { outcome: 'update', update: { status: 'read' } },
    );

    // Act
    const outcomes = [await runDuePoll(deps), await runDuePoll(deps)];

    // Assess
    expect(outcomes).toEqual(['polled', 'ended']);
    expect(deps.queues.kommoStatus.bodies()).toEqual([
      { ...key, attempt: 1 },
      { ...key, attempt: 1 },
    ]);
    expect(deps.queues.timers.sent).toHaveLength(2);
  });

  it('goes on with the schedule after a failed or malformed answer', async () => {
    // Prepare
    const deps = givenPolling();
    await startStatusPoll(deps, { scopeId: UNIT_SCOPE_ID, receivedAtMs: TEST_START, body: messageHook() });
    deps.chatServiceStatuses.answerNext(callFailure('chat-service', 503), {
      outcome: 'malformed',
      reason: 'status: unknown value',
    });

    // Act
    const outcomes = [await runDuePoll(deps), await runDuePoll(deps)];

    // Assess
    expect(outcomes).toEqual(['polled', 'polled']);
    expect([deps.metrics.get('StatusPollFailed'), deps.metrics.get('StatusPollMalformed')]).toEqual([1, 1]);
    expect(deps.queues.kommoStatus.sent).toEqual([]);
  });

  it('ends a stray timer (not the one the poll names) without asking or queueing', async () => {
    // Prepare
    const deps = givenPolling();
    await startStatusPoll(deps, { scopeId: UNIT_SCOPE_ID, receivedAtMs: TEST_START, body: messageHook() });
    deps.clock.advanceBy(1_000);

    // Act
    const outcome = await statusPollTimer(deps, key, 'timer-of-a-lost-race', TEST_START + 1_000);

    // Assess
    expect(outcome).toBe('stray');
    expect(deps.chatServiceStatuses.queries).toEqual([]);
    expect(deps.queues.timers.sent).toHaveLength(1);
  });

  it('ends without asking once a final status was pushed meanwhile', async () => {
    // Prepare
    const deps = givenPolling();
    await startStatusPoll(deps, { scopeId: UNIT_SCOPE_ID, receivedAtMs: TEST_START, body: messageHook() });
    await deps.statuses.apply(key, { status: 'error', errorCode: 901 }, TEST_START + 500);

    // Act
    const outcome = await runDuePoll(deps);

    // Assess
    expect(outcome).toBe('ended');
    expect(deps.chatServiceStatuses.queries).toEqual([]);
  });
});
