import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import {
  DeleteCommand,
  GetCommand,
  PutCommand,
  QueryCommand,
  TransactWriteCommand,
  UpdateCommand,
  type QueryCommandInput,
} from '@aws-sdk/lib-dynamodb';
import { LIVE_ITEM_RETENTION_MS } from '../../domain/live-channel';
import type {
  LiveCaller,
  LiveChannelStore,
  LiveConnection,
  LiveTicket,
  LiveWatch,
  LiveWatcher,
  WatchOutcome,
} from '../../ports/live-channel';
import { epochSeconds, isConditionFailure, isLive, keyPart, partitionKey, type TableRef } from './table';

const ticketKey = (ticketId: string) => ({ pk: partitionKey('liveTicket', ticketId), sk: 'TICKET' });
const connectionKey = (connectionId: string) => ({
  pk: partitionKey('liveConnection', connectionId),
  sk: 'CONNECTION',
});
/** An account's open connections (by its amojo id), so that its disconnect finds them in one Query. */
const accountConnectionKey = (accountId: string, connectionId: string) => ({
  pk: partitionKey('liveAccount', accountId),
  sk: keyPart(connectionId),
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

function connectionOf(connectionId: string, item: Record<string, unknown>): LiveConnection {
  return {
    connectionId,
    connectedAtMs: Number(item.connectedAtMs),
    ...callerOf(item),
    ...(item.visible === true ? { visible: true as const } : {}),
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
    const expiresAt = keepUntil(connection.connectedAtMs);
    // `watchCount` is the connection's watches, counted by the conditional write that adds one (`watch`).
    await this.table.doc.send(
      new TransactWriteCommand({
        TransactItems: [
          {
            Put: {
              TableName: this.table.tableName,
              Item: { ...connectionKey(connection.connectionId), ...connection, watchCount: 0, expiresAt },
            },
          },
          {
            Put: {
              TableName: this.table.tableName,
              Item: {
                ...accountConnectionKey(connection.accountId, connection.connectionId),
                connectionId: connection.connectionId,
                expiresAt,
              },
            },
          },
        ],
      }),
    );
  }

  async connection(connectionId: string, nowMs: number): Promise<LiveConnection | undefined> {
    const { Item } = await this.table.doc.send(
      new GetCommand({ TableName: this.table.tableName, Key: connectionKey(connectionId), ConsistentRead: true }),
    );
    if (!Item || !isLive(Item, nowMs)) return undefined;
    return connectionOf(connectionId, Item);
  }

  async setConnectionVisible(connectionId: string, visible: boolean): Promise<boolean> {
    try {
      await this.table.doc.send(
        new UpdateCommand({
          TableName: this.table.tableName,
          Key: connectionKey(connectionId),
          UpdateExpression: visible ? 'SET visible = :visible' : 'REMOVE visible',
          ConditionExpression: 'attribute_exists(pk)',
          ...(visible ? { ExpressionAttributeValues: { ':visible': true } } : {}),
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  async closeConnection(connectionId: string): Promise<LiveConnection | undefined> {
    const { Attributes } = await this.table.doc.send(
      new DeleteCommand({ TableName: this.table.tableName, Key: connectionKey(connectionId), ReturnValues: 'ALL_OLD' }),
    );
    if (!Attributes) return undefined;
    const connection = connectionOf(connectionId, Attributes);
    await this.table.doc.send(
      new DeleteCommand({
        TableName: this.table.tableName,
        Key: accountConnectionKey(connection.accountId, connectionId),
      }),
    );
    return connection;
  }

  async connectionsOfAccount(accountId: string, nowMs: number): Promise<string[]> {
    const items = await this.query({
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': partitionKey('liveAccount', accountId) },
    });
    return items.filter((item) => isLive(item, nowMs)).map((item) => String(item.connectionId));
  }

  /**
   * One transaction: the connection's count goes up by one only while the connection is there and
   * under `maxWatches`, and the watch is new. So racing watches never pass the limit together, and no
   * watch is written once `$disconnect` has removed its connection (which then would never end it).
   * A watch already there is renewed under the same check that the connection is open.
   */
  async watch(connection: LiveConnection, watch: LiveWatch, maxWatches: number): Promise<WatchOutcome> {
    const sk = watchSortKey(connection.connectionId, watch.kommoConversationId);
    const expiresAt = keepUntil(connection.connectedAtMs);
    const watchItem = { pk: watchPartition(connection), sk, ...watch, expiresAt };
    const watcherPut =
      watch.clientId === undefined
        ? []
        : [
            {
              Put: {
                TableName: this.table.tableName,
                Item: {
                  pk: watcherPartition(connection.scopeId, watch.clientId),
                  sk,
                  connectionId: connection.connectionId,
                  kommoConversationId: watch.kommoConversationId,
                  ...(watch.conversationId === undefined ? {} : { conversationId: watch.conversationId }),
                  expiresAt,
                },
              },
            },
          ];
    for (let attempt = 0; attempt < 3; attempt += 1) {
      const added = await this.transact([
        {
          Update: {
            TableName: this.table.tableName,
            Key: connectionKey(connection.connectionId),
            UpdateExpression: 'ADD watchCount :one',
            ConditionExpression: 'attribute_exists(pk) AND (attribute_not_exists(watchCount) OR watchCount < :max)',
            ExpressionAttributeValues: { ':one': 1, ':max': maxWatches },
            ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          },
        },
        { Put: { TableName: this.table.tableName, Item: watchItem, ConditionExpression: 'attribute_not_exists(pk)' } },
        ...watcherPut,
      ]);
      if (added === 'written') return 'watching';
      const [connectionCheck, watchCheck] = added;
      if (watchCheck?.Code !== 'ConditionalCheckFailed') {
        return connectionCheck?.Item === undefined ? 'closed' : 'too_many';
      }
      // Watched already: renew it, while both the connection and the watch are there.
      const renewed = await this.transact([
        {
          ConditionCheck: {
            TableName: this.table.tableName,
            Key: connectionKey(connection.connectionId),
            ConditionExpression: 'attribute_exists(pk)',
          },
        },
        { Put: { TableName: this.table.tableName, Item: watchItem, ConditionExpression: 'attribute_exists(pk)' } },
        ...watcherPut,
      ]);
      if (renewed === 'written') return 'watching';
      if (renewed[0]?.Code === 'ConditionalCheckFailed') return 'closed';
      // The watch ended in between (an unwatch): add it again.
    }
    throw new Error('live watch contended beyond retries');
  }

  /** Ends a watch and gives its place back to the connection's count (when the connection is still there). */
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
    try {
      await this.table.doc.send(
        new UpdateCommand({
          TableName: this.table.tableName,
          Key: connectionKey(connection.connectionId),
          UpdateExpression: 'ADD watchCount :minusOne',
          ConditionExpression: 'attribute_exists(pk) AND watchCount > :zero',
          ExpressionAttributeValues: { ':minusOne': -1, ':zero': 0 },
        }),
      );
    } catch (error) {
      // A closed connection counts nothing any more.
      if (!isConditionFailure(error)) throw error;
    }
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

  /** A transaction: `written`, or each item's cancellation reason (a failed condition carries the item as it was). */
  private async transact(
    items: NonNullable<ConstructorParameters<typeof TransactWriteCommand>[0]['TransactItems']>,
  ): Promise<'written' | { Code?: string; Item?: Record<string, unknown> }[]> {
    try {
      await this.table.doc.send(new TransactWriteCommand({ TransactItems: items }));
      return 'written';
    } catch (error) {
      if (error instanceof TransactionCanceledException || (error as Error).name === 'TransactionCanceledException') {
        const reasons = (error as TransactionCanceledException).CancellationReasons ?? [];
        if (reasons.some((reason) => reason.Code === 'ConditionalCheckFailed'))
          return reasons as { Code?: string; Item?: Record<string, unknown> }[];
      }
      throw error;
    }
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
