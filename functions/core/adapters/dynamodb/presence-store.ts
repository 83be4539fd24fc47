import { DeleteCommand, GetCommand, PutCommand, QueryCommand, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { LAST_SEEN_RETENTION_MS, type PresenceRecord } from '../../domain/presence-window';
import type { PresenceKey, PresenceStore, PresenceTransition } from '../../ports/presence-store';
import { epochSeconds, isConditionFailure, type TableRef } from './table';

const pk = (key: PresenceKey) => `PRESENCE#${key.scopeId}#${key.clientId}`;
/** `STATE#…` items sort together, so one query reads both and none of the transition log. */
const WINDOW = 'STATE#WINDOW';
const SEEN = 'STATE#SEEN';
const TRANSITION = 'TRANSITION#';

/** Sorts transitions in time order; the state breaks ties (offline before online at the same ms). */
const transitionSk = (transition: PresenceTransition) =>
  `${TRANSITION}${String(transition.atMs).padStart(15, '0')}#${transition.state === 'offline' ? 0 : 1}`;

export class DynamoPresenceStore implements PresenceStore {
  constructor(private readonly table: TableRef) {}

  async extend(key: PresenceKey, nowMs: number, onlineUntilMs: number): Promise<boolean> {
    try {
      await this.table.doc.send(
        new UpdateCommand({
          TableName: this.table.tableName,
          Key: { pk: pk(key), sk: WINDOW },
          UpdateExpression: 'SET onlineUntilMs = :until, lastSeenAtMs = :now, expiresAt = :exp',
          // Only an open window is extended; a lapsed one (even if TTL has not deleted it) needs a transition.
          ConditionExpression: 'onlineUntilMs > :now',
          ExpressionAttributeValues: { ':until': onlineUntilMs, ':now': nowMs, ':exp': Math.ceil(onlineUntilMs / 1000) },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  async open(key: PresenceKey, nowMs: number, onlineUntilMs: number) {
    try {
      const { Attributes } = await this.table.doc.send(
        new PutCommand({
          TableName: this.table.tableName,
          Item: { pk: pk(key), sk: WINDOW, onlineUntilMs, lastSeenAtMs: nowMs, openedAtMs: nowMs, expiresAt: Math.ceil(onlineUntilMs / 1000) },
          ConditionExpression: 'attribute_not_exists(pk) OR onlineUntilMs <= :now',
          ExpressionAttributeValues: { ':now': nowMs },
          ReturnValues: 'ALL_OLD',
        }),
      );
      const lapsed =
        Attributes && typeof Attributes.onlineUntilMs === 'number'
          ? { onlineUntilMs: Attributes.onlineUntilMs, lastSeenAtMs: Number(Attributes.lastSeenAtMs) }
          : undefined;
      return lapsed ? { opened: true, lapsed } : { opened: true };
    } catch (error) {
      if (isConditionFailure(error)) return { opened: false };
      throw error;
    }
  }

  async closeNow(key: PresenceKey, nowMs: number): Promise<{ closed: boolean; lastSeenAtMs?: number }> {
    try {
      const { Attributes } = await this.table.doc.send(
        new DeleteCommand({
          TableName: this.table.tableName,
          Key: { pk: pk(key), sk: WINDOW },
          ConditionExpression: 'onlineUntilMs > :now',
          ExpressionAttributeValues: { ':now': nowMs },
          ReturnValues: 'ALL_OLD',
        }),
      );
      return { closed: true, lastSeenAtMs: Number(Attributes?.lastSeenAtMs ?? nowMs) };
    } catch (error) {
      if (isConditionFailure(error)) return { closed: false };
      throw error;
    }
  }

  async closeExpired(key: PresenceKey, nowMs: number) {
    const { Item } = await this.table.doc.send(
      new GetCommand({ TableName: this.table.tableName, Key: { pk: pk(key), sk: WINDOW }, ConsistentRead: true }),
    );
    if (!Item) return { closed: false };
    const onlineUntilMs = Number(Item.onlineUntilMs);
    if (onlineUntilMs > nowMs) return { closed: false, stillOpenUntilMs: onlineUntilMs };
    try {
      await this.table.doc.send(
        new DeleteCommand({
          TableName: this.table.tableName,
          Key: { pk: pk(key), sk: WINDOW },
          // Not extended or reopened since we read it.
          ConditionExpression: 'onlineUntilMs = :until',
          ExpressionAttributeValues: { ':until': onlineUntilMs },
        }),
      );
      return { closed: true, onlineUntilMs, lastSeenAtMs: Number(Item.lastSeenAtMs) };
    } catch (error) {
      if (isConditionFailure(error)) return { closed: false };
      throw error;
    }
  }

  async recordTransition(key: PresenceKey, transition: PresenceTransition): Promise<void> {
    const keepUntil = epochSeconds(transition.atMs + LAST_SEEN_RETENTION_MS);
    await this.table.doc.send(
      new TransactWriteCommand({
        TransactItems: [
          {
            Update: {
              TableName: this.table.tableName,
              Key: { pk: pk(key), sk: SEEN },
              UpdateExpression: 'SET lastSeenAtMs = :seen, #state = :state, changedAtMs = :at, expiresAt = :exp',
              ConditionExpression: 'attribute_not_exists(lastSeenAtMs) OR lastSeenAtMs <= :seen',
              ExpressionAttributeNames: { '#state': 'state' },
              ExpressionAttributeValues: { ':seen': transition.lastSeenAtMs, ':state': transition.state, ':at': transition.atMs, ':exp': keepUntil },
            },
          },
          {
            Put: {
              TableName: this.table.tableName,
              Item: { pk: pk(key), sk: transitionSk(transition), ...transition, expiresAt: keepUntil },
            },
          },
        ],
      }),
    ).catch(async (error: unknown) => {
      // The transaction fails as a whole if last-seen would move back (an older transition recorded late); keep the log entry anyway.
      if (!(error instanceof Error && error.name === 'TransactionCanceledException')) throw error;
      await this.table.doc.send(
        new PutCommand({ TableName: this.table.tableName, Item: { pk: pk(key), sk: transitionSk(transition), ...transition, expiresAt: keepUntil } }),
      );
    });
  }

  async read(key: PresenceKey): Promise<PresenceRecord> {
    const { Items = [] } = await this.table.doc.send(
      new QueryCommand({
        TableName: this.table.tableName,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :state)',
        ExpressionAttributeValues: { ':pk': pk(key), ':state': 'STATE#' },
        ConsistentRead: true,
      }),
    );
    const record: PresenceRecord = {};
    for (const item of Items) {
      if (item.sk === WINDOW) {
        record.onlineUntilMs = Number(item.onlineUntilMs);
        record.windowLastSeenAtMs = Number(item.lastSeenAtMs);
      } else if (item.sk === SEEN) {
        record.lastSeenAtMs = Number(item.lastSeenAtMs);
      }
    }
    return record;
  }

  async transitions(key: PresenceKey): Promise<PresenceTransition[]> {
    const { Items = [] } = await this.table.doc.send(
      new QueryCommand({
        TableName: this.table.tableName,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
        ExpressionAttributeValues: { ':pk': pk(key), ':prefix': TRANSITION },
        ConsistentRead: true,
      }),
    );
    return Items.map((item) => ({ state: item.state as PresenceTransition['state'], atMs: Number(item.atMs), lastSeenAtMs: Number(item.lastSeenAtMs) }));
  }
}
