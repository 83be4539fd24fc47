import { randomUUID } from 'node:crypto';
import { expect, it } from 'vitest';
import { IN_PROGRESS_CLAIM_SECONDS } from '../../../functions/core/adapters/dynamodb/replay-store';
import type { ReplayStore, WebhookRequest } from '../../../functions/core/ports/replay-store';
import { TEST_START } from '../manual-clock';

/**
 * What every ReplayStore must do, seen only through the port: run against the DynamoDB adapter
 * (test/integration) and the in-memory fake (test/unit/fakes). Each test uses its own webhook-id.
 */

export const REPLAY_TTL_SECONDS = 900;
export const okAnswer = { statusCode: 200, body: '{"applied":true}' };
export const aWebhookRequest = (): WebhookRequest => ({
  webhookId: `msg_${randomUUID()}`,
  fingerprint: 'fingerprint-a',
});

export function replayStoreContract(store: ReplayStore): void {
  it('claims a new id; a repeat of the request while it runs finds it in progress', async () => {
    // Prepare
    const request = aWebhookRequest();

    // Act
    const claims = [
      await store.claim(request, TEST_START, REPLAY_TTL_SECONDS),
      await store.claim(request, TEST_START + 1_000, REPLAY_TTL_SECONDS),
    ];

    // Assess
    expect(claims).toEqual([{ state: 'new' }, { state: 'in_progress' }]);
  });

  it('lets exactly one of 20 concurrent copies of a request claim the id', async () => {
    // Prepare
    const request = aWebhookRequest();

    // Act
    const claims = await Promise.all(
      Array.from({ length: 20 }, () => store.claim(request, TEST_START, REPLAY_TTL_SECONDS)),
    );

    // Assess
    expect(claims.filter((claim) => claim.state === 'new')).toHaveLength(1);
    expect(claims.filter((claim) => claim.state === 'in_progress')).toHaveLength(19);
  });

  it('refuses the id to another request, before and after the first is answered', async () => {
    // Prepare
    const request = aWebhookRequest();
    const other = { ...request, fingerprint: 'fingerprint-b' };
    await store.claim(request, TEST_START, REPLAY_TTL_SECONDS);

    // Act
    const whileRunning = await store.claim(other, TEST_START + 1_000, REPLAY_TTL_SECONDS);
    await store.answer(request, okAnswer, TEST_START + 2_000, REPLAY_TTL_SECONDS);
    const afterAnswer = await store.claim(other, TEST_START + 3_000, REPLAY_TTL_SECONDS);

    // Assess
    expect([whileRunning, afterAnswer]).toEqual([{ state: 'used_elsewhere' }, { state: 'used_elsewhere' }]);
  });

  it('gives the first answer to repeats of the request, and records no answer for another request', async () => {
    // Prepare
    const request = aWebhookRequest();
    await store.claim(request, TEST_START, REPLAY_TTL_SECONDS);

    // Act
    await store.answer(
      { ...request, fingerprint: 'fingerprint-b' },
      { statusCode: 400, body: '{}' },
      TEST_START + 1_000,
      REPLAY_TTL_SECONDS,
    );
    await store.answer(request, okAnswer, TEST_START + 2_000, REPLAY_TTL_SECONDS);
    const repeat = await store.claim(request, TEST_START + 3_000, REPLAY_TTL_SECONDS);

    // Assess
    expect(repeat).toEqual({ state: 'answered', answer: okAnswer });
  });

  it('lets the same request take back a released claim (a 5xx), but never another request', async () => {
    // Prepare
    const request = aWebhookRequest();
    await store.claim(request, TEST_START, REPLAY_TTL_SECONDS);
    await store.release(request);

    // Act
    const other = await store.claim(
      { ...request, fingerprint: 'fingerprint-b' },
      TEST_START + 1_000,
      REPLAY_TTL_SECONDS,
    );
    const retry = await store.claim(request, TEST_START + 1_000, REPLAY_TTL_SECONDS);

    // Assess
    expect([other, retry]).toEqual([{ state: 'used_elsewhere' }, { state: 'new' }]);
  });

  it('does not release an answered claim', async () => {
    // Prepare
    const request = aWebhookRequest();
    await store.claim(request, TEST_START, REPLAY_TTL_SECONDS);
    await store.answer(request, okAnswer, TEST_START, REPLAY_TTL_SECONDS);

    // Act
    await store.release(request);

    // Assess
    expect(await store.claim(request, TEST_START + 1_000, REPLAY_TTL_SECONDS)).toEqual({
      state: 'answered',
      answer: okAnswer,
    });
  });

  it('lets the same request take back a claim whose holder died, once the claim has lapsed', async () => {
    // Prepare
    const request = aWebhookRequest();
    await store.claim(request, TEST_START, REPLAY_TTL_SECONDS);

    // Act
    const before = await store.claim(
      request,
      TEST_START + IN_PROGRESS_CLAIM_SECONDS * 1000 - 1_000,
      REPLAY_TTL_SECONDS,
    );
    const after = await store.claim(request, TEST_START + IN_PROGRESS_CLAIM_SECONDS * 1000, REPLAY_TTL_SECONDS);

    // Assess
    expect([before, after]).toEqual([{ state: 'in_progress' }, { state: 'new' }]);
  });

  it('frees the id for any request once its record has expired, even before TTL deletes it', async () => {
    // Prepare
    const request = aWebhookRequest();
    await store.claim(request, TEST_START, REPLAY_TTL_SECONDS);
    await store.answer(request, okAnswer, TEST_START, REPLAY_TTL_SECONDS);

    // Act
    const other = await store.claim(
      { ...request, fingerprint: 'fingerprint-b' },
      TEST_START + REPLAY_TTL_SECONDS * 1000,
      REPLAY_TTL_SECONDS,
    );
    const first = await store.claim(request, TEST_START + REPLAY_TTL_SECONDS * 1000, REPLAY_TTL_SECONDS);

    // Assess
    expect([other, first]).toEqual([{ state: 'new' }, { state: 'used_elsewhere' }]);
  });
}
