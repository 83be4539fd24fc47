import { AsyncLocalStorage } from 'node:async_hooks';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { itemKinds, itemKindOf } from '../functions/core/adapters/dynamodb/item-kinds';
import { TABLE_KEYS } from '../functions/core/adapters/dynamodb/table';
import { functions, type FunctionName } from '../functions/manifest';

/**
 * The local runtime's stand-in for each function's IAM policy on the table. In AWS a function may
 * touch only the item kinds its manifest entry names (infra/constructs/bridge-table.ts grants them through
 * `dynamodb:LeadingKeys`); locally every function shares one process and one DynamoDB client, so this
 * check refuses the same calls, the way AWS would: a change that makes a function touch an item kind
 * it was not granted fails every test that takes that path, instead of failing in production.
 */

/** The function whose invocation is running (set around each local invocation). */
export const runningFunction = new AsyncLocalStorage<FunctionName>();

type Access = 'read' | 'write';

type ItemKey = Record<string, unknown>;

/** The fields of a DynamoDB call's wire-level input this check reads; each command has some of them. */
export interface TableCallInput {
  Key?: ItemKey;
  Item?: ItemKey;
  KeyConditionExpression?: string;
  ExpressionAttributeNames?: Record<string, string>;
  ExpressionAttributeValues?: Record<string, unknown>;
  TransactItems?: {
    Put?: { Item: ItemKey };
    Update?: { Key: ItemKey };
    Delete?: { Key: ItemKey };
    ConditionCheck?: { Key: ItemKey };
    Get?: { Key: ItemKey };
  }[];
  /** BatchGetItem: `{ Keys }` per table; BatchWriteItem: put and delete requests per table. */
  RequestItems?: Record<string, unknown>;
}

/** A DynamoDB call's items as (partition key, access) pairs, from the wire-level input. */
function touchedItems(commandName: string, input: TableCallInput): { partitionKey: unknown; access: Access }[] {
  const pk = (key: ItemKey | undefined) => key?.[TABLE_KEYS.partitionKey];
  switch (commandName) {
    case 'GetItemCommand':
      return [{ partitionKey: pk(input.Key), access: 'read' }];
    case 'PutItemCommand':
      return [{ partitionKey: pk(input.Item), access: 'write' }];
    case 'UpdateItemCommand':
    case 'DeleteItemCommand':
      return [{ partitionKey: pk(input.Key), access: 'write' }];
    case 'QueryCommand':
      return [{ partitionKey: queriedPartitionKey(input), access: 'read' }];
    case 'TransactWriteItemsCommand':
      return (input.TransactItems ?? []).map((item) => {
        if (item.Put) return { partitionKey: pk(item.Put.Item), access: 'write' as const };
        if (item.Update) return { partitionKey: pk(item.Update.Key), access: 'write' as const };
        if (item.Delete) return { partitionKey: pk(item.Delete.Key), access: 'write' as const };
        return { partitionKey: pk(item.ConditionCheck?.Key), access: 'read' as const };
      });
    case 'TransactGetItemsCommand':
      return (input.TransactItems ?? []).map((item) => ({
        partitionKey: pk(item.Get?.Key),
        access: 'read' as const,
      }));
    case 'BatchGetItemCommand':
      return Object.values((input.RequestItems ?? {}) as Record<string, { Keys: ItemKey[] }>).flatMap((request) =>
        request.Keys.map((key) => ({ partitionKey: pk(key), access: 'read' as const })),
      );
    case 'BatchWriteItemCommand':
      return Object.values(
        (input.RequestItems ?? {}) as Record<
          string,
          { PutRequest?: { Item: ItemKey }; DeleteRequest?: { Key: ItemKey } }[]
        >,
      ).flatMap((requests) =>
        requests.map((request) => ({
          partitionKey: pk(request.PutRequest?.Item ?? request.DeleteRequest?.Key),
          access: 'write' as const,
        })),
      );
    default:
      // Scan, DescribeTable, CreateTable, …: no leading key, so no function is granted them.
      return [{ partitionKey: undefined, access: 'write' }];
  }
}

/** The partition key of `pk = :value` in a Query's key condition. */
function queriedPartitionKey(input: TableCallInput): unknown {
  const names = input.ExpressionAttributeNames ?? {};
  for (const match of String(input.KeyConditionExpression ?? '').matchAll(/(#?\w+)\s*=\s*(:\w+)/g)) {
    const attribute = names[match[1]!] ?? match[1];
    if (attribute === TABLE_KEYS.partitionKey) return input.ExpressionAttributeValues?.[match[2]!];
  }
  return undefined;
}

/** A string partition key, whether the input is marshalled (`{ S: … }`) or not. */
function keyString(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  const marshalled = (value as { S?: unknown } | undefined)?.S;
  return typeof marshalled === 'string' ? marshalled : undefined;
}

export class AccessDeniedByManifest extends Error {
  override readonly name = 'AccessDeniedException';
}

/** Why `functionName` may not make this call, or undefined when its manifest entry grants it. */
export function refusal(functionName: FunctionName, commandName: string, input: TableCallInput): string | undefined {
  const spec = functions.find((candidate) => candidate.name === functionName)!;
  const table = spec.table === 'none' ? { read: [], readWrite: [] } : spec.table;
  for (const item of touchedItems(commandName, input)) {
    const key = keyString(item.partitionKey);
    const kind = key === undefined ? undefined : itemKindOf(key);
    const granted =
      kind !== undefined && (table.readWrite.includes(kind) || (item.access === 'read' && table.read.includes(kind)));
    if (!granted) {
      const what =
        kind === undefined
          ? `an item without a known kind (${key ?? 'no partition key'})`
          : `${itemKinds[kind]} items (${kind})`;
      return `${functionName} may not ${item.access} ${what} with ${commandName.replace(/Command$/, '')}: functions/manifest.ts does not grant it`;
    }
  }
  return undefined;
}

/** Makes `client` refuse, inside a function's invocation, what that function's IAM policy would refuse. */
export function enforceTableGrants(client: DynamoDBClient): void {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const functionName = runningFunction.getStore();
      if (functionName !== undefined) {
        const reason = refusal(functionName, context.commandName ?? '', args.input as TableCallInput);
        if (reason !== undefined) throw new AccessDeniedByManifest(reason);
      }
      return next(args);
    },
    // After the document client's marshalling (initialize), before the request is signed and sent.
    { step: 'build', name: 'localTableGrants', override: true },
  );
}
