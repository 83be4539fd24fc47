import { describe, expect, it } from 'vitest';
import { DynamoConversationDirectory } from '../../functions/core/adapters/dynamodb/conversation-directory';
import { partitionKey } from '../../functions/core/adapters/dynamodb/table';
import { CONVERSATION_RENEWAL_MS, CONVERSATION_RETENTION_MS } from '../../functions/core/domain/conversation-directory';
import type { Clock } from '../../functions/core/ports/clock';
import { conversationDirectoryContract, givenDirectoryOn } from '../support/contracts/conversation-directory-contract';
import { TEST_START } from '../support/manual-clock';
import { storeTable } from '../support/store-table';

const { table, item } = storeTable('conversations');
const seconds = (ms: number) => Math.floor(ms / 1000);
const dynamoDirectory = (clock: Clock) => new DynamoConversationDirectory(table, clock);
const entryItem = (chat: { scopeId: string; kommoConversationId: string }) =>
  item(partitionKey('conversation', chat.scopeId, chat.kommoConversationId), 'ENTRY');

describe("the conversation directory (the port's contract)", () => conversationDirectoryContract(dynamoDirectory));

describe('conversation directory items', () => {
  it('are kept for the retention after the chat was last seen (the TTL attribute)', async () => {
    // Prepare
    const { directory, chat } = givenDirectoryOn(dynamoDirectory);

    // Act
    await directory.learn({ ...chat, conversationId: 'conv-1' }, TEST_START);

    // Assess
    expect(await entryItem(chat)).toMatchObject({
      firstSeenAtMs: TEST_START,
      lastSeenAtMs: TEST_START,
      expiresAt: seconds(TEST_START + CONVERSATION_RETENTION_MS),
    });
  });

  it('are not written for a repeat within the renewal period, and renewed once it has passed', async () => {
    // Prepare
    const { directory, chat } = givenDirectoryOn(dynamoDirectory);
    await directory.learn({ ...chat, conversationId: 'conv-1' }, TEST_START);
    const before = await entryItem(chat);
    const later = TEST_START + CONVERSATION_RENEWAL_MS;

    // Act
    await directory.learn({ ...chat, conversationId: 'conv-1' }, later - 1);
    const afterRepeat = await entryItem(chat);
    await directory.learn({ ...chat, conversationId: 'conv-1' }, later);

    // Assess
    expect(afterRepeat).toEqual(before);
    expect(await entryItem(chat)).toMatchObject({
      firstSeenAtMs: TEST_START,
      lastSeenAtMs: later,
      expiresAt: seconds(later + CONVERSATION_RETENTION_MS),
    });
  });

  it('are left exactly as they were by a lesson that contradicts them', async () => {
    // Prepare
    const { directory, chat } = givenDirectoryOn(dynamoDirectory);
    await directory.learn({ ...chat, conversationId: 'conv-1', clientId: 'client-1' }, TEST_START);
    const before = await entryItem(chat);

    // Act
    await directory.learn({ ...chat, conversationId: 'conv-2' }, TEST_START + CONVERSATION_RENEWAL_MS + 1);
    await directory.learn({ ...chat, clientId: 'client-2' }, TEST_START + CONVERSATION_RENEWAL_MS + 1);

    // Assess
    expect(await entryItem(chat)).toEqual(before);
  });
});
