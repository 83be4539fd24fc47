import { randomUUID } from 'node:crypto';
import { GetCommand, QueryCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, inject } from 'vitest';
import { createBridgeTable, documentClient, type TableRef } from '../../functions/core/adapters/dynamodb/table';
import { localDynamoClient } from '../../local/dynamodb-local';

/**
 * A table of its own on the run's DynamoDB Local for one store's integration file, made before its
 * tests and closed after them, and a look at the raw items the store wrote (TTL attribute included).
 * TTL deletion is off: DynamoDB Local reaps by the wall clock, and these tests set their own times.
 */
export function storeTable(name: string) {
  const dynamo = localDynamoClient(inject('dynamoEndpoint'));
  const table: TableRef = { doc: documentClient(dynamo), tableName: `${name}-${randomUUID()}` };
  beforeAll(() => createBridgeTable(dynamo, table.tableName, { ttl: false }));
  afterAll(() => dynamo.destroy());
  return {
    table,
    /** One item as stored, or undefined. */
    async item(pk: string, sk: string): Promise<Record<string, unknown> | undefined> {
      const { Item } = await table.doc.send(
        new GetCommand({ TableName: table.tableName, Key: { pk, sk }, ConsistentRead: true }),
      );
      return Item;
    },
    /** Every item of a partition, by sort key. */
    async partition(pk: string): Promise<Record<string, unknown>[]> {
      const { Items } = await table.doc.send(
        new QueryCommand({
          TableName: table.tableName,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': pk },
          ConsistentRead: true,
        }),
      );
      return Items ?? [];
    },
    /** Every item of the table whose `attribute` is `value`, whatever its key (the table holds one file's items). */
    async itemsWhere(attribute: string, value: string | number): Promise<Record<string, unknown>[]> {
      const items: Record<string, unknown>[] = [];
      let startKey: Record<string, unknown> | undefined;
      do {
        const page = await table.doc.send(
          new ScanCommand({
            TableName: table.tableName,
            FilterExpression: '#attribute = :value',
            ExpressionAttributeNames: { '#attribute': attribute },
            ExpressionAttributeValues: { ':value': value },
            ConsistentRead: true,
            ...(startKey ? { ExclusiveStartKey: startKey } : {}),
          }),
        );
        items.push(...(page.Items ?? []));
        startKey = page.LastEvaluatedKey;
      } while (startKey);
      return items;
    },
  };
}
