import { describe, expect, it } from 'vitest';
import { partitionKey } from '../../functions/core/adapters/dynamodb/table';
import {
  DynamoClientTypingStore,
  DynamoKommoUserTypingStore,
} from '../../functions/core/adapters/dynamodb/typing-store';
import type { ClientTypingKey, KommoUserTyping } from '../../functions/core/ports/typing-store';
import {
  aKommoUserTyping,
  aTypingClient,
  clientTypingStoreContract,
  kommoUserTypingStoreContract,
  typingWindow,
} from '../support/contracts/typing-store-contract';
import { TEST_START } from '../support/manual-clock';
import { storeTable } from '../support/store-table';

const { table, item } = storeTable('typing');
const clientTyping = new DynamoClientTypingStore(table);
const kommoUserTyping = new DynamoKommoUserTypingStore(table);

const HOUR_MS = 60 * 60 * 1000;
const seconds = (ms: number) => Math.floor(ms / 1000);
const clientItem = (key: ClientTypingKey) =>
  item(partitionKey('clientTyping', key.scopeId, key.conversationId, key.senderId), 'CLIENT');
const kommoUserItem = (typing: KommoUserTyping) =>
  item(partitionKey('kommoUserTyping', typing.scopeId, typing.kommoConversationId, typing.userId), 'MANAGER');

describe("client typing (the port's contract)", () => clientTypingStoreContract(clientTyping));

describe('client typing items', () => {
  it('hold the window and its claimant, kept an hour past typing (the TTL attribute)', async () => {
    // Prepare
    const key = aTypingClient();

    // Act
    await clientTyping.start(key, typingWindow(TEST_START), 'attempt-1');

    // Assess
    expect(await clientItem(key)).toMatchObject({
      activeUntilMs: TEST_START + 6_000,
      nextCallAtMs: TEST_START + 4_000,
      claimedBy: 'attempt-1',
      expiresAt: seconds(TEST_START + 6_000 + HOUR_MS),
    });
  });

  it('move only how long typing lasts (and its TTL) for a start inside a claimed window', async () => {
    // Prepare
    const key = aTypingClient();
    await clientTyping.start(key, typingWindow(TEST_START, 10_000), 'attempt-1');

    // Act
    await clientTyping.start(key, typingWindow(TEST_START + 1_000, 2_000), 'attempt-2');
    const afterShorter = await clientItem(key);
    await clientTyping.start(key, typingWindow(TEST_START + 2_000, 20_000), 'attempt-3');

    // Assess
    expect(afterShorter).toMatchObject({ activeUntilMs: TEST_START + 10_000, claimedBy: 'attempt-1' });
    expect(await clientItem(key)).toMatchObject({
      activeUntilMs: TEST_START + 22_000,
      nextCallAtMs: TEST_START + 4_000,
      claimedBy: 'attempt-1',
      expiresAt: seconds(TEST_START + 22_000 + HOUR_MS),
    });
  });

  it('are not written by a stop of a client who never typed', async () => {
    // Prepare
    const nobody = aTypingClient();

    // Act
    await clientTyping.stop(nobody, TEST_START);

    // Assess
    expect(await clientItem(nobody)).toBeUndefined();
  });
});

describe("Kommo user typing (the port's contract)", () => kommoUserTypingStoreContract(kommoUserTyping));

describe('Kommo user typing items', () => {
  it('are kept an hour past the deadline (the TTL attribute)', async () => {
    // Prepare
    const typing = aKommoUserTyping(TEST_START + 5_000);

    // Act
    await kommoUserTyping.renew(typing, TEST_START);

    // Assess
    expect((await kommoUserItem(typing))?.expiresAt).toBe(seconds(TEST_START + 5_000 + HOUR_MS));
  });

  it('are left exactly as they were by an older hook, and by a stop claim for a moved deadline', async () => {
    // Prepare
    const typing = aKommoUserTyping(TEST_START + 8_000);
    await kommoUserTyping.renew(typing, TEST_START);
    const before = await kommoUserItem(typing);

    // Act
    await kommoUserTyping.renew(
      { ...typing, deadlineMs: TEST_START + 5_000, accountId: 'another' },
      TEST_START + 1_000,
    );
    await kommoUserTyping.claimStop(typing, TEST_START + 5_000);

    // Assess
    expect(await kommoUserItem(typing)).toEqual(before);
  });
});
