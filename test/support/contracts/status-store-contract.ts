import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { STATUS_RETENTION_MS, type StatusUpdate } from '../../../functions/core/domain/delivery-status';
import type { StatusKey, StatusStore } from '../../../functions/core/ports/status-store';
import { TEST_START } from '../manual-clock';

/**
 * What every StatusStore must do, seen only through the port: run against the DynamoDB adapter
 * (test/integration/status-store.test.ts) and the in-memory fake the delivery-status unit tests use
 * (test/unit/fakes), so the fake never drifts from the store it stands in for.
 */

const scopeId = 'c0ffee00-0000-4000-8000-000000000001_52e591f7-c98f-4255-8495-827210138c81';
const delivered: StatusUpdate = { status: 'delivered' };
const read: StatusUpdate = { status: 'read' };
const deleted: StatusUpdate = { status: 'error', errorCode: 901 };

/** Every test works on its own message, so tests share one store (one table) without seeing each other. */
const aMessage = (): StatusKey => ({ scopeId, msgid: `msg-${randomUUID()}` });

export function statusStoreContract(store: StatusStore): void {
  describe('applying status updates', () => {
    it.each([
      {
        name: 'forward steps all apply',
        updates: [delivered, read, deleted],
        applied: [true, true, true],
        history: ['delivered', 'read', 'error'],
      },
      { name: 'a stale update is ignored', updates: [read, delivered], applied: [true, false], history: ['read'] },
      { name: 'a repeat is ignored', updates: [read, read], applied: [true, false], history: ['read'] },
      {
        name: 'nothing follows an error',
        updates: [deleted, read, delivered],
        applied: [true, false, false],
        history: ['error'],
      },
      {
        name: 'steps may be skipped',
        updates: [delivered, deleted],
        applied: [true, true],
        history: ['delivered', 'error'],
      },
    ])('$name', async ({ updates, applied, history }) => {
      // Prepare
      const key = aMessage();

      // Act
      const outcomes = [];
      for (const [index, update] of updates.entries())
        outcomes.push(await store.apply(key, update, TEST_START + index * 1000));

      // Assess
      expect(outcomes.map((outcome) => outcome.applied)).toEqual(applied);
      const record = await store.read(key, TEST_START + 10_000);
      expect(record?.history.map((entry) => [entry.seq, entry.status])).toEqual(
        history.map((status, index) => [index + 1, status]),
      );
      expect(outcomes.at(-1)?.record.history.at(-1)?.status).toBe(history.at(-1));
    });

    it('keeps the error code and text of an error', async () => {
      // Prepare
      const key = aMessage();

      // Act
      await store.apply(key, { status: 'error', errorCode: 905, error: 'Blocked by the recipient' }, TEST_START);

      // Assess
      const record = await store.read(key, TEST_START);
      expect(record?.history).toEqual([
        {
          seq: 1,
          status: 'error',
          errorCode: 905,
          error: 'Blocked by the recipient',
          appliedAtMs: TEST_START,
          kommo: { attempts: 0 },
        },
      ]);
      expect(record?.kommoSettledSeq).toBe(0);
      expect(record?.syncRequestedAtMs).toBe(TEST_START);
    });

    it('applies exactly one of 50 concurrent identical updates', async () => {
      // Prepare
      const key = aMessage();

      // Act
      const outcomes = await Promise.all(Array.from({ length: 50 }, () => store.apply(key, read, TEST_START)));

      // Assess
      expect(outcomes.filter((outcome) => outcome.applied)).toHaveLength(1);
      expect(outcomes.every((outcome) => outcome.record.history.at(-1)?.status === 'read')).toBe(true);
      expect((await store.read(key, TEST_START))?.history).toHaveLength(1);
    });

    it('numbers racing different updates by the order their writes won', async () => {
      // Prepare
      const key = aMessage();

      // Act
      const outcomes = await Promise.all(
        [delivered, read, deleted, delivered, read, deleted].map((update) => store.apply(key, update, TEST_START)),
      );

      // Assess: whatever the interleaving, the history only moves forward and the error ends it.
      const history = (await store.read(key, TEST_START))!.history;
      expect(history.map((entry) => entry.seq)).toEqual(history.map((_, index) => index + 1));
      const ranks = history.map((entry) => ['delivered', 'read', 'error'].indexOf(entry.status));
      expect(ranks).toEqual([...ranks].sort());
      expect(history.at(-1)?.status).toBe('error');
      expect(outcomes.filter((outcome) => outcome.applied)).toHaveLength(history.length);
    });
  });

  describe('retention', () => {
    const retainedUntil = TEST_START + STATUS_RETENTION_MS;

    it('reads an expired record as absent', async () => {
      // Prepare
      const key = aMessage();
      await store.apply(key, read, TEST_START);

      // Act
      const justBefore = await store.read(key, retainedUntil - 1000);
      const after = await store.read(key, retainedUntil);

      // Assess
      expect(justBefore?.history.at(-1)?.status).toBe('read');
      expect(after).toBeUndefined();
    });

    it('starts a new history when an update finds only an expired record', async () => {
      // Prepare
      const key = aMessage();
      await store.apply(key, deleted, TEST_START);

      // Act
      const outcome = await store.apply(key, delivered, retainedUntil + 1000);

      // Assess
      expect(outcome.applied).toBe(true);
      expect(outcome.record.history.map((entry) => [entry.seq, entry.status])).toEqual([[1, 'delivered']]);
      expect((await store.read(key, retainedUntil + 1000))?.history).toHaveLength(1);
    });

    it('gives no lease on an expired record', async () => {
      // Prepare
      const key = aMessage();
      await store.apply(key, read, TEST_START);

      // Act
      const lease = await store.takeLease(key, 'job-1', retainedUntil, retainedUntil + 60_000);

      // Assess
      expect(lease).toEqual({ leased: false, reason: 'absent' });
    });
  });

  describe('the sync lease', () => {
    it('goes to exactly one of 20 racing jobs', async () => {
      // Prepare
      const key = aMessage();
      await store.apply(key, read, TEST_START);

      // Act
      const leases = await Promise.all(
        Array.from({ length: 20 }, (_, index) => store.takeLease(key, `job-${index}`, TEST_START, TEST_START + 60_000)),
      );

      // Assess
      expect(leases.filter((lease) => lease.leased)).toHaveLength(1);
      expect(leases.filter((lease) => !lease.leased && lease.reason === 'held')).toHaveLength(19);
    });

    it('can be taken again once it lapses, and the old holder can no longer write', async () => {
      // Prepare
      const key = aMessage();
      await store.apply(key, read, TEST_START);
      await store.takeLease(key, 'slow-job', TEST_START, TEST_START + 60_000);

      // Act
      const whileHeld = await store.takeLease(key, 'new-job', TEST_START + 59_000, TEST_START + 119_000);
      const afterLapse = await store.takeLease(key, 'new-job', TEST_START + 61_000, TEST_START + 121_000);
      const staleWrite = await store.settle(key, 'slow-job', 1, { outcome: 'acknowledged', attempts: 1 });

      // Assess
      expect(whileHeld).toEqual({ leased: false, reason: 'held' });
      expect(afterLapse.leased).toBe(true);
      expect(staleWrite).toBeUndefined();
      expect((await store.read(key, TEST_START + 61_000))?.kommoSettledSeq).toBe(0);
    });

    it('renewed by its holder, is still held when it would have lapsed; once another job holds it, the old holder cannot renew it', async () => {
      // Prepare
      const key = aMessage();
      await store.apply(key, read, TEST_START);
      await store.takeLease(key, 'slow-job', TEST_START, TEST_START + 60_000);

      // Act
      const renewed = await store.renewLease(key, 'slow-job', TEST_START + 118_000);
      const pastTheFirstLease = await store.takeLease(key, 'new-job', TEST_START + 61_000, TEST_START + 121_000);
      const afterRenewalLapsed = await store.takeLease(key, 'new-job', TEST_START + 119_000, TEST_START + 179_000);
      const renewedByTheOldHolder = await store.renewLease(key, 'slow-job', TEST_START + 200_000);

      // Assess
      expect(renewed).toBe(true);
      expect(pastTheFirstLease).toEqual({ leased: false, reason: 'held' });
      expect(afterRenewalLapsed.leased).toBe(true);
      expect(renewedByTheOldHolder).toBe(false);
      expect((await store.read(key, TEST_START + 119_000))?.leaseUntilMs).toBe(TEST_START + 179_000);
    });

    it('is not taken when Kommo is up to date', async () => {
      // Prepare
      const key = aMessage();
      await store.apply(key, read, TEST_START);
      await store.takeLease(key, 'job-1', TEST_START, TEST_START + 60_000);
      await store.settle(key, 'job-1', 1, { outcome: 'acknowledged', attempts: 1 });
      await store.releaseLease(key, 'job-1');

      // Act
      const lease = await store.takeLease(key, 'job-2', TEST_START + 1000, TEST_START + 61_000);
      const unknown = await store.takeLease(aMessage(), 'job-2', TEST_START + 1000, TEST_START + 61_000);

      // Assess
      expect(lease).toEqual({ leased: false, reason: 'up-to-date' });
      expect(unknown).toEqual({ leased: false, reason: 'absent' });
    });

    it('settles entries in order and returns updates applied meanwhile', async () => {
      // Prepare
      const key = aMessage();
      await store.apply(key, delivered, TEST_START);
      await store.takeLease(key, 'job-1', TEST_START, TEST_START + 60_000);
      await store.apply(key, read, TEST_START + 500);

      // Act
      const outOfOrder = await store.settle(key, 'job-1', 2, { outcome: 'acknowledged', attempts: 1 });
      const first = await store.settle(key, 'job-1', 1, { outcome: 'acknowledged', attempts: 1 });

      // Assess
      expect(outOfOrder).toBeUndefined();
      expect(first?.kommoSettledSeq).toBe(1);
      expect(first?.history.map((entry) => [entry.status, entry.kommo.outcome])).toEqual([
        ['delivered', 'acknowledged'],
        ['read', undefined],
      ]);
    });

    it('keeps failed attempts and the backoff on the entry, and postponing releases the lease', async () => {
      // Prepare
      const key = aMessage();
      await store.apply(key, delivered, TEST_START);
      await store.takeLease(key, 'job-1', TEST_START, TEST_START + 60_000);

      // Act
      await store.recordFailedAttempt(key, 'job-1', 1, { attempts: 1, lastError: 'Kommo answered 503' });
      await store.postpone(key, 'job-1', 1, TEST_START + 2000);
      const retaken = await store.takeLease(key, 'job-2', TEST_START + 2000, TEST_START + 62_000);

      // Assess
      expect(retaken.leased && retaken.record.history[0]?.kommo).toEqual({
        attempts: 1,
        lastError: 'Kommo answered 503',
        nextAttemptAtMs: TEST_START + 2000,
      });
    });

    it('moves syncRequestedAt only from the value the caller saw', async () => {
      // Prepare
      const key = aMessage();
      await store.apply(key, read, TEST_START);

      // Act
      const first = await store.setSyncRequestedAt(key, TEST_START, TEST_START + 20_000);
      const second = await store.setSyncRequestedAt(key, TEST_START, TEST_START + 21_000);

      // Assess
      expect([first, second]).toEqual([true, false]);
      expect((await store.read(key, TEST_START + 21_000))?.syncRequestedAtMs).toBe(TEST_START + 20_000);
    });
  });
}
