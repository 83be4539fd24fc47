import {
  currentEntry,
  syncMayBeMissing,
  kommoDeliveryStatus,
  nextEntryForKommo,
  statusView,
  type DeliveryStatus,
  type StatusEntry,
  type StatusRecord,
  type StatusUpdate,
  type StatusView,
} from '../domain/delivery-status';
import { BridgeError, notFound } from '../domain/errors';
import { MAX_QUEUE_DELAY_SECONDS, QUEUE_DELAY_TOLERANCE_MS } from '../domain/retry-policy';
import type { BridgeDeps, QueuesOf } from '../deps';
import { OutboundCallError } from '../ports/outbound';
import type { StatusKey } from '../ports/status-store';
import type { StatusSyncJob } from '../queue-messages';
import { retryOrDeadLetter } from './retry-or-dead-letter';

export type DeliveryStatusDeps = Pick<
  BridgeDeps,
  'config' | 'clock' | 'random' | 'newId' | 'kommoChatApi' | 'metrics' | 'log' | 'statuses'
> &
  QueuesOf<'kommoStatus'>;

/**
 * How long a sync job holds a message: twice the consumer's 30 s timeout (functions/manifest.ts), so a
 * lease never lapses while its holder can still be running, yet a crashed holder blocks only a minute.
 */
export const SYNC_LEASE_MS = 60_000;

/**
 * How long the lease must outlast a Kommo call's deadline when the call starts (renewed if it would not).
 * Another job may take the lease only once it has lapsed, so by then every call of the old holder has
 * been given up on the same clock: a status is sent again only when the earlier call's outcome is
 * unknown (it timed out), never while its answer can still arrive. The margin covers clock skew
 * between Lambdas and a timer that fires late.
 */
export const LEASE_MARGIN_MS = 10_000;

/**
 * A status report from the chat service. It is applied only if it moves the status forward (one
 * conditional write decides), then a sync job is queued; the answer never waits for Kommo.
 * A stale or repeated report changes nothing, except that it re-queues the sync of a record whose
 * job was evidently never queued, so a retry by the chat service repairs a failed earlier request.
 */
export async function updateDeliveryStatus(
  deps: DeliveryStatusDeps,
  key: StatusKey,
  update: StatusUpdate,
): Promise<{ applied: boolean; status: DeliveryStatus }> {
  const now = deps.clock.now();
  const { applied, record } = await deps.statuses.apply(key, update, now);
  if (applied) {
    deps.metrics.count('StatusApplied');
    deps.log.debug('delivery status applied', { scopeId: key.scopeId, msgid: key.msgid, status: update.status });
    await queueSync(deps, key, now);
  } else {
    deps.metrics.count('StatusIgnored');
    // Of any number of repeats finding the record stuck, the one that moves `syncRequestedAtMs` re-queues.
    if (syncMayBeMissing(record, now) && (await deps.statuses.setSyncRequestedAt(key, record.syncRequestedAtMs, now))) {
      deps.log.debug('delivery status sync queued again by a repeated update', {
        scopeId: key.scopeId,
        msgid: key.msgid,
      });
      await queueSync(deps, key, now);
    }
  }
  return { applied, status: currentEntry(record).status };
}

export async function readDeliveryStatus(
  deps: Pick<DeliveryStatusDeps, 'clock' | 'statuses'>,
  key: StatusKey,
): Promise<StatusView> {
  const record = await deps.statuses.read(key, deps.clock.now());
  if (!record) throw notFound('unknown_message', 'No delivery status is recorded for this msgid');
  return statusView(record);
}

/**
 * Queues the sync job. If that fails the record stays written, so the request fails with 503 and the
 * record is marked as never queued: the chat service's retry then finds it stuck and queues it.
 */
