import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { documentClient } from '../../functions/core/adapters/dynamodb/table';
import { signKommoHook } from '../../functions/core/domain/amojo-signature';
import { processKommoHook } from '../../functions/core/use-cases/process-kommo-hook';
import { givenConnectedBridge } from '../support/connected-bridge';
import { TEST_START } from '../support/manual-clock';
import { messageHook, TEST_KOMMO_CHAT as KOMMO_CHAT, typingHook, widgetRequest } from '../support/test-bridge';
import { expectContractError } from '../support/contract-errors';

/**
 * The conversation directory: which Kommo chat is which chat-service conversation and client. The
 * bridge learns it from Kommo's hooks (in the hook worker) and from the chat service's
 * `PUT /chat/{scope_id}/conversations/{conversation_id}`; the widget reads it by Kommo's chat id.
 */

const bridge = givenConnectedBridge();

const DAY_MS = 24 * 60 * 60 * 1000;

/** An outgoing-message hook about `kommoChat`; `null` leaves a field out, as Kommo does for chats a Kommo user started. */
function messageHookAbout(kommoChat: string, ids: { conversationId?: string | null; clientId?: string | null } = {}) {
  const hook = messageHook(bridge.accountId);
  const conversation: Record<string, string> = { id: kommoChat };
  if (ids.conversationId !== null) conversation.client_id = ids.conversationId ?? 'c-1';
  const receiver: Record<string, string> = { id: 'r-1' };
  if (ids.clientId !== null) receiver.client_id = ids.clientId ?? 'u-7';
  return { ...hook, message: { ...hook.message, conversation, receiver } };
}

const register = (conversationId: string, body: unknown, options: { webhookId?: string } = {}) =>
  bridge.chat('PUT', `/chat/${bridge.scopeId}/conversations/${encodeURIComponent(conversationId)}`, body, options);

const chatForWidget = (kommoChat = KOMMO_CHAT) =>
  widgetRequest(bridge, 'GET', `/widget/chats/${encodeURIComponent(kommoChat)}`);

async function hookProcessed(hook: unknown): Promise<void> {
  expect((await bridge.kommoHook(hook)).status).toBe(200);
  await bridge.advance(0);
}

/** The directory's items, as stored. */
async function directoryItems(): Promise<Record<string, unknown>[]> {
  return (await bridge.storedItems()).filter((item) => String(item.pk).startsWith('CHAT#'));
}

async function directoryItem(kommoChat = KOMMO_CHAT): Promise<Record<string, unknown> | undefined> {
  const { Item } = await documentClient(bridge.dynamo).send(
    new GetCommand({
      TableName: bridge.tableName,
      Key: { pk: `CHAT#${bridge.scopeId}#${kommoChat}`, sk: 'ENTRY' },
      ConsistentRead: true,
    }),
  );
  return Item;
}

