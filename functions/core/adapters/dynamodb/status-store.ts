import { GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import {
  deliveryStatusRank,
  STATUS_RETENTION_MS,
  type DeliveryErrorCode,
  type DeliveryStatus,
  type KommoDeliveryState,
  type KommoOutcome,
  type StatusEntry,
  type StatusRecord,
  type StatusUpdate,
} from '../../domain/delivery-status';
import type { ApplyOutcome, LeaseOutcome, StatusKey, StatusStore } from '../../ports/status-store';
import { epochSeconds, isConditionFailure, isLive, partitionKey, type TableRef, writeIf } from './table';

/**
 * One item per message: `STATUS#<scope>#<msgid>` / `MESSAGE`. Scope ids never contain `#`, so the key
 * is unambiguous whatever the msgid holds. The item carries the current status and its rank (for the
 * forward-only condition), the history of applied updates with Kommo's progress on each, how far Kommo
 * is settled, and the sync lease. An error's code and text live only in its history entry: the chat
 * service's text may be 2 KB, and every write is charged per started KB of the whole item.
 */
const itemKey = (key: StatusKey) => ({ pk: partitionKey('status', key.scopeId, key.msgid), sk: 'MESSAGE' });

/** `status` and friends are DynamoDB reserved words; every attribute in expressions goes by a name. */
const names = {
  '#status': 'status',
  '#rank': 'rank',
  '#history': 'history',
  '#kommo': 'kommo',
} as const;

interface StoredEntry {
  status: DeliveryStatus;
  errorCode?: DeliveryErrorCode;
  error?: string;
  appliedAtMs: number;
  kommo: KommoDeliveryState;
}

function storedEntry(update: StatusUpdate, nowMs: number): StoredEntry {
  return {
    status: update.status,
    ...(update.status === 'error' ? { errorCode: update.errorCode, error: update.error } : {}),
    appliedAtMs: nowMs,
    kommo: { attempts: 0 },
  };
}

/** A path into entry `seq`'s Kommo state; list indexes cannot be placeholders, and `seq` is always a whole number. */
function kommoPath(seq: number, field: keyof KommoDeliveryState): string {
  if (!Number.isInteger(seq) || seq < 1) throw new RangeError(`seq must be a whole number from 1, got ${seq}`);
  return `#history[${seq - 1}].#kommo.${field}`;
}

export class DynamoStatusStore implements StatusStore {
  constructor(private readonly table: TableRef) {}

  async apply(key: StatusKey, update: StatusUpdate, nowMs: number): Promise<ApplyOutcome> {
    // Three rounds cover the only loop: a record that expired while we looked, replaced by someone else.
    for (let round = 0; round < 3; round += 1) {
      const appended = await this.appendIfForward(key, update, nowMs);
      if (appended) return { applied: true, record: appended };
      const existing = await this.readItem(key);
      if (!existing) continue;
      if (isLive(existing, nowMs)) return { applied: false, record: toStatusRecord(existing) };
      const replaced = await this.replaceExpired(key, update, nowMs);
      if (replaced) return { applied: true, record: replaced };
    }
    throw new Error('status record contended beyond retries');
  }

  async read(key: StatusKey, nowMs: number): Promise<StatusRecord | undefined> {
    const item = await this.readItem(key);
    return item && isLive(item, nowMs) ? toStatusRecord(item) : undefined;
  }

  async setSyncRequestedAt(key: StatusKey, expectedMs: number, nextMs: number): Promise<boolean> {
    return writeIf(
      this.table,
      new UpdateCommand({
        TableName: this.table.tableName,
        Key: itemKey(key),
        UpdateExpression: 'SET syncRequestedAtMs = :next',
        ConditionExpression: 'syncRequestedAtMs = :expected',
        ExpressionAttributeValues: { ':next': nextMs, ':expected': expectedMs },
      }),
    );
  }

  async takeLease(key: StatusKey, owner: string, nowMs: number, untilMs: number): Promise<LeaseOutcome> {
    try {
      const { Attributes } = await this.table.doc.send(
        new UpdateCommand({
          TableName: this.table.tableName,
          Key: itemKey(key),
          UpdateExpression: 'SET leaseUntilMs = :until, leaseOwner = :owner',
          ConditionExpression:
            'expiresAt > :nowSeconds AND size(#history) > kommoSettledSeq AND (attribute_not_exists(leaseUntilMs) OR leaseUntilMs < :now)',
          ExpressionAttributeNames: { '#history': names['#history'] },
          ExpressionAttributeValues: {
            ':until': untilMs,
            ':owner': owner,
            ':now': nowMs,
            ':nowSeconds': epochSeconds(nowMs),
          },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return { leased: true, record: toStatusRecord(writtenItem(Attributes)) };
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
    const record = await this.read(key, nowMs);
    if (!record) return { leased: false, reason: 'absent' };
    if (record.kommoSettledSeq >= record.history.length) return { leased: false, reason: 'up-to-date' };
    // Held, or released in the moment since our write: either way, someone is on it or the caller tries again.
    return { leased: false, reason: 'held' };
  }

  async renewLease(key: StatusKey, owner: string, untilMs: number): Promise<boolean> {
    return writeIf(
      this.table,
      new UpdateCommand({
        TableName: this.table.tableName,
        Key: itemKey(key),
        UpdateExpression: 'SET leaseUntilMs = :until',
        ConditionExpression: 'leaseOwner = :owner',
        ExpressionAttributeValues: { ':until': untilMs, ':owner': owner },
      }),
    );
  }

  async recordFailedAttempt(
    key: StatusKey,
    owner: string,
    seq: number,
    failure: { attempts: number; lastError: string },
  ): Promise<boolean> {
    return writeIf(
      this.table,
      new UpdateCommand({
        TableName: this.table.tableName,
        Key: itemKey(key),
        UpdateExpression: `SET ${kommoPath(seq, 'attempts')} = :attempts, ${kommoPath(seq, 'lastError')} = :lastError`,
        ConditionExpression: 'leaseOwner = :owner',
        ExpressionAttributeNames: { '#history': names['#history'], '#kommo': names['#kommo'] },
        ExpressionAttributeValues: { ':attempts': failure.attempts, ':lastError': failure.lastError, ':owner': owner },
      }),
    );
  }

  async postpone(key: StatusKey, owner: string, seq: number, nextAttemptAtMs: number): Promise<boolean> {
    return writeIf(
      this.table,
      new UpdateCommand({
        TableName: this.table.tableName,
        Key: itemKey(key),
        UpdateExpression: `SET ${kommoPath(seq, 'nextAttemptAtMs')} = :next REMOVE leaseUntilMs, leaseOwner`,
        ConditionExpression: 'leaseOwner = :owner',
        ExpressionAttributeNames: { '#history': names['#history'], '#kommo': names['#kommo'] },
        ExpressionAttributeValues: { ':next': nextAttemptAtMs, ':owner': owner },
      }),
    );
  }

  async settle(
    key: StatusKey,
    owner: string,
    seq: number,
    settlement: { outcome: KommoOutcome; attempts: number; lastError?: string },
    options: { releaseIfLatest?: boolean } = {},
  ): Promise<StatusRecord | undefined> {
    if (options.releaseIfLatest) {
      const released = await this.settleOnce(key, owner, seq, settlement, true);
      if (released) return released;
      // Refused: an update arrived meanwhile (the holder goes on to send it) or the lease is lost (the next write says which).
    }
    return this.settleOnce(key, owner, seq, settlement, false);
  }

  /** One conditional write; `release` also gives the lease up, and holds only while `seq` is the latest entry. */
  private async settleOnce(
    key: StatusKey,
    owner: string,
    seq: number,
    settlement: { outcome: KommoOutcome; attempts: number; lastError?: string },
    release: boolean,
  ): Promise<StatusRecord | undefined> {
    const sets = [
      `${kommoPath(seq, 'outcome')} = :outcome`,
      `${kommoPath(seq, 'attempts')} = :attempts`,
      'kommoSettledSeq = :seq',
    ];
    const values: Record<string, unknown> = {
      ':outcome': settlement.outcome,
      ':attempts': settlement.attempts,
      ':seq': seq,
      ':previous': seq - 1,
      ':owner': owner,
    };
    if (settlement.lastError !== undefined) {
      sets.push(`${kommoPath(seq, 'lastError')} = :lastError`);
      values[':lastError'] = settlement.lastError;
    }
    const removes = [kommoPath(seq, 'nextAttemptAtMs'), ...(release ? ['leaseUntilMs', 'leaseOwner'] : [])];
    try {
      const { Attributes } = await this.table.doc.send(
        new UpdateCommand({
          TableName: this.table.tableName,
          Key: itemKey(key),
          UpdateExpression: `SET ${sets.join(', ')} REMOVE ${removes.join(', ')}`,
          // Settled in order, one entry at a time, and only by the lease holder; released only with nothing left to send.
          ConditionExpression: `leaseOwner = :owner AND kommoSettledSeq = :previous${release ? ' AND size(#history) = :seq' : ''}`,
          ExpressionAttributeNames: { '#history': names['#history'], '#kommo': names['#kommo'] },
          ExpressionAttributeValues: values,
          ReturnValues: 'ALL_NEW',
        }),
      );
      return toStatusRecord(writtenItem(Attributes));
    } catch (error) {
      if (isConditionFailure(error)) return undefined;
      throw error;
    }
  }

  async releaseLease(key: StatusKey, owner: string): Promise<void> {
    await writeIf(
      this.table,
      new UpdateCommand({
        TableName: this.table.tableName,
        Key: itemKey(key),
        UpdateExpression: 'REMOVE leaseUntilMs, leaseOwner',
        ConditionExpression: 'leaseOwner = :owner',
        ExpressionAttributeValues: { ':owner': owner },
      }),
    );
  }

  /**
   * The forward-only write: a new record, or a live one whose status ranks below the update. The history
   * grows by list_append in the same write, so an entry's place in the list is its `seq`; the condition
   * serialises writers, so two updates can never claim the same place.
   */
  private async appendIfForward(
    key: StatusKey,
    update: StatusUpdate,
    nowMs: number,
  ): Promise<StatusRecord | undefined> {
    const entry = storedEntry(update, nowMs);
    try {
      const { Attributes } = await this.table.doc.send(
        new UpdateCommand({
          TableName: this.table.tableName,
          Key: itemKey(key),
          UpdateExpression:
            'SET scopeId = :scopeId, msgid = :msgid, #status = :status, #rank = :rank, updatedAtMs = :now, expiresAt = :expiresAt, ' +
            'syncRequestedAtMs = :now, kommoSettledSeq = if_not_exists(kommoSettledSeq, :zero), ' +
            '#history = list_append(if_not_exists(#history, :noHistory), :entry)',
          ConditionExpression: 'attribute_not_exists(pk) OR (#rank < :rank AND expiresAt > :nowSeconds)',
          ExpressionAttributeNames: {
            '#status': names['#status'],
            '#rank': names['#rank'],
            '#history': names['#history'],
          },
          ExpressionAttributeValues: {
            ':scopeId': key.scopeId,
            ':msgid': key.msgid,
            ':status': update.status,
            ':rank': deliveryStatusRank[update.status],
            ':now': nowMs,
            ':nowSeconds': epochSeconds(nowMs),
            ':expiresAt': epochSeconds(nowMs + STATUS_RETENTION_MS),
            ':zero': 0,
            ':noHistory': [],
            ':entry': [entry],
          },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return toStatusRecord(writtenItem(Attributes));
    } catch (error) {
      if (isConditionFailure(error)) return undefined;
      throw error;
    }
  }

  /** A record past its retention counts as absent: the update starts a new one (TTL may not have deleted it yet). */
  private async replaceExpired(key: StatusKey, update: StatusUpdate, nowMs: number): Promise<StatusRecord | undefined> {
    const item = {
      ...itemKey(key),
      scopeId: key.scopeId,
      msgid: key.msgid,
      status: update.status,
      rank: deliveryStatusRank[update.status],
      updatedAtMs: nowMs,
      expiresAt: epochSeconds(nowMs + STATUS_RETENTION_MS),
      syncRequestedAtMs: nowMs,
      kommoSettledSeq: 0,
      history: [storedEntry(update, nowMs)],
    };
    try {
      await this.table.doc.send(
        new PutCommand({
          TableName: this.table.tableName,
          Item: item,
          ConditionExpression: 'expiresAt <= :nowSeconds',
          ExpressionAttributeValues: { ':nowSeconds': epochSeconds(nowMs) },
        }),
      );
      return toStatusRecord(item);
    } catch (error) {
      if (isConditionFailure(error)) return undefined;
      throw error;
    }
  }

  private async readItem(key: StatusKey): Promise<Record<string, unknown> | undefined> {
    const { Item } = await this.table.doc.send(
      new GetCommand({ TableName: this.table.tableName, Key: itemKey(key), ConsistentRead: true }),
    );
    return Item;
  }

  /** Runs a conditional write; false when its condition did not hold. */
  async reopenLatestUndelivered(key: StatusKey, nowMs: number): Promise<boolean> {
    const item = await this.readItem(key);
    if (!item || !isLive(item as { expiresAt?: number }, nowMs)) return false;
    const seq = (item.history as StoredEntry[]).length;
    return writeIf(
      this.table,
      new UpdateCommand({
        TableName: this.table.tableName,
        Key: itemKey(key),
        UpdateExpression: `SET kommoSettledSeq = :previous, ${kommoPath(seq, 'attempts')} = :zero REMOVE ${kommoPath(seq, 'outcome')}, ${kommoPath(seq, 'nextAttemptAtMs')}`,
        // Still the latest entry, settled without reaching Kommo, and no sync job at work.
        ConditionExpression:
          `size(#history) = :seq AND kommoSettledSeq = :seq AND ${kommoPath(seq, 'outcome')} IN (:refused, :deadLettered) ` +
          'AND (attribute_not_exists(leaseUntilMs) OR leaseUntilMs < :now)',
        ExpressionAttributeNames: { '#history': names['#history'], '#kommo': names['#kommo'] },
        ExpressionAttributeValues: {
          ':seq': seq,
          ':previous': seq - 1,
          ':zero': 0,
          ':refused': 'refused',
          ':deadLettered': 'dead-lettered',
          ':now': nowMs,
        },
      }),
    );
  }
}

function toStatusRecord(item: Record<string, unknown>): StatusRecord {
  const history = (item.history as StoredEntry[]).map((stored, index): StatusEntry => {
    const kommo: KommoDeliveryState = { attempts: Number(stored.kommo?.attempts ?? 0) };
    if (stored.kommo?.lastError !== undefined) kommo.lastError = stored.kommo.lastError;
    if (stored.kommo?.outcome !== undefined) kommo.outcome = stored.kommo.outcome;
    if (stored.kommo?.nextAttemptAtMs !== undefined) kommo.nextAttemptAtMs = Number(stored.kommo.nextAttemptAtMs);
    const base = { seq: index + 1, appliedAtMs: Number(stored.appliedAtMs), kommo };
    if (stored.status === 'error') {
      return {
        ...base,
        status: 'error',
        errorCode: Number(stored.errorCode) as DeliveryErrorCode,
        ...(stored.error !== undefined ? { error: stored.error } : {}),
      };
    }
    return { ...base, status: stored.status };
  });
  return {
    scopeId: String(item.scopeId),
    msgid: String(item.msgid),
    history,
    updatedAtMs: Number(item.updatedAtMs),
    kommoSettledSeq: Number(item.kommoSettledSeq ?? 0),
    syncRequestedAtMs: Number(item.syncRequestedAtMs ?? 0),
    ...(typeof item.leaseUntilMs === 'number' ? { leaseUntilMs: item.leaseUntilMs } : {}),
  };
}

/** The item an update with `ReturnValues: 'ALL_NEW'` wrote; DynamoDB always returns it when the write succeeded. */
function writtenItem(attributes: Record<string, unknown> | undefined): Record<string, unknown> {
  if (!attributes) throw new Error('DynamoDB returned no item for an update with ReturnValues ALL_NEW');
  return attributes;
}
