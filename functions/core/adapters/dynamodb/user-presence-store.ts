import { GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { USER_PRESENCE_RETENTION_MS } from '../../domain/user-presence';
import type { UserPresenceKey, UserPresenceRecord, UserPresenceStore } from '../../ports/user-presence-store';
import { epochSeconds, isConditionFailure, partitionKey, type TableRef, writeIf } from './table';

const key = (user: UserPresenceKey) => ({
  pk: partitionKey('userPresence', user.scopeId, String(user.kommoUserId)),
  sk: 'INTERFACE',
});
/** Each visible connection is an attribute of its own, so one update adds or removes it without a read. */
const CONNECTION = 'conn#';
const keepUntil = (nowMs: number) => epochSeconds(nowMs + USER_PRESENCE_RETENTION_MS);

function recordOf(item: Record<string, unknown> | undefined): UserPresenceRecord | undefined {
  if (!item) return undefined;
  const visible: Record<string, number> = {};
  for (const [name, value] of Object.entries(item)) {
    if (name.startsWith(CONNECTION)) visible[name.slice(CONNECTION.length)] = Number(value);
  }
  return {
    state: item.state === 'online' ? 'online' : 'offline',
    ...(typeof item.periodId === 'string' ? { periodId: item.periodId } : {}),
    visible,
    ...(typeof item.hiddenAtMs === 'number' ? { hiddenAtMs: item.hiddenAtMs } : {}),
    version: Number(item.version ?? 0),
    ...(typeof item.checkDueAtMs === 'number' ? { checkDueAtMs: item.checkDueAtMs } : {}),
    offlineSent: item.offlineSent === true,
    ...(typeof item.userAmojoId === 'string' ? { userAmojoId: item.userAmojoId } : {}),
  };
}

/**
 * One item per Kommo user (`USER_PRESENCE#<scope>#<user>`, sort key `INTERFACE`). Every transition
 * is a conditional write, so of racing frames and checks one decides; `expiresAt` only collects
 * the item long after its last change.
 */
export class DynamoUserPresenceStore implements UserPresenceStore {
  constructor(private readonly table: TableRef) {}

  async read(user: UserPresenceKey): Promise<UserPresenceRecord | undefined> {
    const { Item } = await this.table.doc.send(
      new GetCommand({ TableName: this.table.tableName, Key: key(user), ConsistentRead: true }),
    );
    return recordOf(Item);
  }

  async setVisible(
    user: UserPresenceKey,
    connectionId: string,
    untilMs: number,
    nowMs: number,
    userAmojoId?: string,
  ): Promise<UserPresenceRecord> {
    const { Attributes } = await this.table.doc.send(
      new UpdateCommand({
        TableName: this.table.tableName,
        Key: key(user),
        UpdateExpression: `SET #c = :until, expiresAt = :exp, #state = if_not_exists(#state, :offline)${
          userAmojoId === undefined ? '' : ', userAmojoId = :amojo'
        } ADD version :one`,
        ExpressionAttributeNames: { '#c': CONNECTION + connectionId, '#state': 'state' },
        ExpressionAttributeValues: {
          ':until': untilMs,
          ':exp': keepUntil(nowMs),
          ':offline': 'offline',
          ':one': 1,
          ...(userAmojoId === undefined ? {} : { ':amojo': userAmojoId }),
        },
        ReturnValues: 'ALL_NEW',
      }),
    );
    const record = recordOf(Attributes);
    // ReturnValues ALL_NEW always returns the item an update wrote.
    if (!record) throw new Error('DynamoDB answered an update with ReturnValues ALL_NEW without the item');
    return record;
  }

  async renewVisible(
    user: UserPresenceKey,
    connectionId: string,
    untilMs: number,
    nowMs: number,
  ): Promise<UserPresenceRecord | undefined> {
    try {
      const { Attributes } = await this.table.doc.send(
        new UpdateCommand({
          TableName: this.table.tableName,
          Key: key(user),
          UpdateExpression: 'SET #c = :until, expiresAt = :exp',
          ConditionExpression: 'attribute_exists(#c)',
          ExpressionAttributeNames: { '#c': CONNECTION + connectionId },
          ExpressionAttributeValues: { ':until': untilMs, ':exp': keepUntil(nowMs) },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return recordOf(Attributes);
    } catch (error) {
      if (isConditionFailure(error)) return undefined;
      throw error;
    }
  }

  async setHidden(user: UserPresenceKey, connectionId: string, nowMs: number): Promise<UserPresenceRecord | undefined> {
    try {
      const { Attributes } = await this.table.doc.send(
        new UpdateCommand({
          TableName: this.table.tableName,
          Key: key(user),
          UpdateExpression: 'REMOVE #c SET hiddenAtMs = :now, expiresAt = :exp ADD version :one',
          ConditionExpression: 'attribute_exists(#c)',
          ExpressionAttributeNames: { '#c': CONNECTION + connectionId },
          ExpressionAttributeValues: { ':now': nowMs, ':exp': keepUntil(nowMs), ':one': 1 },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return recordOf(Attributes);
    } catch (error) {
      if (isConditionFailure(error)) return undefined;
      throw error;
    }
  }

  goOnline(user: UserPresenceKey, periodId: string, checkDueAtMs: number, nowMs: number): Promise<boolean> {
    return writeIf(
      this.table,
      new UpdateCommand({
        TableName: this.table.tableName,
        Key: key(user),
        UpdateExpression:
          'SET #state = :online, periodId = :period, checkDueAtMs = :due, offlineSent = :no, expiresAt = :exp',
        ConditionExpression: '#state <> :online',
        ExpressionAttributeNames: { '#state': 'state' },
        ExpressionAttributeValues: {
          ':online': 'online',
          ':period': periodId,
          ':due': checkDueAtMs,
          ':no': false,
          ':exp': keepUntil(nowMs),
        },
      }),
    );
  }

  goOffline(user: UserPresenceKey, periodId: string, version: number, nowMs: number): Promise<boolean> {
    return writeIf(
      this.table,
      new UpdateCommand({
        TableName: this.table.tableName,
        Key: key(user),
        UpdateExpression: 'SET #state = :offline, expiresAt = :exp REMOVE checkDueAtMs',
        ConditionExpression: '#state = :online AND periodId = :period AND version = :version',
        ExpressionAttributeNames: { '#state': 'state' },
        ExpressionAttributeValues: {
          ':offline': 'offline',
          ':online': 'online',
          ':period': periodId,
          ':version': version,
          ':exp': keepUntil(nowMs),
        },
      }),
    );
  }

  async markOfflineSent(user: UserPresenceKey, periodId: string): Promise<void> {
    await writeIf(
      this.table,
      new UpdateCommand({
        TableName: this.table.tableName,
        Key: key(user),
        UpdateExpression: 'SET offlineSent = :yes',
        ConditionExpression: 'periodId = :period',
        ExpressionAttributeValues: { ':yes': true, ':period': periodId },
      }),
    );
  }

  moveCheck(
    user: UserPresenceKey,
    periodId: string,
    fromDueAtMs: number | undefined,
    toDueAtMs: number,
    lostBeforeMs: number,
  ): Promise<boolean> {
    const holds =
      fromDueAtMs === undefined
        ? '(attribute_not_exists(checkDueAtMs) OR checkDueAtMs > :to OR checkDueAtMs < :lost)'
        : 'checkDueAtMs = :from';
    return writeIf(
      this.table,
      new UpdateCommand({
        TableName: this.table.tableName,
        Key: key(user),
        UpdateExpression: 'SET checkDueAtMs = :to',
        ConditionExpression: `#state = :online AND periodId = :period AND ${holds}`,
        ExpressionAttributeNames: { '#state': 'state' },
        ExpressionAttributeValues: {
          ':online': 'online',
          ':period': periodId,
          ':to': toDueAtMs,
          ...(fromDueAtMs === undefined ? { ':lost': lostBeforeMs } : { ':from': fromDueAtMs }),
        },
      }),
    );
  }
}