describe('learning from Kommo hooks', () => {
  it("a typing hook teaches Kommo's chat id and the chat service's conversation id", async () => {
    // Act
    await hookProcessed(typingHook(bridge, { conversationId: KOMMO_CHAT, clientId: 'c-1' }));

    // Assess
    expect((await chatForWidget()).body).toEqual({
      kommo_conversation_id: KOMMO_CHAT,
      conversation_id: 'c-1',
      client_id: null,
      client_presence: null,
    });
    expect(await directoryItem()).toMatchObject({
      scopeId: bridge.scopeId,
      kommoConversationId: KOMMO_CHAT,
      conversationId: 'c-1',
      lastSeenAtMs: TEST_START,
      expiresAt: (TEST_START + 90 * DAY_MS) / 1000,
    });
    expect(bridge.metrics.get('ConversationLearned')).toBe(1);
  });

  it('an outgoing-message hook also teaches the client (receiver.client_id), and is still forwarded', async () => {
    // Act
    await hookProcessed(messageHookAbout(KOMMO_CHAT, { conversationId: 'c-1', clientId: 'u-7' }));

    // Assess
    expect((await chatForWidget()).body).toMatchObject({
      kommo_conversation_id: KOMMO_CHAT,
      conversation_id: 'c-1',
      client_id: 'u-7',
    });
  });

  it('a chat a Kommo user started ("write first") is known by Kommo\'s id alone until its ids arrive', async () => {
    // Act
    await hookProcessed(typingHook(bridge, { conversationId: KOMMO_CHAT, clientId: null }));
    const writeFirst = (await chatForWidget()).body;
    await hookProcessed(messageHookAbout(KOMMO_CHAT, { conversationId: null, clientId: 'u-7' }));
    const withClient = (await chatForWidget()).body;
    await hookProcessed(typingHook(bridge, { conversationId: KOMMO_CHAT, clientId: 'c-1' }));

    // Assess
    expect(writeFirst).toEqual({
      kommo_conversation_id: KOMMO_CHAT,
      conversation_id: null,
      client_id: null,
      client_presence: null,
    });
    expect(withClient).toMatchObject({ conversation_id: null, client_id: 'u-7' });
    expect((await chatForWidget()).body).toMatchObject({ conversation_id: 'c-1', client_id: 'u-7' });
    expect(await directoryItems()).toHaveLength(1);
  });

  it('a hook that contradicts the directory changes nothing in it, is counted, and its typing event still goes out', async () => {
    // Prepare
    await hookProcessed(typingHook(bridge, { conversationId: KOMMO_CHAT, clientId: 'c-1' }));
    const before = await directoryItem();

    // Act
    await hookProcessed(
      typingHook(bridge, { conversationId: KOMMO_CHAT, clientId: 'c-other', userId: 'another-kommo-user' }),
    );

    // Assess
    expect(await directoryItem()).toEqual(before);
    expect(bridge.metrics.get('ConversationConflict')).toBe(1);
    expect(bridge.sink.eventsOfType('typing.started').map((event) => event.data.conversation_id)).toEqual([
      'c-1',
      'c-other',
    ]);
  });

  it('the same hook again costs no write: the entry is renewed at most once a day', async () => {
    // Prepare
    await hookProcessed(typingHook(bridge, { conversationId: KOMMO_CHAT }));

    // Act
    bridge.clock.advanceBy(DAY_MS - 1000);
    await hookProcessed(typingHook(bridge, { conversationId: KOMMO_CHAT }));
    const withinADay = await directoryItem();
    bridge.clock.advanceBy(2000);
    await hookProcessed(typingHook(bridge, { conversationId: KOMMO_CHAT }));

    // Assess
    expect(withinADay).toMatchObject({ lastSeenAtMs: TEST_START, expiresAt: (TEST_START + 90 * DAY_MS) / 1000 });
    expect(await directoryItem()).toMatchObject({
      lastSeenAtMs: TEST_START + DAY_MS + 1000,
      expiresAt: (TEST_START + DAY_MS + 1000 + 90 * DAY_MS) / 1000,
    });
  });

  it('a chat not seen for 90 days is forgotten, and the next hook about it starts afresh', async () => {
    // Prepare
    await hookProcessed(messageHookAbout(KOMMO_CHAT, { conversationId: 'c-1', clientId: 'u-7' }));

    // Act
    bridge.clock.advanceBy(90 * DAY_MS - 1000);
    const justBefore = await chatForWidget();
    bridge.clock.advanceBy(1000);
    const after = await chatForWidget();
    await hookProcessed(typingHook(bridge, { conversationId: KOMMO_CHAT, clientId: 'c-2' }));

    // Assess
    expect(justBefore.status).toBe(200);
    expectContractError(after, 404, 'unknown_conversation');
    expect((await chatForWidget()).body).toMatchObject({ conversation_id: 'c-2', client_id: null });
  });

  it('hooks about no chat (reactions) teach nothing', async () => {
    await hookProcessed({ account_id: bridge.accountId, action: { reaction: { type: 'react', emoji: '+1' } } });

    expect(await directoryItems()).toEqual([]);
  });

  it.each([
    ['an over-long conversation.client_id', { client_id: 'c'.repeat(129) }],
    ['a conversation.client_id that is ".."', { client_id: '..' }],
    ['an empty conversation.client_id', { client_id: '' }],
  ])('%s in a message hook is not stored; the chat and its client are', async (_, conversation) => {
    // Prepare
    const hook = messageHookAbout(KOMMO_CHAT);
    const odd = { ...hook, message: { ...hook.message, conversation: { id: KOMMO_CHAT, ...conversation } } };

    // Act
    await hookProcessed(odd);

    // Assess
    expect((await chatForWidget()).body).toMatchObject({ conversation_id: null, client_id: 'u-7' });
  });

  it('a failed directory write does not fail the hook: its typing event goes out, the failure is logged and counted', async () => {
    // Prepare: the hook as the intake queues it, and a directory that cannot be written.
    const hook = typingHook(bridge, { conversationId: KOMMO_CHAT });
    const rawBody = Buffer.from(JSON.stringify(hook));
    const job = {
      scopeId: bridge.scopeId,
      accountId: bridge.accountId,
      receivedAtMs: TEST_START,
      signature: signKommoHook(rawBody, bridge.secrets.channelSecret),
      rawBody: rawBody.toString('base64'),
      attempt: 1,
    };
    const unwritable = {
      ...bridge.deps,
      conversations: {
        ...bridge.deps.conversations,
        learn: () => Promise.reject(new Error('ProvisionedThroughputExceededException')),
      },
    };

    // Act
    const outcome = await processKommoHook(unwritable, job);
    await bridge.advance(0);

    // Assess
    expect(outcome).toBe('typing');
    expect(bridge.sink.eventsOfType('typing.started')).toHaveLength(1);
    expect(bridge.metrics.get('ConversationLearnFailed')).toBe(1);
    expect(
      bridge.log.lines.filter((line) => line.level === 'warn').map((line) => line.attributes?.kommoConversationId),
    ).toEqual([KOMMO_CHAT]);
    expect(await directoryItems()).toEqual([]);
  });
});

