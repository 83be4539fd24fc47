import { describe, expect, it } from 'vitest';
import { BridgeError } from '../../../functions/core/domain/errors';
import {
  readDeliveryStatus,
  syncDeliveryStatus,
  SYNC_LEASE_MS,
  updateDeliveryStatus,
} from '../../../functions/core/use-cases/delivery-status';
import { TEST_START } from '../../support/manual-clock';
import { callFailure, FakeKommoChatApi } from '../../support/fakes/outbound';
import { InMemoryStatusStore } from '../../support/fakes/status-stores';
import { baseDeps, UNIT_SCOPE_ID } from '../../support/fakes/unit-deps';

const key = { scopeId: UNIT_SCOPE_ID, msgid: 'msg-1' };
const job = { ...key, attempt: 1 };

function givenDeliveryStatus(settings: { DELIVERY_MAX_ATTEMPTS?: string } = {}) {
  return {
    ...baseDeps({ KOMMO_TIMEOUT_MS: '3000', ...settings }),
    kommoChatApi: new FakeKommoChatApi(),
    statuses: new InMemoryStatusStore(),
  };
}

const sentToKommo = (deps: ReturnType<typeof givenDeliveryStatus>) =>
  deps.kommoChatApi.deliveryStatuses.map((call) => call.status);

describe('a status report from the chat service', () => {
  it('is applied and queues the sync to Kommo; the answer does not wait for Kommo', async () => {
    // Prepare
    const deps = givenDeliveryStatus();

    // Act
    const outcome = await updateDeliveryStatus(deps, key, { status: 'delivered' });

    // Assess
    expect(outcome).toEqual({ applied: true, status: 'delivered' });
    expect(deps.queues.kommoStatus.sent).toEqual([{ body: job, delaySeconds: 0 }]);
    expect(deps.kommoChatApi.deliveryStatuses).toEqual([]);
  });

  it('changes nothing and queues nothing when it is older than what is recorded', async () => {
    // Prepare
    const deps = givenDeliveryStatus();
    await updateDeliveryStatus(deps, key, { status: 'read' });
    await syncDeliveryStatus(deps, job);

    // Act
    const outcome = await updateDeliveryStatus(deps, key, { status: 'delivered' });

    // Assess
    expect(outcome).toEqual({ applied: false, status: 'read' });
    expect(deps.queues.kommoStatus.sent).toHaveLength(1);
    expect(deps.metrics.get('StatusIgnored')).toBe(1);
  });

  it('answers 503 when its sync cannot be queued, and the repeat of the report queues it', async () => {
    // Prepare
    const deps = givenDeliveryStatus();
    deps.queues.kommoStatus.failNextSends(1);

    // Act
    const failed = await updateDeliveryStatus(deps, key, { status: 'delivered' }).catch((error: unknown) => error);
    const repeat = await updateDeliveryStatus(deps, key, { status: 'delivered' });

    // Assess
    expect(failed).toBeInstanceOf(BridgeError);
    expect(failed).toMatchObject({ kind: 'unavailable', code: 'queue_unavailable' });
    expect(repeat).toEqual({ applied: false, status: 'delivered' });
    expect(deps.queues.kommoStatus.bodies()).toEqual([job]);
  });

  it('is read back as the contract shows it, and an unknown message is 404', async () => {
    // Prepare
    const deps = givenDeliveryStatus();
    await updateDeliveryStatus(deps, key, { status: 'error', errorCode: 905, error: 'Blocked by the recipient' });

    // Act
    const view = await readDeliveryStatus(deps, key);
    const unknown = await readDeliveryStatus(deps, { ...key, msgid: 'msg-unknown' }).catch((error: unknown) => error);

    // Assess
    expect(view).toEqual({
      msgid: 'msg-1',
      status: 'error',
      error_code: 905,
      error: 'Blocked by the recipient',
      updated_at: new Date(TEST_START).toISOString(),
      kommo: { delivered: false, attempts: 0 },
    });
    expect(unknown).toMatchObject({ kind: 'not_found', code: 'unknown_message' });
  });
});

