import { describe, expect, it } from 'vitest';
import { DynamoReplayStore, IN_PROGRESS_CLAIM_SECONDS } from '../../functions/core/adapters/dynamodb/replay-store';
import { partitionKey } from '../../functions/core/adapters/dynamodb/table';
import type { WebhookRequest } from '../../functions/core/ports/replay-store';
import {
  aWebhookRequest,
  okAnswer,
  REPLAY_TTL_SECONDS,
  replayStoreContract,
} from '../support/contracts/replay-store-contract';
import { TEST_START } from '../support/manual-clock';
import { storeTable } from '../support/store-table';

/**
 * The replay store alone. How the chat-service authentication uses it per route (claimed or
 * idempotent, as the manifest says) is test/integration/replay-protection.test.ts.
 */
const { table, item } = storeTable('replays');
const store = new DynamoReplayStore(table);
const startSeconds = TEST_START / 1000;
const replayItem = (request: WebhookRequest) => item(partitionKey('replay', request.webhookId), 'REQUEST');

describe("webhook-id claims (the port's contract)", () => replayStoreContract(store));

describe('webhook-id items', () => {
  it('bind the id to its request, the claim lapsing on its own and the id kept for the TTL (the TTL attribute)', async () => {
    // Prepare
    const request = aWebhookRequest();

    // Act
    await store.claim(request, TEST_START, REPLAY_TTL_SECONDS);

    // Assess
    expect(await replayItem(request)).toMatchObject({
      fingerprint: 'fingerprint-a',
      state: 'in_progress',
      leaseUntil: startSeconds + IN_PROGRESS_CLAIM_SECONDS,
      expiresAt: startSeconds + REPLAY_TTL_SECONDS,
    });
  });

  it('keep the answer for the TTL counted from the answer, with no claim left', async () => {
    // Prepare
    const request = aWebhookRequest();
    await store.claim(request, TEST_START, REPLAY_TTL_SECONDS);

    // Act
    await store.answer(request, okAnswer, TEST_START + 2_000, REPLAY_TTL_SECONDS);

    // Assess
    const stored = await replayItem(request);
    expect(stored).toMatchObject({
      state: 'answered',
      statusCode: 200,
      body: okAnswer.body,
      expiresAt: startSeconds + 2 + REPLAY_TTL_SECONDS,
    });
    expect(stored?.leaseUntil).toBeUndefined();
  });

  it("are left exactly as they were by another request's claim, answer and release", async () => {
    // Prepare
    const request = aWebhookRequest();
    const other = { ...request, fingerprint: 'fingerprint-b' };
    await store.claim(request, TEST_START, REPLAY_TTL_SECONDS);
    const before = await replayItem(request);

    // Act
    await store.claim(other, TEST_START + 1_000, REPLAY_TTL_SECONDS);
    await store.answer(other, okAnswer, TEST_START + 1_000, REPLAY_TTL_SECONDS);
    await store.release(other);

    // Assess
    expect(await replayItem(request)).toEqual(before);
  });
});