async function queueSync(deps: DeliveryStatusDeps, key: StatusKey, requestedAtMs: number): Promise<void> {
  try {
    await deps.queues.kommoStatus.send({ scopeId: key.scopeId, msgid: key.msgid, attempt: 1 });
  } catch (error) {
    deps.log.error('delivery status stored but its sync could not be queued', {
      scopeId: key.scopeId,
      msgid: key.msgid,
      error: error instanceof Error ? error.message : String(error),
    });
    await deps.statuses.setSyncRequestedAt(key, requestedAtMs, 0).catch(() => false);
    throw new BridgeError(
      'unavailable',
      'queue_unavailable',
      'The status was stored but could not be queued for Kommo; send the same request again',
    );
  }
}

export type SyncOutcome = 'up-to-date' | 'absent' | 'lease-held' | 'lease-lost' | 'waiting' | 'retrying';

/**
 * A `kommo-status` job: brings Kommo up to date with the message's record. Under a lease (so one job
 * at a time talks to Kommo about a message; each call ends at a deadline the lease outlasts, see
 * LEASE_MARGIN_MS), it sends every unsettled entry in `seq` order, settling each before the next:
 * acknowledged; refused for good on 400/403/404 (recorded, then the next one);
 * or, on network errors, 429 and 5xx, retried with backoff until the attempts run out, when the job
 * goes to the dead-letter queue with its reason and the entry is marked so later entries go on.
 * A job with nothing to send does nothing, so repeated and duplicate jobs are harmless.
 */
export async function syncDeliveryStatus(
  deps: DeliveryStatusDeps,
  job: StatusSyncJob,
  delivery: { redriven?: boolean } = {},
): Promise<SyncOutcome> {
  const key: StatusKey = { scopeId: job.scopeId, msgid: job.msgid };
  // A dead letter the operator moved back after fixing the cause: give the current status another go.
  if (delivery.redriven && (await deps.statuses.reopenLatestUndelivered(key, deps.clock.now()))) {
    deps.log.info('redriven delivery status reopened', { scopeId: key.scopeId, msgid: key.msgid });
  }
  const owner = deps.newId();
  const startedAt = deps.clock.now();
  const lease = await deps.statuses.takeLease(key, owner, startedAt, startedAt + SYNC_LEASE_MS);
  if (!lease.leased) {
    if (lease.reason !== 'held') return lease.reason;
    // Another job is sending now; this one comes back shortly (jittered 1-2 s) rather than be dropped.
    await deps.queues.kommoStatus.send(job, { delaySeconds: 1 + Math.round(deps.random()) });
    return 'lease-held';
  }
  try {
    return await sendUnsettled(deps, key, owner, startedAt + SYNC_LEASE_MS, job, lease.record);
  } catch (error) {
    await deps.statuses.releaseLease(key, owner).catch(() => undefined);
    throw error;
  }
}

