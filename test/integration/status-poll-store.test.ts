import { describe, expect, it } from 'vitest';
import { DynamoStatusPollStore } from '../../functions/core/adapters/dynamodb/status-poll-store';
import { partitionKey } from '../../functions/core/adapters/dynamodb/table';
import { POLL_RETENTION_MS } from '../../functions/core/domain/status-poll';
import type { StatusKey } from '../../functions/core/ports/status-store';
import { aPoll, aPolledMessage, statusPollStoreContract } from '../support/contracts/status-poll-store-contract';
import { TEST_START } from '../support/manual-clock';
import { storeTable } from '../support/store-table';

const { table, item } = storeTable('status-polls');
const store = new DynamoStatusPollStore(table);
const pollItem = (key: StatusKey) => item(partitionKey('statusPoll', key.scopeId, key.msgid), 'POLL');

describe("status polls (the port's contract)", () => statusPollStoreContract(store));

describe('status poll items', () => {
  it('are kept for the retention after the hook arrived (the TTL attribute)', async () => {
    // Prepare
    const key = aPolledMessage();

    // Act
    await store.start(key, aPoll('timer-1'), TEST_START);

    // Assess
    expect(await pollItem(key)).toMatchObject({
      timerId: 'timer-1',
      pollsMade: 0,
      expiresAt: Math.floor((TEST_START + POLL_RETENTION_MS) / 1000),
    });
  });

  it('are left exactly as they were by a refused start, a stray hand-on and a stray end', async () => {
    // Prepare
    const key = aPolledMessage();
    await store.start(key, aPoll('timer-1'), TEST_START);
    const before = await pollItem(key);

    // Act
    await store.start(key, aPoll('timer-2'), TEST_START + 1_000);
    await store.passTimerOn(key, 'timer-stray', 'timer-3', 4);
    await store.end(key, 'timer-stray', 4, 'window-closed');

    // Assess
    expect(await pollItem(key)).toEqual(before);
  });
});
