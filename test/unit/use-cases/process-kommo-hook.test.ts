import { describe, expect, it } from 'vitest';
import { signKommoHook } from '../../../functions/core/domain/amojo-signature';
import type { ConversationDirectory } from '../../../functions/core/ports/conversation-directory';
import type { KommoHookJob } from '../../../functions/core/queue-messages';
import { processKommoHook } from '../../../functions/core/use-cases/process-kommo-hook';
import { TEST_START } from '../../support/manual-clock';
import { InMemoryConversationDirectory } from '../../support/fakes/conversation-directory';
import { callFailure, FakeChatServiceClient, FakeHookForwarder, FakeStatusSource } from '../../support/fakes/outbound';
import { InMemoryStatusPollStore } from '../../support/fakes/status-stores';
import { InMemoryKommoUserTypingStore } from '../../support/fakes/typing-stores';
import { baseDeps, UNIT_ACCOUNT_ID, UNIT_SCOPE_ID, unitSecrets } from '../../support/fakes/unit-deps';

function givenHookWorker(
  options: { forward?: boolean; pollStatuses?: boolean; conversations?: ConversationDirectory } = {},
) {
  const base = baseDeps();
  return {
    ...base,
    conversations: options.conversations ?? new InMemoryConversationDirectory(base.clock),
    kommoUserTyping: new InMemoryKommoUserTypingStore(),
    chatService: new FakeChatServiceClient(),
    hookForwarder: new FakeHookForwarder(options.forward ?? false),
    chatServiceStatuses: new FakeStatusSource(options.pollStatuses ?? false),
    statusPolls: new InMemoryStatusPollStore(),
  };
}

const channelSecret = unitSecrets().channelSecret;

/** A hook as the intake queued it: the raw bytes and Kommo's signature. */
function queuedHook(body: unknown, attempt = 1): KommoHookJob {
  const rawBody = Buffer.from(JSON.stringify(body));
  return {
    scopeId: UNIT_SCOPE_ID,
    accountId: UNIT_ACCOUNT_ID,
    receivedAtMs: TEST_START,
    signature: signKommoHook(rawBody, channelSecret),
    rawBody: rawBody.toString('base64'),
    attempt,
  };
}

const typingHook = {
  account_id: UNIT_ACCOUNT_ID,
  action: {
    typing: {
      user: { id: 'kommo-user-1' },
      conversation: { id: 'kommo-chat-1', client_id: 'conv-1' },
      expired_at: TEST_START / 1000 + 5,
    },
  },
};

const messageHook = {
  account_id: UNIT_ACCOUNT_ID,
  message: {
    receiver: { id: 'r-1', client_id: 'client-7' },
    sender: { id: 'kommo-user-1' },
    conversation: { id: 'kommo-chat-1', client_id: 'conv-1' },
    message: { id: 'msg-1', type: 'text', text: 'Hello' },
  },
};

describe('the hook worker', () => {
  it('turns a typing hook into typing.started and learns which chat it is', async () => {
    // Prepare
    const deps = givenHookWorker();

    // Act
    const outcome = await processKommoHook(deps, queuedHook(typingHook));

    // Assess
    expect(outcome).toBe('typing');
    expect(deps.chatService.received.map((event) => event.type)).toEqual(['typing.started']);
    expect(await deps.conversations.byKommoConversation(UNIT_SCOPE_ID, 'kommo-chat-1')).toEqual({
      scopeId: UNIT_SCOPE_ID,
      kommoConversationId: 'kommo-chat-1',
      conversationId: 'conv-1',
    });
  });

  it('goes on with the hook when the directory cannot be written', async () => {
    // Prepare
    const broken: ConversationDirectory = {
      learn: async () => {
        throw new Error('ProvisionedThroughputExceededException');
      },
      byKommoConversation: async () => undefined,
    };
    const deps = givenHookWorker({ conversations: broken });

    // Act
    const outcome = await processKommoHook(deps, queuedHook(typingHook));

    // Assess
    expect(outcome).toBe('typing');
    expect(deps.chatService.received).toHaveLength(1);
    expect(deps.metrics.get('ConversationLearnFailed')).toBe(1);
  });

  it('acknowledges a message hook when no forward is set, having learned its client', async () => {
    // Prepare
    const deps = givenHookWorker();

    // Act
    const outcome = await processKommoHook(deps, queuedHook(messageHook));

    // Assess
    expect(outcome).toBe('acknowledged');
    expect(await deps.conversations.byKommoConversation(UNIT_SCOPE_ID, 'kommo-chat-1')).toMatchObject({
      conversationId: 'conv-1',
      clientId: 'client-7',
    });
    expect(deps.chatService.received).toEqual([]);
  });

  it("forwards a hook it does not consume byte for byte, with Kommo's signature", async () => {
    // Prepare
    const deps = givenHookWorker({ forward: true });
    const job = queuedHook(messageHook);

    // Act
    const outcome = await processKommoHook(deps, job);

    // Assess
    expect(outcome).toBe('forwarded');
    expect(deps.hookForwarder.forwarded).toEqual([
      { scopeId: UNIT_SCOPE_ID, rawBody: Buffer.from(job.rawBody, 'base64'), signature: job.signature },
    ]);
  });

  it('re-queues the hook with backoff when the forward fails for now', async () => {
    // Prepare
    const deps = givenHookWorker({ forward: true });
    deps.hookForwarder.failNext(callFailure('hook-forward', 502));
    const job = queuedHook(messageHook);

    // Act
    const outcome = await processKommoHook(deps, job);

    // Assess
    expect(outcome).toBe('retrying');
    expect(deps.queues.hooks.sent).toEqual([{ body: { ...job, attempt: 2 }, delaySeconds: 1 }]);
  });

  it('dead-letters the hook when the forward target refuses it for good', async () => {
    // Prepare
    const deps = givenHookWorker({ forward: true });
    deps.hookForwarder.failNext(callFailure('hook-forward', 400));
    const job = queuedHook(messageHook);

    // Act
    const outcome = await processKommoHook(deps, job);

    // Assess
    expect(outcome).toBe('dead-lettered');
    expect(deps.queues.hooks.sent).toEqual([]);
    expect(deps.queues.hooks.deadLettered.map((letter) => [letter.reason, letter.message])).toEqual([
      ['final answer: answered 400', job],
    ]);
  });

  it('starts one status poll for an outgoing message, however often the hook is processed', async () => {
    // Prepare
    const deps = givenHookWorker({ forward: true, pollStatuses: true });
    deps.hookForwarder.failNext(callFailure('hook-forward', 503));

    // Act
    await processKommoHook(deps, queuedHook(messageHook));
    await processKommoHook(deps, queuedHook(messageHook, 2));

    // Assess
    expect(deps.queues.timers.sent).toEqual([
      {
        body: {
          kind: 'status-poll',
          scopeId: UNIT_SCOPE_ID,
          msgid: 'msg-1',
          timerId: 'id-1',
          dueAtMs: TEST_START + 1_000,
        },
        delaySeconds: 1,
      },
    ]);
    expect(deps.hookForwarder.forwarded).toHaveLength(2);
  });
});
