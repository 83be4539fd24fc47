import { describe, expect, it } from 'vitest';
import type { TypingHook } from '../../../functions/core/domain/kommo-hooks';
import {
  kommoUserTypingDeadline,
  kommoUserTypingHook,
  KOMMO_USER_TYPING_STOP_GRACE_MS,
} from '../../../functions/core/use-cases/kommo-user-typing';
import { TEST_START } from '../../support/manual-clock';
import { callFailure, FakeChatServiceClient } from '../../support/fakes/outbound';
import { InMemoryKommoUserTypingStore } from '../../support/fakes/typing-stores';
import { baseDeps, UNIT_ACCOUNT_ID, UNIT_SCOPE_ID } from '../../support/fakes/unit-deps';

const startSeconds = TEST_START / 1000;

function givenKommoUserTyping() {
  return {
    ...baseDeps(),
    kommoUserTyping: new InMemoryKommoUserTypingStore(),
    chatService: new FakeChatServiceClient(),
  };
}

/** The typing events the chat service received, by type. */
const receivedTypes = (deps: ReturnType<typeof givenKommoUserTyping>) =>
  deps.chatService.received.map((event) => event.type);

/** Kommo's typing hook: `expired_at` is the start plus 5 s. */
function typingHook(
  overrides: { expiredAtSeconds?: number; clientId?: string | null; userId?: string } = {},
): TypingHook {
  return {
    account_id: UNIT_ACCOUNT_ID,
    action: {
      typing: {
        user: { id: overrides.userId ?? 'kommo-user-1' },
        conversation: {
          id: 'kommo-chat-1',
          ...(overrides.clientId === null ? {} : { client_id: overrides.clientId ?? 'conv-1' }),
        },
        expired_at: overrides.expiredAtSeconds ?? startSeconds + 5,
      },
    },
  };
}

const typingKey = { scopeId: UNIT_SCOPE_ID, kommoConversationId: 'kommo-chat-1', userId: 'kommo-user-1' };

describe('a Kommo-user typing hook', () => {
  it('sends typing.started itself, queues nothing for it, and sets a timer at the deadline plus the grace', async () => {
    // Prepare
    const deps = givenKommoUserTyping();

    // Act
    await kommoUserTypingHook(deps, UNIT_SCOPE_ID, typingHook());

    // Assess
    const [started] = deps.chatService.received;
    expect(deps.queues.events.sent).toEqual([]);
    expect(started).toMatchObject({
      type: 'typing.started',
      data: {
        scope_id: UNIT_SCOPE_ID,
        account_id: UNIT_ACCOUNT_ID,
        conversation_id: 'conv-1',
        kommo_conversation_id: 'kommo-chat-1',
        user_id: 'kommo-user-1',
        expires_at: new Date(TEST_START + 5_000).toISOString(),
      },
    });
    expect(deps.queues.timers.sent).toEqual([
      {
        body: { kind: 'manager-typing-expiry', ...typingKey, expiresAtMs: TEST_START + 5_000 },
        delaySeconds: Math.ceil((5_000 + KOMMO_USER_TYPING_STOP_GRACE_MS) / 1000),
      },
    ]);
  });

  it('says conversation_id null for a chat a Kommo user started ("write first")', async () => {
    // Prepare
    const deps = givenKommoUserTyping();

    // Act
    await kommoUserTypingHook(deps, UNIT_SCOPE_ID, typingHook({ clientId: null }));

    // Assess
    expect(deps.chatService.received[0]?.data).toMatchObject({ conversation_id: null });
  });

  it('announces an older hook but never moves the deadline back, so it sets no timer', async () => {
    // Prepare
    const deps = givenKommoUserTyping();
    await kommoUserTypingHook(deps, UNIT_SCOPE_ID, typingHook({ expiredAtSeconds: startSeconds + 8 }));

    // Act
    await kommoUserTypingHook(deps, UNIT_SCOPE_ID, typingHook({ expiredAtSeconds: startSeconds + 5 }));

    // Assess
    expect(receivedTypes(deps)).toEqual(['typing.started', 'typing.started']);
    expect(deps.queues.timers.bodies()).toEqual([
      { kind: 'manager-typing-expiry', ...typingKey, expiresAtMs: TEST_START + 8_000 },
    ]);
  });

  it('gives a repeated hook the same event id, so the chat service drops the repeat', async () => {
    // Prepare
    const deps = givenKommoUserTyping();

    // Act
    await kommoUserTypingHook(deps, UNIT_SCOPE_ID, typingHook());
    await kommoUserTypingHook(deps, UNIT_SCOPE_ID, typingHook());

    // Assess
    const [first, second] = deps.chatService.received;
    expect(first?.id).toBe(second?.id);
  });

  it('a chat service that fails the first attempt: typing.started goes on the events queue as the second attempt, with backoff', async () => {
    // Prepare
    const deps = givenKommoUserTyping();
    deps.chatService.failNext(callFailure('chat-service', 503));

    // Act
    await kommoUserTypingHook(deps, UNIT_SCOPE_ID, typingHook());

    // Assess
    expect(deps.queues.events.sent).toEqual([
      { body: { attempt: 2, event: deps.chatService.received[0] }, delaySeconds: 1 },
    ]);
    expect(deps.queues.timers.bodies()).toEqual([
      { kind: 'manager-typing-expiry', ...typingKey, expiresAtMs: TEST_START + 5_000 },
    ]);
  });

  it('a final answer from the chat service dead-letters typing.started, with the reason, and the timer is still set', async () => {
    // Prepare
    const deps = givenKommoUserTyping();
    deps.chatService.failNext(callFailure('chat-service', 400));

    // Act
    await kommoUserTypingHook(deps, UNIT_SCOPE_ID, typingHook());

    // Assess
    expect(deps.queues.events.sent).toEqual([]);
    expect(deps.queues.events.deadLettered).toEqual([
      expect.objectContaining({ attempts: 1, reason: expect.stringContaining('final answer') }),
    ]);
    expect(deps.queues.timers.bodies()).toHaveLength(1);
  });
});

