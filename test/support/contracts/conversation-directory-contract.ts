import { randomUUID } from 'node:crypto';
import { expect, it } from 'vitest';
import {
  CONVERSATION_RENEWAL_MS,
  CONVERSATION_RETENTION_MS,
} from '../../../functions/core/domain/conversation-directory';
import type { Clock } from '../../../functions/core/ports/clock';
import type { ConversationDirectory, ConversationEntry } from '../../../functions/core/ports/conversation-directory';
import { ManualClock, TEST_START } from '../manual-clock';

/**
 * What every ConversationDirectory must do, seen only through the port: run against the DynamoDB
 * adapter (test/integration) and the in-memory fake (test/unit/fakes). Each test learns its own chat.
 */

const scopeId = 'c0ffee00-0000-4000-8000-000000000001_52e591f7-c98f-4255-8495-827210138c81';

/** A directory on a clock of its own (reads decide expiry on it), and a Kommo chat no other test uses. */
export function givenDirectoryOn(make: (clock: Clock) => ConversationDirectory) {
  const clock = new ManualClock(TEST_START);
  return { clock, directory: make(clock), chat: { scopeId, kommoConversationId: `kommo-chat-${randomUUID()}` } };
}

export function conversationDirectoryContract(make: (clock: Clock) => ConversationDirectory): void {
  it('stores the first lesson about a chat and reads it back', async () => {
    // Prepare
    const { directory, chat } = givenDirectoryOn(make);

    // Act
    const outcome = await directory.learn({ ...chat, conversationId: 'conv-1' }, TEST_START);

    // Assess
    expect(outcome).toBe('stored');
    expect(await directory.byKommoConversation(chat.scopeId, chat.kommoConversationId)).toEqual({
      ...chat,
      conversationId: 'conv-1',
    });
  });

  it('answers a repeat as unchanged, before and after the renewal period', async () => {
    // Prepare
    const { directory, chat } = givenDirectoryOn(make);
    await directory.learn({ ...chat, conversationId: 'conv-1' }, TEST_START);

    // Act
    const outcomes = [
      await directory.learn({ ...chat, conversationId: 'conv-1' }, TEST_START + 1_000),
      await directory.learn({ ...chat, conversationId: 'conv-1' }, TEST_START + CONVERSATION_RENEWAL_MS),
    ];

    // Assess
    expect(outcomes).toEqual(['unchanged', 'unchanged']);
  });

  it('fills in an id it lacked', async () => {
    // Prepare
    const { directory, chat } = givenDirectoryOn(make);
    await directory.learn({ ...chat, conversationId: 'conv-1' }, TEST_START);

    // Act
    const outcome = await directory.learn({ ...chat, clientId: 'client-1' }, TEST_START + 1_000);

    // Assess
    expect(outcome).toBe('stored');
    expect(await directory.byKommoConversation(chat.scopeId, chat.kommoConversationId)).toEqual({
      ...chat,
      conversationId: 'conv-1',
      clientId: 'client-1',
    });
  });

  it.each([
    ['another conversation id', { conversationId: 'conv-2' }],
    ['another client id', { conversationId: 'conv-1', clientId: 'client-2' }],
    ['another client id alone', { clientId: 'client-2' }],
  ])('refuses %s as a conflict and keeps what it knew', async (_, taught: Partial<ConversationEntry>) => {
    // Prepare
    const { directory, chat } = givenDirectoryOn(make);
    await directory.learn({ ...chat, conversationId: 'conv-1', clientId: 'client-1' }, TEST_START);

    // Act
    const outcome = await directory.learn({ ...chat, ...taught }, TEST_START + CONVERSATION_RENEWAL_MS + 1);

    // Assess
    expect(outcome).toBe('conflict');
    expect(await directory.byKommoConversation(chat.scopeId, chat.kommoConversationId)).toEqual({
      ...chat,
      conversationId: 'conv-1',
      clientId: 'client-1',
    });
  });

  it('lets exactly one of 10 concurrent lessons with different ids in; the others are conflicts', async () => {
    // Prepare
    const { directory, chat } = givenDirectoryOn(make);

    // Act
    const outcomes = await Promise.all(
      Array.from({ length: 10 }, (_, i) => directory.learn({ ...chat, conversationId: `conv-${i}` }, TEST_START)),
    );

    // Assess
    expect(outcomes.filter((outcome) => outcome === 'stored')).toHaveLength(1);
    expect(outcomes.filter((outcome) => outcome === 'conflict')).toHaveLength(9);
    expect((await directory.byKommoConversation(chat.scopeId, chat.kommoConversationId))?.conversationId).toBe(
      `conv-${outcomes.indexOf('stored')}`,
    );
  });

  it('treats an entry past its retention as absent, and replaces it whole with the next lesson', async () => {
    // Prepare
    const { clock, directory, chat } = givenDirectoryOn(make);
    await directory.learn({ ...chat, conversationId: 'conv-1', clientId: 'client-1' }, TEST_START);
    clock.set(TEST_START + CONVERSATION_RETENTION_MS);

    // Act
    const read = await directory.byKommoConversation(chat.scopeId, chat.kommoConversationId);
    const outcome = await directory.learn({ ...chat, conversationId: 'conv-2' }, clock.now());

    // Assess
    expect(read).toBeUndefined();
    expect(outcome).toBe('stored');
    expect(await directory.byKommoConversation(chat.scopeId, chat.kommoConversationId)).toEqual({
      ...chat,
      conversationId: 'conv-2',
    });
  });

  it("keeps a renewed entry past the first lesson's retention", async () => {
    // Prepare
    const { clock, directory, chat } = givenDirectoryOn(make);
    await directory.learn({ ...chat, conversationId: 'conv-1' }, TEST_START);
    await directory.learn({ ...chat, conversationId: 'conv-1' }, TEST_START + CONVERSATION_RENEWAL_MS);

    // Act
    clock.set(TEST_START + CONVERSATION_RETENTION_MS);
    const read = await directory.byKommoConversation(chat.scopeId, chat.kommoConversationId);

    // Assess
    expect(read).toEqual({ ...chat, conversationId: 'conv-1' });
  });

  it('keeps chats apart, ids with # apart from their look-alikes', async () => {
    // Prepare
    const { directory, chat } = givenDirectoryOn(make);
    await directory.learn(
      { ...chat, kommoConversationId: `${chat.kommoConversationId}#x`, conversationId: 'conv-1' },
      TEST_START,
    );

    // Act
    const lookAlike = await directory.byKommoConversation(chat.scopeId, `${chat.kommoConversationId}%23x`);

    // Assess
    expect(lookAlike).toBeUndefined();
  });
}
