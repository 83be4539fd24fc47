import { DeleteCommand, GetCommand, PutCommand, QueryCommand, type QueryCommandInput } from '@aws-sdk/lib-dynamodb';
import { LIVE_ITEM_RETENTION_MS } from '../../domain/live-channel';
import type {
  LiveCaller,
  LiveChannelStore,
  LiveConnection,
  LiveTicket,
  LiveWatch,
  LiveWatcher,
} from '../../ports/live-channel';
import { epochSeconds, isConditionFailure, isLive, keyPart, partitionKey, type TableRef } from './table';

const ticketKey = (ticketId: string) => ({ pk: partitionKey('liveTicket', ticketId), sk: 'TICKET' });
const connectionKey = (connectionId: string) => ({
  pk: partitionKey('liveConnection', connectionId),
  sk: 'CONNECTION',
});
/** The numeric user id holds no `#`; the sort key starts with the connection, so one connection's watches are one key range. */
const watchPartition = (connection: Pick<LiveCaller, 'scopeId' | 'kommoUserId'>) =>
  partitionKey('liveWatch', connection.scopeId, String(connection.kommoUserId));
const watcherPartition = (scopeId: string, clientId: string) => partitionKey('liveWatcher', scopeId, clientId);
const watchSortKey = (connectionId: string, kommoConversationId: string) =>
  `${keyPart(connectionId)}#${keyPart(kommoConversationId)}`;

/** Every live item ends with its connection: API Gateway never keeps one longer. */
const keepUntil = (connectedAtMs: number) => epochSeconds(connectedAtMs + LIVE_ITEM_RETENTION_MS);

const optionalString = (item: Record<string, unknown>, name: string) =>
  typeof item[name] === 'string' ? { [name]: item[name] as string } : {};

function callerOf(item: Record<string, unknown>): LiveCaller {
  return {
    scopeId: String(item.scopeId),
    accountId: String(item.accountId),
    kommoAccountId: Number(item.kommoAccountId),
    kommoUserId: Number(item.kommoUserId),
  };
}

function watchOf(item: Record<string, unknown>): LiveWatch {
  return {
    connectionId: String(item.connectionId),
    kommoConversationId: String(item.kommoConversationId),
    ...optionalString(item, 'conversationId'),
    ...optionalString(item, 'clientId'),
    ...optionalString(item, 'userAmojoId'),
  };
}

export class DynamoLiveChannelStore implements LiveChannelStore {
  constructor(private readonly table: TableRef) {}

  async issueTicket(ticket: LiveTicket): Promise<void> {
    await this.table.doc.send(
      new PutCommand({
        TableName: this.table.tableName,
        Item: { ...ticketKey(ticket.ticketId), ...ticket, expiresAt: epochSeconds(ticket.validUntilMs) + 1 },
        // Tickets are random; a clash would be a bug, never a reason to hand one ticket to two callers.
        ConditionExpression: 'attribute_not_exists(pk)',
      }),
    );
  }

  async claimTicket(ticketId: string, nowMs: number): Promise<LiveTicket | undefined> {
    try {
      // The delete is the use: of racing connects with one ticket, exactly one deletes it.
      const { Attributes } = await this.table.doc.send(
        new DeleteCommand({
          TableName: this.table.tableName,
          Key: ticketKey(ticketId),
          ConditionExpression: 'validUntilMs > :now',
          ExpressionAttributeValues: { ':now': nowMs },
          ReturnValues: 'ALL_OLD',
        }),
      );
      if (!Attributes) return undefined;
      return { ticketId, validUntilMs: Number(Attributes.validUntilMs), ...callerOf(Attributes) };
    } catch (error) {
      if (isConditionFailure(error)) return undefined;
      throw error;
    }
  }

  async openConnection(connection: LiveConnection): Promise<void> {
    await this.table.doc.send(
      new PutCommand({
        TableName: this.table.tableName,
        Item: {
          ...connectionKey(connection.connectionId),
          ...connection,
          expiresAt: keepUntil(connection.connectedAtMs),
        },
      }),
    );
  }

  async connection(connectionId: string, nowMs: number): Promise<LiveConnection | undefined> {
    const { Item } = await this.table.doc.send(
      new GetCommand({ TableName: this.table.tableName, Key: connectionKey(connectionId), ConsistentRead: true }),
    );
    if (!Item || !isLive(Item, nowMs)) return undefined;
    return { connectionId, connectedAtMs: Number(Item.connectedAtMs), ...callerOf(Item) };
  }

