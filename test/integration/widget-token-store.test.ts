import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { partitionKey } from '../../functions/core/adapters/dynamodb/table';
import { DynamoWidgetTokenStore } from '../../functions/core/adapters/dynamodb/widget-token-store';
import { TEST_START } from '../support/manual-clock';
import { storeTable } from '../support/store-table';

const { table, item } = storeTable('widget-tokens');
const store = new DynamoWidgetTokenStore(table);

const startSeconds = TEST_START / 1000;
/** Every test uses its own token ids, so tests share one table without seeing each other. */
const aTokenId = () => `jti-${randomUUID()}`;
const usedItem = (tokenId: string) => item(partitionKey('widgetToken', tokenId), 'USED');

describe('widget one-time tokens', () => {
  it('accepts a token once and keeps it until the token itself expires (the TTL attribute)', async () => {
    // Prepare
    const tokenId = aTokenId();

    // Act
    const first = await store.claim(tokenId, startSeconds + 300, TEST_START);

    // Assess
    expect(first).toBe(true);
    expect(await usedItem(tokenId)).toEqual({
      pk: partitionKey('widgetToken', tokenId),
      sk: 'USED',
      expiresAt: startSeconds + 300,
    });
  });

  it("refuses a second use and leaves the first one's item as it was", async () => {
    // Prepare
    const tokenId = aTokenId();
    await store.claim(tokenId, startSeconds + 300, TEST_START);

    // Act
    const second = await store.claim(tokenId, startSeconds + 900, TEST_START + 1_000);

    // Assess
    expect(second).toBe(false);
    expect((await usedItem(tokenId))?.expiresAt).toBe(startSeconds + 300);
  });

  it('accepts exactly one of 20 concurrent uses', async () => {
    // Prepare
    const tokenId = aTokenId();

    // Act
    const outcomes = await Promise.all(
      Array.from({ length: 20 }, () => store.claim(tokenId, startSeconds + 300, TEST_START)),
    );

    // Assess
    expect(outcomes.filter(Boolean)).toHaveLength(1);
  });

  it('does not count an item past its time that TTL has not deleted yet', async () => {
    // Prepare
    const tokenId = aTokenId();
    await store.claim(tokenId, startSeconds + 300, TEST_START);

    // Act
    const atExpiry = await store.claim(tokenId, startSeconds + 600, TEST_START + 300_000);

    // Assess
    expect(atExpiry).toBe(true);
    expect((await usedItem(tokenId))?.expiresAt).toBe(startSeconds + 600);
  });

  it('keeps ids with # and % apart from their look-alikes', async () => {
    // Prepare
    const base = aTokenId();
    await store.claim(`${base}#a`, startSeconds + 300, TEST_START);

    // Act
    const lookAlike = await store.claim(`${base}%23a`, startSeconds + 300, TEST_START);

    // Assess
    expect(lookAlike).toBe(true);
  });
});