describe('the timer at a Kommo-user typing deadline', () => {
  it('sends exactly one typing.stopped once the deadline and the grace have passed', async () => {
    // Prepare
    const deps = givenKommoUserTyping();
    await kommoUserTypingHook(deps, UNIT_SCOPE_ID, typingHook());
    deps.clock.advanceBy(5_000 + KOMMO_USER_TYPING_STOP_GRACE_MS);

    // Act
    const outcomes = [
      await kommoUserTypingDeadline(deps, typingKey, TEST_START + 5_000),
      await kommoUserTypingDeadline(deps, typingKey, TEST_START + 5_000),
    ];

    // Assess
    expect(outcomes).toEqual(['stopped', 'already-stopped']);
    expect(receivedTypes(deps)).toEqual(['typing.started', 'typing.stopped']);
    expect(deps.queues.events.sent).toEqual([]);
    expect(deps.chatService.received[1]?.data).toMatchObject({
      kommo_conversation_id: 'kommo-chat-1',
      user_id: 'kommo-user-1',
      expires_at: new Date(TEST_START + 5_000).toISOString(),
    });
  });

  it('does nothing for a deadline a renewal moved: the renewal set its own timer', async () => {
    // Prepare
    const deps = givenKommoUserTyping();
    await kommoUserTypingHook(deps, UNIT_SCOPE_ID, typingHook());
    deps.clock.advanceBy(4_000);
    await kommoUserTypingHook(deps, UNIT_SCOPE_ID, typingHook({ expiredAtSeconds: startSeconds + 9 }));
    deps.clock.advanceBy(3_000);

    // Act
    const outcome = await kommoUserTypingDeadline(deps, typingKey, TEST_START + 5_000);

    // Assess
    expect(outcome).toBe('renewed');
    expect(receivedTypes(deps)).toEqual(['typing.started', 'typing.started']);
  });

  it('comes back later when SQS delivered it before the grace was over', async () => {
    // Prepare
    const deps = givenKommoUserTyping();
    await kommoUserTypingHook(deps, UNIT_SCOPE_ID, typingHook());
    deps.clock.advanceBy(5_000);

    // Act
    const outcome = await kommoUserTypingDeadline(deps, typingKey, TEST_START + 5_000);

    // Assess
    expect(outcome).toBe('early');
    expect(receivedTypes(deps)).toEqual(['typing.started']);
    expect(deps.queues.timers.sent.at(-1)).toEqual({
      body: { kind: 'manager-typing-expiry', ...typingKey, expiresAtMs: TEST_START + 5_000 },
      delaySeconds: 2,
    });
  });

  it('gives the stop back when typing.stopped can neither be sent nor queued for a retry, so the timer retry sends it', async () => {
    // Prepare
    const deps = givenKommoUserTyping();
    await kommoUserTypingHook(deps, UNIT_SCOPE_ID, typingHook());
    deps.clock.advanceBy(7_000);
    deps.chatService.failNext(callFailure('chat-service'));
    deps.queues.events.failNextSends(1);

    // Act
    await expect(kommoUserTypingDeadline(deps, typingKey, TEST_START + 5_000)).rejects.toThrow(
      'the queue is unreachable',
    );
    const retried = await kommoUserTypingDeadline(deps, typingKey, TEST_START + 5_000);

    // Assess
    expect(retried).toBe('stopped');
    expect(receivedTypes(deps)).toEqual(['typing.started', 'typing.stopped', 'typing.stopped']);
    expect(deps.queues.events.sent).toEqual([]);
  });
});
