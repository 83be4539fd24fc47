import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { DynamoStatusStore } from '../../functions/core/adapters/dynamodb/status-store';
import { partitionKey } from '../../functions/core/adapters/dynamodb/table';
import { STATUS_RETENTION_MS } from '../../functions/core/domain/delivery-status';
import type { StatusKey } from '../../functions/core/ports/status-store';
import { statusStoreContract } from '../support/contracts/status-store-contract';
import { TEST_START } from '../support/manual-clock';
import { storeTable } from '../support/store-table';

const { table, item } = storeTable('status-store');
const store = new DynamoStatusStore(table);
const scopeId = 'c0ffee00-0000-4000-8000-000000000001_52e591f7-c98f-4255-8495-827210138c81';
const aMessage = (): StatusKey => ({ scopeId, msgid: `msg-${randomUUID()}` });
const recordItem = (key: StatusKey) => item(partitionKey('status', key.scopeId, key.msgid), 'MESSAGE');

describe("delivery-status records (the port's contract)", () => statusStoreContract(store));

describe('delivery-status items', () => {
  it('are kept for the retention after the last update (the TTL attribute)', async () => {
    // Prepare
    const key = aMessage();
    await store.apply(key, { status: 'delivered' }, TEST_START);

    // Act
    await store.apply(key, { status: 'read' }, TEST_START + 5_000);

    // Assess
    expect((await recordItem(key))?.expiresAt).toBe(Math.floor((TEST_START + 5_000 + STATUS_RETENTION_MS) / 1000));
  });

  it('are left exactly as they were by a stale update and by writes of a job that holds no lease', async () => {
    // Prepare
    const key = aMessage();
    await store.apply(key, { status: 'read' }, TEST_START);
    await store.takeLease(key, 'job-1', TEST_START, TEST_START + 60_000);
    const before = await recordItem(key);

    // Act
    await store.apply(key, { status: 'delivered' }, TEST_START + 1_000);
    await store.renewLease(key, 'job-other', TEST_START + 120_000);
    await store.recordFailedAttempt(key, 'job-other', 1, { attempts: 1, lastError: 'x' });
    await store.postpone(key, 'job-other', 1, TEST_START + 5_000);
    await store.settle(key, 'job-other', 1, { outcome: 'acknowledged', attempts: 1 }, { releaseIfLatest: true });
    await store.releaseLease(key, 'job-other');

    // Assess
    expect(await recordItem(key)).toEqual(before);
  });
});