describe('the sync job', () => {
  it('sends every unsettled update in order, each with a deadline the lease outlasts', async () => {
    // Prepare
    const deps = givenDeliveryStatus();
    await updateDeliveryStatus(deps, key, { status: 'delivered' });
    await updateDeliveryStatus(deps, key, { status: 'read' });

    // Act
    const outcome = await syncDeliveryStatus(deps, job);

    // Assess
    expect(outcome).toBe('up-to-date');
    expect(sentToKommo(deps)).toEqual([
      { msgid: 'msg-1', deliveryStatus: 1 },
      { msgid: 'msg-1', deliveryStatus: 2 },
    ]);
    expect(deps.kommoChatApi.deliveryStatuses.map((call) => call.call?.deadlineAtMs)).toEqual([
      TEST_START + 3_000,
      TEST_START + 3_000,
    ]);
    expect((await readDeliveryStatus(deps, key)).kommo).toEqual({ delivered: true, attempts: 1 });
  });

  it('sends nothing for a message already up to date, however often it comes', async () => {
    // Prepare
    const deps = givenDeliveryStatus();
    await updateDeliveryStatus(deps, key, { status: 'delivered' });
    await syncDeliveryStatus(deps, job);

    // Act
    const outcomes = [
      await syncDeliveryStatus(deps, job),
      await syncDeliveryStatus(deps, { ...key, msgid: 'msg-never-seen', attempt: 1 }),
    ];

    // Assess
    expect(outcomes).toEqual(['up-to-date', 'absent']);
    expect(deps.kommoChatApi.deliveryStatuses).toHaveLength(1);
  });

  it('sends an error with its code and text, as Kommo requires for -1', async () => {
    // Prepare
    const deps = givenDeliveryStatus();
    await updateDeliveryStatus(deps, key, { status: 'error', errorCode: 905, error: 'Blocked by the recipient' });

    // Act
    await syncDeliveryStatus(deps, job);

    // Assess
    expect(sentToKommo(deps)).toEqual([
      { msgid: 'msg-1', deliveryStatus: -1, errorCode: 905, error: 'Blocked by the recipient' },
    ]);
  });

  it('retries a 5xx with backoff, and a job that comes early waits for the backoff', async () => {
    // Prepare
    const deps = givenDeliveryStatus();
    await updateDeliveryStatus(deps, key, { status: 'delivered' });
    deps.kommoChatApi.failDeliveryStatus(callFailure('kommo', 503));

    // Act
    const first = await syncDeliveryStatus(deps, job);
    const early = await syncDeliveryStatus(deps, job);

    // Assess: attempt 1 failed; full jitter at 0.5 of the 2 s ceiling is 1 s.
    expect([first, early]).toEqual(['retrying', 'waiting']);
    expect(deps.queues.kommoStatus.sent.slice(1)).toEqual([
      { body: { ...job, attempt: 2 }, delaySeconds: 1 },
      { body: job, delaySeconds: 1 },
    ]);
    expect(deps.kommoChatApi.deliveryStatuses).toHaveLength(1);
    expect((await readDeliveryStatus(deps, key)).kommo).toEqual({
      delivered: false,
      attempts: 1,
      last_error: 'answered 503',
    });
  });

  it('sends the retry once the backoff is over', async () => {
    // Prepare
    const deps = givenDeliveryStatus();
    await updateDeliveryStatus(deps, key, { status: 'delivered' });
    deps.kommoChatApi.failDeliveryStatus(callFailure('kommo'));
    await syncDeliveryStatus(deps, job);
    deps.clock.advanceBy(1_000);

    // Act
    const outcome = await syncDeliveryStatus(deps, { ...job, attempt: 2 });

    // Assess
    expect(outcome).toBe('up-to-date');
    expect(deps.kommoChatApi.deliveryStatuses).toHaveLength(2);
    expect((await readDeliveryStatus(deps, key)).kommo).toMatchObject({ delivered: true, attempts: 2 });
  });

  it('dead-letters a refusal (404) with its reason at once, and goes on with the next update', async () => {
    // Prepare
    const deps = givenDeliveryStatus();
    await updateDeliveryStatus(deps, key, { status: 'delivered' });
    await updateDeliveryStatus(deps, key, { status: 'read' });
    deps.kommoChatApi.failDeliveryStatus(callFailure('kommo', 404));

    // Act
    const outcome = await syncDeliveryStatus(deps, job);

    // Assess
    expect(outcome).toBe('up-to-date');
    expect(sentToKommo(deps).map((status) => status.deliveryStatus)).toEqual([1, 2]);
    expect(deps.queues.kommoStatus.deadLettered).toEqual([
      {
        reason: 'final answer: delivery status "delivered" (update 1) of message msg-1: answered 404',
        failedAt: new Date(TEST_START).toISOString(),
        attempts: 1,
        message: { ...job, attempt: 1 },
      },
    ]);
  });

  it('dead-letters an update whose retries ran out, and nothing is sent after', async () => {
    // Prepare
    const deps = givenDeliveryStatus({ DELIVERY_MAX_ATTEMPTS: '2' });
    await updateDeliveryStatus(deps, key, { status: 'delivered' });
    deps.kommoChatApi.failDeliveryStatus(callFailure('kommo', 500), callFailure('kommo', 500));
    await syncDeliveryStatus(deps, job);
    deps.clock.advanceBy(1_000);

    // Act
    const outcome = await syncDeliveryStatus(deps, { ...job, attempt: 2 });
    const later = await syncDeliveryStatus(deps, { ...job, attempt: 3 });

    // Assess
    expect([outcome, later]).toEqual(['up-to-date', 'up-to-date']);
    expect(deps.kommoChatApi.deliveryStatuses).toHaveLength(2);
    expect(deps.queues.kommoStatus.deadLettered.map((letter) => letter.reason)).toEqual([
      'gave up after 2 attempts: delivery status "delivered" (update 1) of message msg-1: answered 500',
    ]);
  });

  it('comes back shortly when another job holds the message, and sends nothing meanwhile', async () => {
    // Prepare
    const deps = givenDeliveryStatus();
    await updateDeliveryStatus(deps, key, { status: 'delivered' });
    await deps.statuses.takeLease(key, 'another-job', TEST_START, TEST_START + SYNC_LEASE_MS);

    // Act
    const outcome = await syncDeliveryStatus(deps, job);

    // Assess
    expect(outcome).toBe('lease-held');
    expect(deps.kommoChatApi.deliveryStatuses).toEqual([]);
    expect(deps.queues.kommoStatus.sent.at(-1)).toEqual({ body: job, delaySeconds: 2 });
  });

  it('gives a redriven dead letter another go at the current status', async () => {
    // Prepare
    const deps = givenDeliveryStatus();
    await updateDeliveryStatus(deps, key, { status: 'delivered' });
    deps.kommoChatApi.failDeliveryStatus(callFailure('kommo', 403));
    await syncDeliveryStatus(deps, job);

    // Act
    const outcome = await syncDeliveryStatus(deps, job, { redriven: true });

    // Assess
    expect(outcome).toBe('up-to-date');
    expect(sentToKommo(deps).map((status) => status.deliveryStatus)).toEqual([1, 1]);
    expect((await readDeliveryStatus(deps, key)).kommo).toMatchObject({ delivered: true, attempts: 1 });
  });
});
