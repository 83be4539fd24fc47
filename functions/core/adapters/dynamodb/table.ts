import {
  ConditionalCheckFailedException,
  CreateTableCommand,
  DescribeTableCommand,
  type DynamoDBClient,
  ResourceInUseException,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, type DeleteCommand, type PutCommand, type UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { itemKinds, type ItemKind } from './item-kinds';

/**
 * The single table. Every item has a string `pk` and `sk`; items that expire carry `expiresAt`
 * (epoch seconds), the table's TTL attribute. DynamoDB deletes expired items up to days late, so
 * every read treats `expiresAt <= now` as absent; TTL only keeps the table small.
 * The CDK stack (infra/) declares the same keys; `createBridgeTable` is for DynamoDB Local.
 */
export const TABLE_KEYS = { partitionKey: 'pk', sortKey: 'sk' } as const;
export const TTL_ATTRIBUTE = 'expiresAt';

export interface TableRef {
  doc: DynamoDBDocumentClient;
  tableName: string;
}

export function documentClient(client: DynamoDBClient): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
}

/**
 * A partition key from a kind and id parts, joined by `#`. Parts come from callers (the chat service's
 * ids may hold anything), so `%` and `#` inside a part are escaped: `(a#b, c)` and `(a, b#c)` stay apart.
 */
export function partitionKey(kind: ItemKind, ...parts: string[]): string {
  return [itemKinds[kind], ...parts.map(keyPart)].join('#');
}

/** One caller-given part of a key, escaped as `partitionKey` escapes it (for sort keys made of several ids). */
export function keyPart(part: string): string {
  return part.replaceAll('%', '%25').replaceAll('#', '%23');
}

export const epochSeconds = (ms: number) => Math.floor(ms / 1000);

/** True for a live item: one without `expiresAt`, or whose `expiresAt` is still ahead of `nowMs`. */
export function isLive(item: { expiresAt?: number } | undefined, nowMs: number): boolean {
  return item !== undefined && (item.expiresAt === undefined || item.expiresAt * 1000 > nowMs);
}

export function isConditionFailure(error: unknown): boolean {
  return (
    error instanceof ConditionalCheckFailedException ||
    (error instanceof Error && error.name === 'ConditionalCheckFailedException')
  );
}

export interface CreateTableOptions {
  /**
   * Turn on TTL deletion (default true). DynamoDB Local deletes expired items by the wall clock, so
   * tests that run on a manual clock turn it off: their item times are not wall-clock times.
   */
  ttl?: boolean;
}

/** Sends a conditional write; false when its condition decided against it (another writer got there first). */
export async function writeIf(table: TableRef, command: UpdateCommand | PutCommand | DeleteCommand): Promise<boolean> {
  try {
    // One call for the three command types: `send` is overloaded per command, not over their union.
    await table.doc.send(command as UpdateCommand);
    return true;
  } catch (error) {
    if (isConditionFailure(error)) return false;
    throw error;
  }
}

/** Creates the table (idempotent) with the keys and TTL the CDK stack declares. */
export async function createBridgeTable(
  client: DynamoDBClient,
  tableName: string,
  options: CreateTableOptions = {},
): Promise<void> {
  try {
    await client.send(
      new CreateTableCommand({
        TableName: tableName,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [
          { AttributeName: TABLE_KEYS.partitionKey, AttributeType: 'S' },
          { AttributeName: TABLE_KEYS.sortKey, AttributeType: 'S' },
        ],
        KeySchema: [
          { AttributeName: TABLE_KEYS.partitionKey, KeyType: 'HASH' },
          { AttributeName: TABLE_KEYS.sortKey, KeyType: 'RANGE' },
        ],
      }),
    );
  } catch (error) {
    if (!(error instanceof ResourceInUseException)) throw error;
    return;
  }
  for (let i = 0; i < 50; i += 1) {
    const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
    if (Table?.TableStatus === 'ACTIVE') break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  if (options.ttl === false) return;
  await client.send(
    new UpdateTimeToLiveCommand({
      TableName: tableName,
      TimeToLiveSpecification: { AttributeName: TTL_ATTRIBUTE, Enabled: true },
    }),
  );
}
