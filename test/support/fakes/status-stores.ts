import {
  deliveryStatusRank,
  STATUS_RETENTION_MS,
  type KommoOutcome,
  type StatusEntry,
  type StatusRecord,
  type StatusUpdate,
} from '../../../functions/core/domain/delivery-status';
import type { PollEnd, StatusPoll } from '../../../functions/core/domain/status-poll';
import type { StatusPollStore } from '../../../functions/core/ports/status-poll-store';
import type { ApplyOutcome, LeaseOutcome, StatusKey, StatusStore } from '../../../functions/core/ports/status-store';

const messageKey = (key: StatusKey) => JSON.stringify([key.scopeId, key.msgid]);

interface StoredRecord {
  record: StatusRecord;
  leaseOwner?: string;
  expiresAtMs: number;
}

const copy = (record: StatusRecord): StatusRecord => structuredClone(record);

/**
 * Delivery-status records in memory, with the port's rules: statuses only move forward, a record past
 * its retention counts as absent, one lease holder at a time, and every write under a lease does
 * nothing once the lease has passed to another.
 */
export class InMemoryStatusStore implements StatusStore {
  private readonly items = new Map<string, StoredRecord>();

  private live(key: StatusKey, nowMs: number): StoredRecord | undefined {
    const item = this.items.get(messageKey(key));
    return item && item.expiresAtMs > nowMs ? item : undefined;
  }

  /** The item whatever its age: writes under a lease check the owner, not the time. */
  private held(key: StatusKey, owner: string): StoredRecord | undefined {
    const item = this.items.get(messageKey(key));
    return item?.leaseOwner === owner ? item : undefined;
  }

  async apply(key: StatusKey, update: StatusUpdate, nowMs: number): Promise<ApplyOutcome> {
    const entry = (seq: number): StatusEntry => ({
      ...structuredClone(update),
      seq,
      appliedAtMs: nowMs,
      kommo: { attempts: 0 },
    });
    const item = this.live(key, nowMs);
    if (!item) {
      const record: StatusRecord = {
        scopeId: key.scopeId,
        msgid: key.msgid,
        history: [entry(1)],
        updatedAtMs: nowMs,
        kommoSettledSeq: 0,
        syncRequestedAtMs: nowMs,
      };
      this.items.set(messageKey(key), { record, expiresAtMs: nowMs + STATUS_RETENTION_MS });
      return { applied: true, record: copy(record) };
    }
    const current = item.record.history.at(-1)!;
    if (deliveryStatusRank[update.status] <= deliveryStatusRank[current.status])
      return { applied: false, record: copy(item.record) };
    item.record.history.push(entry(item.record.history.length + 1));
    item.record.updatedAtMs = nowMs;
    item.record.syncRequestedAtMs = nowMs;
    item.expiresAtMs = nowMs + STATUS_RETENTION_MS;
    return { applied: true, record: copy(item.record) };
  }

  async read(key: StatusKey, nowMs: number): Promise<StatusRecord | undefined> {
    const item = this.live(key, nowMs);
    return item ? copy(item.record) : undefined;
  }

  async setSyncRequestedAt(key: StatusKey, expectedMs: number, nextMs: number): Promise<boolean> {
    const item = this.items.get(messageKey(key));
    if (item?.record.syncRequestedAtMs !== expectedMs) return false;
    item.record.syncRequestedAtMs = nextMs;
    return true;
  }

  async takeLease(key: StatusKey, owner: string, nowMs: number, untilMs: number): Promise<LeaseOutcome> {
    const item = this.live(key, nowMs);
    if (!item) return { leased: false, reason: 'absent' };
    if (item.record.kommoSettledSeq >= item.record.history.length) return { leased: false, reason: 'up-to-date' };
    if (item.record.leaseUntilMs !== undefined && item.record.leaseUntilMs >= nowMs)
      return { leased: false, reason: 'held' };
    item.record.leaseUntilMs = untilMs;
    item.leaseOwner = owner;
    return { leased: true, record: copy(item.record) };
  }

  async renewLease(key: StatusKey, owner: string, untilMs: number): Promise<boolean> {
    const item = this.held(key, owner);
    if (!item) return false;
    item.record.leaseUntilMs = untilMs;
    return true;
  }

