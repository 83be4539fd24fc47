import { DeleteCommand, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { KOMMO_USER_WINDOW_RETENTION_MS } from '../../domain/kommo-user-presence';
import type {
  KommoUserPresenceKey,
  KommoUserPresenceStore,
  KommoUserWindow,
  StoredKommoUserWindow,
} from '../../ports/kommo-user-presence-store';
import { epochSeconds, isConditionFailure, partitionKey, type TableRef, writeIf } from './table';

/**
 * The scope and the numeric user id hold no `#`, so the conversation id (which may) goes last and
 * no two keys can spell the same partition key.
 */
const pk = (key: KommoUserPresenceKey) =>
  partitionKey('kommoUserPresence', key.scopeId, key.userId, key.conversationId);
const WINDOW = 'WINDOW';

const keepUntil = (onlineUntilMs: number) => epochSeconds(onlineUntilMs + KOMMO_USER_WINDOW_RETENTION_MS);

function windowOf(item: Record<string, unknown> | undefined): StoredKommoUserWindow | undefined {
  if (!item || typeof item.windowId !== 'string') return undefined;
  return {
    windowId: item.windowId,
    openedAtMs: Number(item.openedAtMs),
    onlineUntilMs: Number(item.onlineUntilMs),
    lastSeenAtMs: Number(item.lastSeenAtMs),
    ...(typeof item.timerId === 'string' ? { timerId: item.timerId } : {}),
    ...(typeof item.kommoConversationId === 'string' ? { kommoConversationId: item.kommoConversationId } : {}),
    ...(typeof item.userAmojoId === 'string' ? { userAmojoId: item.userAmojoId } : {}),
    announced: item.announced === true,
  };
}

export class DynamoKommoUserPresenceStore implements KommoUserPresenceStore {
  constructor(private readonly table: TableRef) {}

  async extend(key: KommoUserPresenceKey, nowMs: number, onlineUntilMs: number): Promise<boolean> {
    return writeIf(
      this.table,
      new UpdateCommand({
        TableName: this.table.tableName,
        Key: { pk: pk(key), sk: WINDOW },
        UpdateExpression: 'SET onlineUntilMs = :until, lastSeenAtMs = :now, expiresAt = :exp',
        // Only an open window is extended: one that ended (even if its timer has not run) is a
        // transition, and one not announced yet is the transition of a heartbeat that failed half-way.
        ConditionExpression: 'onlineUntilMs > :now AND announced = :yes',
        ExpressionAttributeValues: {
          ':until': onlineUntilMs,
          ':now': nowMs,
          ':exp': keepUntil(onlineUntilMs),
          ':yes': true,
        },
      }),
    );
  }

  async open(
    key: KommoUserPresenceKey,
    window: KommoUserWindow,
    nowMs: number,
  ): Promise<{ opened: false } | { opened: true; lapsed?: KommoUserWindow }> {
    try {
      const { Attributes } = await this.table.doc.send(
        new PutCommand({
          TableName: this.table.tableName,
          Item: { pk: pk(key), sk: WINDOW, ...window, announced: false, expiresAt: keepUntil(window.onlineUntilMs) },
          ConditionExpression: 'attribute_not_exists(pk) OR onlineUntilMs <= :now',
          ExpressionAttributeValues: { ':now': nowMs },
          ReturnValues: 'ALL_OLD',
        }),
      );
      const lapsed = windowOf(Attributes);
      if (!lapsed) return { opened: true };
      const { announced: _, ...lapsedWindow } = lapsed;
      return { opened: true, lapsed: lapsedWindow };
    } catch (error) {
      if (isConditionFailure(error)) return { opened: false };
      throw error;
    }
  }

  async markAnnounced(key: KommoUserPresenceKey, windowId: string): Promise<void> {
    // Not written when the window already ended and went (an offline, or its timer): nothing left to mark.
    await writeIf(
      this.table,
      new UpdateCommand({
        TableName: this.table.tableName,
        Key: { pk: pk(key), sk: WINDOW },
        UpdateExpression: 'SET announced = :yes',
        ConditionExpression: 'windowId = :window',
        ExpressionAttributeValues: { ':yes': true, ':window': windowId },
      }),
    );
  }

  async passTimerOn(
    key: KommoUserPresenceKey,
    windowId: string,
    fromTimerId: string | undefined,
    toTimerId: string,
  ): Promise<boolean> {
    return writeIf(
      this.table,
      new UpdateCommand({
        TableName: this.table.tableName,
        Key: { pk: pk(key), sk: WINDOW },
        UpdateExpression: 'SET timerId = :to',
        // A window that names no timer yet is adopted once.
        ConditionExpression: `windowId = :window AND ${fromTimerId === undefined ? 'attribute_not_exists(timerId)' : 'timerId = :from'}`,
        ExpressionAttributeValues: {
          ':window': windowId,
          ':to': toTimerId,
          ...(fromTimerId === undefined ? {} : { ':from': fromTimerId }),
        },
      }),
    );
  }

  async read(key: KommoUserPresenceKey): Promise<StoredKommoUserWindow | undefined> {
    const { Item } = await this.table.doc.send(
      new GetCommand({ TableName: this.table.tableName, Key: { pk: pk(key), sk: WINDOW }, ConsistentRead: true }),
    );
    return windowOf(Item);
  }

  async close(key: KommoUserPresenceKey, windowId: string): Promise<boolean> {
    return writeIf(
      this.table,
      new DeleteCommand({
        TableName: this.table.tableName,
        Key: { pk: pk(key), sk: WINDOW },
        ConditionExpression: 'windowId = :window',
        ExpressionAttributeValues: { ':window': windowId },
      }),
    );
  }
}