describe('PUT /chat/{scope_id}/conversations/{conversation_id}', () => {
  it("registers a chat before any hook: 200, and the widget finds it by Kommo's id", async () => {
    // Act
    const response = await register('c-1', { kommo_conversation_id: KOMMO_CHAT, client_id: 'u-7' });

    // Assess
    expect(response).toMatchObject({ status: 200, body: { ok: true } });
    expect((await chatForWidget()).body).toEqual({
      kommo_conversation_id: KOMMO_CHAT,
      conversation_id: 'c-1',
      client_id: 'u-7',
      client_presence: { online: false, last_seen_at: null, expires_at: null },
    });
  });

  it("fills in a chat a Kommo user started, which hooks knew only by Kommo's id", async () => {
    // Prepare
    await hookProcessed(typingHook(bridge, { conversationId: KOMMO_CHAT, clientId: null }));

    // Act
    const response = await register('c-1', { kommo_conversation_id: KOMMO_CHAT, client_id: 'u-7' });

    // Assess
    expect(response.status).toBe(200);
    expect((await chatForWidget()).body).toMatchObject({ conversation_id: 'c-1', client_id: 'u-7' });
  });

  it('the same registration again (a new webhook-id) is 200 and changes nothing', async () => {
    // Prepare
    await register('c-1', { kommo_conversation_id: KOMMO_CHAT, client_id: 'u-7' });
    const before = await directoryItem();
    bridge.clock.advanceBy(60_000);

    // Act
    const again = await register('c-1', { kommo_conversation_id: KOMMO_CHAT, client_id: 'u-7' });

    // Assess
    expect(again).toMatchObject({ status: 200, body: { ok: true } });
    expect(await directoryItem()).toEqual(before);
  });

  it.each([
    ['another conversation_id', 'c-2', 'u-7', 'conversation_mapped_elsewhere'],
    ['another client_id', 'c-1', 'u-8', 'client_mismatch'],
  ])('a Kommo chat already known with %s is 409, and nothing changes', async (_, conversationId, clientId, code) => {
    // Prepare
    await register('c-1', { kommo_conversation_id: KOMMO_CHAT, client_id: 'u-7' });
    const before = await directoryItem();

    // Act
    const response = await register(conversationId, { kommo_conversation_id: KOMMO_CHAT, client_id: clientId });

    // Assess
    expectContractError(response, 409, code);
    expect(await directoryItem()).toEqual(before);
  });

  it('a registration that contradicts what hooks taught is 409', async () => {
    await hookProcessed(typingHook(bridge, { conversationId: KOMMO_CHAT, clientId: 'c-1' }));

    const response = await register('c-2', { kommo_conversation_id: KOMMO_CHAT, client_id: 'u-7' });

    expectContractError(response, 409, 'conversation_mapped_elsewhere');
    expect((await chatForWidget()).body).toMatchObject({ conversation_id: 'c-1', client_id: null });
  });

  it('10 concurrent registrations of one Kommo chat to different conversations: one wins, the others are 409', async () => {
    const responses = await Promise.all(
      Array.from({ length: 10 }, (_, index) =>
        register(`c-${index}`, { kommo_conversation_id: KOMMO_CHAT, client_id: 'u-7' }),
      ),
    );

    const winners = responses.flatMap((response, index) => (response.status === 200 ? [`c-${index}`] : []));
    expect(winners).toHaveLength(1);
    for (const refused of responses.filter((response) => response.status !== 200))
      expectContractError(refused, 409, 'conversation_mapped_elsewhere');
    expect((await chatForWidget()).body.conversation_id).toBe(winners[0]);
  });

  it('a repeated webhook-id gets the first answer again; the same id with another body is 409 webhook_id_used and changes nothing', async () => {
    // Prepare
    const first = await register(
      'c-1',
      { kommo_conversation_id: KOMMO_CHAT, client_id: 'u-7' },
      { webhookId: 'msg_register' },
    );

    // Act
    const replayed = await register(
      'c-1',
      { kommo_conversation_id: KOMMO_CHAT, client_id: 'u-7' },
      { webhookId: 'msg_register' },
    );
    const reused = await register(
      'c-2',
      { kommo_conversation_id: 'another-kommo-chat', client_id: 'u-9' },
      { webhookId: 'msg_register' },
    );

    // Assess
    expect(first).toMatchObject({ status: 200, body: { ok: true } });
    expect(replayed).toMatchObject({ status: 200, body: { ok: true }, headers: { 'webhook-replayed': 'true' } });
    expectContractError(reused, 409, 'webhook_id_used');
    expect((await directoryItems()).map((item) => item.kommoConversationId)).toEqual([KOMMO_CHAT]);
  });

  it('a refused registration repeated with its webhook-id gets the same 409 again', async () => {
    await register('c-1', { kommo_conversation_id: KOMMO_CHAT, client_id: 'u-7' });
    const first = await register(
      'c-2',
      { kommo_conversation_id: KOMMO_CHAT, client_id: 'u-7' },
      { webhookId: 'msg_conflict' },
    );

    const replayed = await register(
      'c-2',
      { kommo_conversation_id: KOMMO_CHAT, client_id: 'u-7' },
      { webhookId: 'msg_conflict' },
    );

    expectContractError(first, 409, 'conversation_mapped_elsewhere');
    expect(replayed).toMatchObject({ status: 409, body: first.body, headers: { 'webhook-replayed': 'true' } });
  });

  it.each([
    ['no kommo_conversation_id', { client_id: 'u-7' }, 'kommo_conversation_id'],
    ['no client_id', { kommo_conversation_id: KOMMO_CHAT }, 'client_id'],
    ['an empty kommo_conversation_id', { kommo_conversation_id: '', client_id: 'u-7' }, 'kommo_conversation_id'],
    [
      'a kommo_conversation_id over 128 characters',
      { kommo_conversation_id: 'k'.repeat(129), client_id: 'u-7' },
      'kommo_conversation_id',
    ],
    ['a client_id that is a number', { kommo_conversation_id: KOMMO_CHAT, client_id: 7 }, 'client_id'],
    ['a client_id that is ".."', { kommo_conversation_id: KOMMO_CHAT, client_id: '..' }, 'client_id'],
    [
      'a lone surrogate in kommo_conversation_id',
      { kommo_conversation_id: 'k-\ud800', client_id: 'u-7' },
      'kommo_conversation_id',
    ],
    [
      'an unknown field',
      { kommo_conversation_id: KOMMO_CHAT, client_id: 'u-7', conversation_id: 'c-1' },
      'conversation_id',
    ],
    ['an array', [{ kommo_conversation_id: KOMMO_CHAT, client_id: 'u-7' }], 'object'],
  ])('refuses %s with a 400 naming it, storing nothing', async (_, body, named) => {
    const response = await register('c-1', body);

    expectContractError(response, 400, 'invalid_field');
    expect(response.body.error.message).toContain(named);
    expect(await directoryItems()).toEqual([]);
  });

  it.each([
    ['over 128 characters', 'c'.repeat(129)],
    ['"."', '.'],
    ['".." (percent-encoded)', '%2E%2E'],
  ])('refuses a path conversation_id %s with a 400 naming it', async (_, segment) => {
    const response = await bridge.chat('PUT', `/chat/${bridge.scopeId}/conversations/${segment}`, {
      kommo_conversation_id: KOMMO_CHAT,
      client_id: 'u-7',
    });

    expectContractError(response, 400, 'invalid_field');
    expect(response.body.error.message).toContain('conversation_id');
    expect(await directoryItems()).toEqual([]);
  });

  it('refuses not JSON with 400 invalid_json', async () => {
    const response = await bridge.chat('PUT', `/chat/${bridge.scopeId}/conversations/c-1`, undefined, {
      rawBody: '{"kommo_conversation_id":',
    });

    expectContractError(response, 400, 'invalid_json');
  });

  it('answers 404 for a scope of another channel, 401 without a valid signature, 405 for another method', async () => {
    const foreign = await bridge.chat('PUT', `/chat/other-channel_${bridge.accountId}/conversations/c-1`, {
      kommo_conversation_id: KOMMO_CHAT,
      client_id: 'u-7',
    });
    const unsigned = await bridge.send(
      'PUT',
      `/chat/${bridge.scopeId}/conversations/c-1`,
      { 'content-type': 'application/json' },
      Buffer.from(JSON.stringify({ kommo_conversation_id: KOMMO_CHAT, client_id: 'u-7' })),
    );
    const post = await bridge.chat('POST', `/chat/${bridge.scopeId}/conversations/c-1`, {
      kommo_conversation_id: KOMMO_CHAT,
      client_id: 'u-7',
    });

    expectContractError(foreign, 404, 'unknown_scope');
    expectContractError(unsigned, 401);
    expectContractError(post, 405, 'method_not_allowed');
    expect(post.body.error.message).toContain('PUT');
    expect(await directoryItems()).toEqual([]);
  });

  it('takes the conversation id from the path, percent-decoded', async () => {
    await bridge.chat('PUT', `/chat/${bridge.scopeId}/conversations/${encodeURIComponent('chat/with space#1')}`, {
      kommo_conversation_id: KOMMO_CHAT,
      client_id: 'u-7',
    });

    expect((await chatForWidget()).body.conversation_id).toBe('chat/with space#1');
  });
});