  async recordFailedAttempt(
    key: StatusKey,
    owner: string,
    seq: number,
    failure: { attempts: number; lastError: string },
  ): Promise<boolean> {
    const entry = this.held(key, owner)?.record.history[seq - 1];
    if (!entry) return false;
    Object.assign(entry.kommo, failure);
    return true;
  }

  async postpone(key: StatusKey, owner: string, seq: number, nextAttemptAtMs: number): Promise<boolean> {
    const item = this.held(key, owner);
    const entry = item?.record.history[seq - 1];
    if (!item || !entry) return false;
    entry.kommo.nextAttemptAtMs = nextAttemptAtMs;
    release(item);
    return true;
  }

  async settle(
    key: StatusKey,
    owner: string,
    seq: number,
    settlement: { outcome: KommoOutcome; attempts: number; lastError?: string },
    options: { releaseIfLatest?: boolean } = {},
  ): Promise<StatusRecord | undefined> {
    const item = this.held(key, owner);
    const entry = item?.record.history[seq - 1];
    // Settled in order, one entry at a time.
    if (!item || !entry || item.record.kommoSettledSeq !== seq - 1) return undefined;
    entry.kommo.outcome = settlement.outcome;
    entry.kommo.attempts = settlement.attempts;
    if (settlement.lastError !== undefined) entry.kommo.lastError = settlement.lastError;
    delete entry.kommo.nextAttemptAtMs;
    item.record.kommoSettledSeq = seq;
    if (options.releaseIfLatest && item.record.history.length === seq) release(item);
    return copy(item.record);
  }

  async releaseLease(key: StatusKey, owner: string): Promise<void> {
    const item = this.held(key, owner);
    if (item) release(item);
  }

  async reopenLatestUndelivered(key: StatusKey, nowMs: number): Promise<boolean> {
    const item = this.live(key, nowMs);
    if (!item) return false;
    const { record } = item;
    const latest = record.history.at(-1)!;
    const leased = record.leaseUntilMs !== undefined && record.leaseUntilMs >= nowMs;
    if (
      record.kommoSettledSeq !== latest.seq ||
      leased ||
      (latest.kommo.outcome !== 'refused' && latest.kommo.outcome !== 'dead-lettered')
    )
      return false;
    record.kommoSettledSeq = latest.seq - 1;
    latest.kommo.attempts = 0;
    delete latest.kommo.outcome;
    delete latest.kommo.nextAttemptAtMs;
    return true;
  }
}

function release(item: StoredRecord): void {
  delete item.record.leaseUntilMs;
  delete item.leaseOwner;
}

/** Status polls in memory: one item per message naming its one timer; an expired item counts as absent. */
export class InMemoryStatusPollStore implements StatusPollStore {
  private readonly items = new Map<string, StatusPoll & { expiresAtMs: number }>();

  async start(
    key: StatusKey,
    poll: { timerId: string; startedAtMs: number; endsAtMs: number; expiresAtMs: number },
    nowMs: number,
  ): Promise<boolean> {
    const item = this.items.get(messageKey(key));
    if (item && item.expiresAtMs > nowMs) return false;
    this.items.set(messageKey(key), {
      timerId: poll.timerId,
      startedAtMs: poll.startedAtMs,
      endsAtMs: poll.endsAtMs,
      pollsMade: 0,
      expiresAtMs: poll.expiresAtMs,
    });
    return true;
  }

  async read(key: StatusKey, nowMs: number): Promise<StatusPoll | undefined> {
    const item = this.items.get(messageKey(key));
    if (!item || item.expiresAtMs <= nowMs) return undefined;
    const { expiresAtMs: _, ...poll } = item;
    return { ...poll };
  }

  async passTimerOn(key: StatusKey, fromTimerId: string, toTimerId: string, pollsMade: number): Promise<boolean> {
    const item = this.items.get(messageKey(key));
    if (item?.timerId !== fromTimerId) return false;
    Object.assign(item, { timerId: toTimerId, pollsMade });
    return true;
  }

  async end(key: StatusKey, fromTimerId: string, pollsMade: number, because: PollEnd): Promise<boolean> {
    const item = this.items.get(messageKey(key));
    if (item?.timerId !== fromTimerId) return false;
    delete item.timerId;
    Object.assign(item, { pollsMade, endedBecause: because });
    return true;
  }
}