  async closeConnection(connectionId: string): Promise<LiveConnection | undefined> {
    const { Attributes } = await this.table.doc.send(
      new DeleteCommand({ TableName: this.table.tableName, Key: connectionKey(connectionId), ReturnValues: 'ALL_OLD' }),
    );
    return Attributes
      ? { connectionId, connectedAtMs: Number(Attributes.connectedAtMs), ...callerOf(Attributes) }
      : undefined;
  }

  async watch(connection: LiveConnection, watch: LiveWatch): Promise<void> {
    const sk = watchSortKey(connection.connectionId, watch.kommoConversationId);
    const expiresAt = keepUntil(connection.connectedAtMs);
    const puts = [
      new PutCommand({
        TableName: this.table.tableName,
        Item: { pk: watchPartition(connection), sk, ...watch, expiresAt },
      }),
    ];
    if (watch.clientId !== undefined) {
      const watcher: LiveWatcher = {
        connectionId: connection.connectionId,
        kommoConversationId: watch.kommoConversationId,
        ...(watch.conversationId === undefined ? {} : { conversationId: watch.conversationId }),
      };
      puts.push(
        new PutCommand({
          TableName: this.table.tableName,
          Item: { pk: watcherPartition(connection.scopeId, watch.clientId), sk, ...watcher, expiresAt },
        }),
      );
    }
    // Not one transaction: a watcher left without its watch is removed by the first push that finds its connection gone.
    await Promise.all(puts.map((put) => this.table.doc.send(put)));
  }

  async unwatch(connection: LiveConnection, kommoConversationId: string): Promise<LiveWatch | undefined> {
    const sk = watchSortKey(connection.connectionId, kommoConversationId);
    const { Attributes } = await this.table.doc.send(
      new DeleteCommand({
        TableName: this.table.tableName,
        Key: { pk: watchPartition(connection), sk },
        ReturnValues: 'ALL_OLD',
      }),
    );
    if (!Attributes) return undefined;
    const watch = watchOf(Attributes);
    if (watch.clientId !== undefined) {
      await this.table.doc.send(
        new DeleteCommand({
          TableName: this.table.tableName,
          Key: { pk: watcherPartition(connection.scopeId, watch.clientId), sk },
        }),
      );
    }
    return watch;
  }

  async watchesOf(connection: LiveConnection, nowMs: number): Promise<LiveWatch[]> {
    const items = await this.query({
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :connection)',
      ExpressionAttributeValues: {
        ':pk': watchPartition(connection),
        ':connection': `${keyPart(connection.connectionId)}#`,
      },
    });
    return items.filter((item) => isLive(item, nowMs)).map(watchOf);
  }

  async watchedElsewhere(connection: LiveConnection, kommoConversationId: string, nowMs: number): Promise<boolean> {
    // One user's watches: a few connections (tabs) with a few chats each.
    const items = await this.query({
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': watchPartition(connection) },
    });
    return items.some(
      (item) =>
        isLive(item, nowMs) &&
        item.kommoConversationId === kommoConversationId &&
        item.connectionId !== connection.connectionId,
    );
  }

  async watchersOf(scopeId: string, clientId: string, nowMs: number): Promise<LiveWatcher[]> {
    const items = await this.query({
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': watcherPartition(scopeId, clientId) },
    });
    return items
      .filter((item) => isLive(item, nowMs))
      .map((item) => ({
        connectionId: String(item.connectionId),
        kommoConversationId: String(item.kommoConversationId),
        ...optionalString(item, 'conversationId'),
      }));
  }

  async forgetWatcher(scopeId: string, clientId: string, watcher: LiveWatcher): Promise<void> {
    await this.table.doc.send(
      new DeleteCommand({
        TableName: this.table.tableName,
        Key: {
          pk: watcherPartition(scopeId, clientId),
          sk: watchSortKey(watcher.connectionId, watcher.kommoConversationId),
        },
      }),
    );
  }

  private async query(
    input: Pick<QueryCommandInput, 'KeyConditionExpression' | 'ExpressionAttributeValues'>,
  ): Promise<Record<string, unknown>[]> {
    const items: Record<string, unknown>[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await this.table.doc.send(
        new QueryCommand({
          TableName: this.table.tableName,
          ...input,
          ConsistentRead: true,
          ...(startKey ? { ExclusiveStartKey: startKey } : {}),
        }),
      );
      items.push(...(page.Items ?? []));
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return items;
  }
}
