import { describe, expect, it } from 'vitest';
import type { EventJob } from '../../../functions/core/queue-messages';
import { dispatchEvent, emitEvent } from '../../../functions/core/use-cases/outbound-events';
import { TEST_START } from '../../support/manual-clock';
import { callFailure, FakeChatServiceClient } from '../../support/fakes/outbound';
import { baseDeps, UNIT_ACCOUNT_ID, UNIT_SCOPE_ID } from '../../support/fakes/unit-deps';

function givenDispatcher(settings: { DELIVERY_MAX_ATTEMPTS?: string } = {}) {
  return { ...baseDeps(settings), chatService: new FakeChatServiceClient() };
}

const scope = { scope_id: UNIT_SCOPE_ID, account_id: UNIT_ACCOUNT_ID };

describe('emitting an event', () => {
  it('queues it with an evt_ id and the time it was made', async () => {
    // Prepare
    const deps = baseDeps();

    // Act
    const event = await emitEvent(deps, 'presence.changed', { ...scope, client_id: 'client-1', state: 'online' });

    // Assess
    expect(deps.queues.events.sent).toEqual([{ body: { event, attempt: 1 }, delaySeconds: 0 }]);
    expect(event).toEqual({
      type: 'presence.changed',
      id: 'evt_id-1',
      timestamp: new Date(TEST_START).toISOString(),
      data: { ...scope, client_id: 'client-1', state: 'online' },
    });
  });
});

describe('dispatching a queued event', () => {
  const presenceJob = (attempt = 1): EventJob => ({
    event: {
      type: 'presence.changed',
      id: 'evt_presence',
      timestamp: new Date(TEST_START).toISOString(),
      data: { ...scope, client_id: 'client-1' },
    },
    attempt,
  });

  it('delivers it to the chat service', async () => {
    // Prepare
    const deps = givenDispatcher();

    // Act
    const outcome = await dispatchEvent(deps, presenceJob());

    // Assess
    expect(outcome).toBe('delivered');
    expect(deps.chatService.received).toEqual([presenceJob().event]);
    expect(deps.metrics.get('EventDelivered')).toBe(1);
  });

  it('drops a typing.started whose typing has already ended, without calling the chat service', async () => {
    // Prepare
    const deps = givenDispatcher();
    const job: EventJob = {
      event: {
        type: 'typing.started',
        id: 'evt_typing',
        timestamp: new Date(TEST_START).toISOString(),
        data: { ...scope, expires_at: new Date(TEST_START + 5_000).toISOString() },
      },
      attempt: 3,
    };
    deps.clock.advanceBy(5_000);

    // Act
    const outcome = await dispatchEvent(deps, job);

    // Assess
    expect(outcome).toBe('dropped');
    expect(deps.chatService.received).toEqual([]);
    expect(deps.queues.events.sent).toEqual([]);
  });

  it('re-queues it with the next attempt number when the chat service is down', async () => {
    // Prepare
    const deps = givenDispatcher();
    deps.chatService.failNext(callFailure('chat-service'));

    // Act
    const outcome = await dispatchEvent(deps, presenceJob(2));

    // Assess: attempt 2's ceiling is 4 s; jitter at 0.5 waits 2 s.
    expect(outcome).toBe('retrying');
    expect(deps.queues.events.sent).toEqual([{ body: presenceJob(3), delaySeconds: 2 }]);
    expect(deps.metrics.get('EventRetried')).toBe(1);
  });

  it('dead-letters it with the reason when the chat service refuses it', async () => {
    // Prepare
    const deps = givenDispatcher();
    deps.chatService.failNext(callFailure('chat-service', 422));

    // Act
    const outcome = await dispatchEvent(deps, presenceJob());

    // Assess
    expect(outcome).toBe('dead-lettered');
    expect(deps.queues.events.sent).toEqual([]);
    expect(deps.queues.events.deadLettered).toEqual([
      {
        reason: 'final answer: answered 422',
        failedAt: new Date(TEST_START).toISOString(),
        attempts: 1,
        message: presenceJob(),
      },
    ]);
  });

  it('dead-letters it after the last attempt', async () => {
    // Prepare
    const deps = givenDispatcher({ DELIVERY_MAX_ATTEMPTS: '3' });
    deps.chatService.failNext(callFailure('chat-service', 503));

    // Act
    const outcome = await dispatchEvent(deps, presenceJob(3));

    // Assess
    expect(outcome).toBe('dead-lettered');
    expect(deps.queues.events.deadLettered.map((letter) => letter.reason)).toEqual([
      'gave up after 3 attempts: answered 503',
    ]);
  });

  it('lets an unexpected error through, so SQS delivers the job again', async () => {
    // Prepare
    const deps = givenDispatcher();
    deps.chatService.failNext(new TypeError('a bug'));

    // Act
    const outcome = dispatchEvent(deps, presenceJob());

    // Assess
    await expect(outcome).rejects.toThrow('a bug');
    expect(deps.queues.events.sent).toEqual([]);
    expect(deps.queues.events.deadLettered).toEqual([]);
  });
});