async function sendUnsettled(
  deps: DeliveryStatusDeps,
  key: StatusKey,
  owner: string,
  leasedUntilMs: number,
  job: StatusSyncJob,
  leased: StatusRecord,
): Promise<SyncOutcome> {
  let leaseUntilMs = leasedUntilMs;
  let record: StatusRecord | undefined = leased;
  while (record) {
    const entry = nextEntryForKommo(record);
    if (!entry) {
      // The settle of the latest entry gave the lease up in the same write (the record no longer names it).
      if (record.leaseUntilMs !== undefined) await deps.statuses.releaseLease(key, owner);
      return 'up-to-date';
    }
    const now = deps.clock.now();
    if (entry.kommo.nextAttemptAtMs !== undefined && entry.kommo.nextAttemptAtMs - now >= QUEUE_DELAY_TOLERANCE_MS) {
      // In backoff (this job came early, e.g. for a newer update): later entries wait their turn.
      await deps.statuses.releaseLease(key, owner);
      const delaySeconds = Math.min(
        MAX_QUEUE_DELAY_SECONDS,
        Math.max(1, Math.ceil((entry.kommo.nextAttemptAtMs - now) / 1000)),
      );
      await deps.queues.kommoStatus.send(job, { delaySeconds });
      return 'waiting';
    }
    // Whatever KOMMO_TIMEOUT_MS says, a call fits in a fresh lease with the margin to spare.
    const deadlineAtMs = now + Math.min(deps.config.KOMMO_TIMEOUT_MS, SYNC_LEASE_MS - LEASE_MARGIN_MS);
    if (leaseUntilMs < deadlineAtMs + LEASE_MARGIN_MS) {
      if (!(await deps.statuses.renewLease(key, owner, now + SYNC_LEASE_MS))) return 'lease-lost';
      leaseUntilMs = now + SYNC_LEASE_MS;
    }
    const attempts = entry.kommo.attempts + 1;
    // Settling the latest entry known gives the lease up at once: one write instead of a settle and a release.
    const releaseIfLatest = entry.seq === record.history.length;
    try {
      await deps.kommoChatApi.deliveryStatus(key.scopeId, kommoDeliveryStatus(key.msgid, entry), { deadlineAtMs });
    } catch (error) {
      if (!(error instanceof OutboundCallError)) throw error;
      deps.metrics.count('KommoCallFailed');
      if (error.status === 403) deps.metrics.count('KommoCallForbidden');
      if (!error.retryable) {
        // Final (400/403/404): not retried, but kept with its reason in the dead-letter queue, as nothing may be lost.
        deps.log.warn('Kommo refused a delivery status; not retried', {
          msgid: key.msgid,
          seq: entry.seq,
          status: error.status,
          errorType: error.errorType,
        });
        await retryOrDeadLetter(
          deps,
          deps.queues.kommoStatus,
          { ...job, attempt: attempts },
          describeFailure(key, entry, error),
        );
        record = await deps.statuses.settle(
          key,
          owner,
          entry.seq,
          { outcome: 'refused', attempts, lastError: error.message },
          { releaseIfLatest },
        );
        continue;
      }
      const failed = await handleRetryableFailure(deps, key, owner, job, entry, attempts, error);
      if (failed !== 'dead-lettered') return failed;
      record = await deps.statuses.settle(
        key,
        owner,
        entry.seq,
        { outcome: 'dead-lettered', attempts },
        { releaseIfLatest },
      );
      continue;
    }
    deps.metrics.count('KommoCallSucceeded');
    record = await deps.statuses.settle(
      key,
      owner,
      entry.seq,
      { outcome: 'acknowledged', attempts },
      { releaseIfLatest },
    );
  }
  // A settle found the lease gone (it outlived SYNC_LEASE_MS): the new holder carries on from the record.
  return 'lease-lost';
}

/**
 * Records the failed call, then retries with backoff or dead-letters. Attempts are counted per entry on
 * the record, not per job, so duplicate jobs for a message share one retry budget.
 */
async function handleRetryableFailure(
  deps: DeliveryStatusDeps,
  key: StatusKey,
  owner: string,
  job: StatusSyncJob,
  entry: StatusEntry,
  attempts: number,
  error: OutboundCallError,
): Promise<'retrying' | 'dead-lettered' | 'lease-lost'> {
  if (!(await deps.statuses.recordFailedAttempt(key, owner, entry.seq, { attempts, lastError: error.message })))
    return 'lease-lost';
  const decision = await retryOrDeadLetter(
    deps,
    deps.queues.kommoStatus,
    { ...job, attempt: attempts },
    describeFailure(key, entry, error),
  );
  if (decision.outcome === 'retrying') {
    // The record keeps the backoff, so a job that arrives early for this message waits for it.
    await deps.statuses.postpone(key, owner, entry.seq, deps.clock.now() + decision.delaySeconds * 1000);
    return 'retrying';
  }
  return 'dead-lettered';
}

/** The reason in the dead-letter queue names the update, not only the message. */
function describeFailure(key: StatusKey, entry: StatusEntry, error: OutboundCallError): OutboundCallError {
  return new OutboundCallError(
    error.party,
    `delivery status "${entry.status}" (update ${entry.seq}) of message ${key.msgid}: ${error.message}`,
    error.status,
    error.errorType,
  );
}
