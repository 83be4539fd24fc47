import { randomUUID } from 'node:crypto';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';

/** One write request the bridge sent to DynamoDB, as a meter saw it. */
export interface MeteredWrite {
  command: string;
  /** The partition keys it targeted. */
  keys: string[];
  /** Refused by its condition (or a cancelled transaction): DynamoDB still charges for it. */
  refused: boolean;
  /** Write capacity units as AWS charges them for items under 1 KB (see `writeUnits`). */
  units: number;
  /** `ConsumedCapacity.CapacityUnits` when DynamoDB reports it (DynamoDB Local's figure, not AWS's bill). */
  reportedUnits: number | undefined;
}

/** One read request the bridge sent to DynamoDB, as a meter saw it. */
export interface MeteredRead {
  command: string;
  keys: string[];
  consistent: boolean;
  /** Read request units as AWS charges them on demand (see `readUnits`). */
  units: number;
  reportedUnits: number | undefined;
}

const READ_COMMANDS = new Set(['GetItem', 'Query', 'Scan', 'BatchGetItem', 'TransactGetItems']);
const READ_BLOCK_BYTES = 4 * 1024;
const WRITE_BLOCK_BYTES = 1024;

/** An attribute value's size as DynamoDB counts it: UTF-8 bytes of strings, about 1 byte per 2 digits of numbers. */
function valueBytes(value: unknown): number {
  if (value === null || value === undefined || typeof value === 'boolean') return 1;
  if (typeof value === 'string') return Buffer.byteLength(value);
  if (typeof value === 'number' || typeof value === 'bigint')
    return Math.ceil(String(value).replace(/[-.]/g, '').length / 2) + 1;
  if (value instanceof Uint8Array) return value.byteLength;
  if (Array.isArray(value)) return 3 + value.reduce((sum: number, item) => sum + 1 + valueBytes(item), 0);
  if (value instanceof Set) return [...value].reduce((sum: number, item) => sum + valueBytes(item), 0);
  if (typeof value === 'object') {
    const attribute = value as Record<string, unknown>;
    // A low-level attribute value (`{ S: … }`, `{ N: … }`): its one field is the value.
    const keys = Object.keys(attribute);
    if (keys.length === 1 && ['S', 'N', 'B', 'BOOL', 'NULL', 'L', 'M', 'SS', 'NS'].includes(keys[0]!)) {
      return keys[0] === 'N' ? valueBytes(Number(attribute.N)) : valueBytes(attribute[keys[0]!]);
    }
    return (
      3 +
      Object.entries(attribute).reduce((sum, [name, item]) => sum + 1 + Buffer.byteLength(name) + valueBytes(item), 0)
    );
  }
  return 1;
}

/** An item's size as DynamoDB bills it: attribute names plus values. */
export function itemBytes(item: Record<string, unknown> | undefined): number {
  if (!item) return 0;
  return Object.entries(item).reduce((sum, [name, value]) => sum + Buffer.byteLength(name) + valueBytes(value), 0);
}

const WRITE_COMMANDS = new Set(['PutItem', 'UpdateItem', 'DeleteItem', 'BatchWriteItem', 'TransactWriteItems']);

/** `pk` whether the command carries it native (document client) or as an attribute value (`{ S }`). */
function keyOf(key: unknown): string {
  const pk = (key as { pk?: unknown } | undefined)?.pk;
  return typeof pk === 'string' ? pk : String((pk as { S?: string } | undefined)?.S ?? '');
}

function keysOf(command: string, input: Record<string, any>): string[] {
  if (command === 'TransactWriteItems') {
    return (input.TransactItems ?? []).map((item: Record<string, any>) => {
      const operation = item.Put ?? item.Update ?? item.Delete ?? item.ConditionCheck;
      return keyOf(operation?.Item ?? operation?.Key);
    });
  }
  if (command === 'BatchWriteItem') {
    return Object.values(input.RequestItems ?? {}).flatMap((requests) =>
      (requests as Record<string, any>[]).map((request) =>
        keyOf(request.PutRequest?.Item ?? request.DeleteRequest?.Key),
      ),
    );
  }
  return [keyOf(input.Item ?? input.Key)];
}

/**
 * AWS's on-demand pricing: a write is 1 WRU per started KB of the item, a write refused by its
 * condition still 1 WRU, and every item of a transaction twice that. A `Put`'s size is known from its
 * input; an `Update`'s is the whole item after it, which only DynamoDB knows: DynamoDB Local's
 * `ConsumedCapacity` (per KB too, but one per transaction item and nothing for a refusal) raises the
 * figure when larger, so a grown item is not counted as 1 KB.
 */
function writeUnits(command: string, input: Record<string, any>, keys: readonly string[]): number {
  if (command === 'TransactWriteItems') {
    return (input.TransactItems ?? []).reduce(
      (sum: number, item: Record<string, any>) =>
        sum + 2 * Math.max(1, Math.ceil(itemBytes(item.Put?.Item) / WRITE_BLOCK_BYTES)),
      0,
    );
  }
  if (command === 'PutItem') return Math.max(1, Math.ceil(itemBytes(input.Item) / WRITE_BLOCK_BYTES));
  return keys.length;
}

/** Read keys: the `Key`, the query's `:pk`, or every key of a batch or transaction. */
function readKeysOf(command: string, input: Record<string, any>): string[] {
  if (command === 'TransactGetItems')
    return (input.TransactItems ?? []).map((item: Record<string, any>) => keyOf(item.Get?.Key));
  if (command === 'BatchGetItem')
    return Object.values(input.RequestItems ?? {}).flatMap((request) =>
      ((request as { Keys?: unknown[] }).Keys ?? []).map(keyOf),
    );
  if (command === 'Query')
    return [String(input.ExpressionAttributeValues?.[':pk']?.S ?? input.ExpressionAttributeValues?.[':pk'] ?? '')];
  return [keyOf(input.Key)];
}

/**
 * AWS's on-demand read pricing: per started 4 KB returned (at least one block, found or not), a strongly
 * consistent read 1 RRU, an eventually consistent one 0.5, a transactional one 2 per item. A query or
 * scan sums its items' sizes before rounding up.
 */
function readUnits(command: string, input: Record<string, any>, output: Record<string, any>): number {
  const blocks = (bytes: number) => Math.max(1, Math.ceil(bytes / READ_BLOCK_BYTES));
  const perBlock = input.ConsistentRead ? 1 : 0.5;
  if (command === 'TransactGetItems')
    return (output.Responses ?? []).reduce(
      (sum: number, response: Record<string, any>) => sum + 2 * blocks(itemBytes(response?.Item)),
      0,
    );
  if (command === 'BatchGetItem') {
    const items = Object.values(output.Responses ?? {}).flat() as Record<string, unknown>[];
    return items.reduce((sum: number, item) => sum + perBlock * blocks(itemBytes(item)), 0) || perBlock;
  }
  if (command === 'GetItem') return perBlock * blocks(itemBytes(output.Item));
  const items = (output.Items ?? []) as Record<string, unknown>[];
  return perBlock * blocks(items.reduce((sum, item) => sum + itemBytes(item), 0));
}

function reportedUnits(output: unknown): number | undefined {
  const consumed = (output as { ConsumedCapacity?: { CapacityUnits?: number } | { CapacityUnits?: number }[] })
    .ConsumedCapacity;
  const reported = (Array.isArray(consumed) ? consumed : consumed ? [consumed] : []).map(
    (entry) => entry.CapacityUnits ?? 0,
  );
  return reported.length > 0 ? reported.reduce((sum, units) => sum + units, 0) : undefined;
}

/**
 * Counts the write requests made through a DynamoDB client (every adapter of a test bridge shares its
 * middleware stack), refused ones included, and what they cost in write capacity units; and the reads,
 * in read request units. Each request asks DynamoDB to report its consumed capacity; DynamoDB Local's
 * answer only raises a write's figure (an item grown past 1 KB), AWS's rules decide the rest.
 */
export class DynamoWriteMeter {
  readonly writes: MeteredWrite[] = [];
  readonly reads: MeteredRead[] = [];

  constructor(client: DynamoDBClient) {
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const command = String((context as { commandName?: string }).commandName ?? '').replace(/Command$/, '');
        if (READ_COMMANDS.has(command))
          return this.meterRead(command, args.input as Record<string, any>, () => next(args));
        if (!WRITE_COMMANDS.has(command)) return next(args);
        const input = args.input as Record<string, any>;
        input.ReturnConsumedCapacity ??= 'TOTAL';
        const keys = keysOf(command, input);
        const write: MeteredWrite = {
          command,
          keys,
          refused: false,
          units: writeUnits(command, input, keys),
          reportedUnits: undefined,
        };
        this.writes.push(write);
        try {
          const result = await next(args);
          const reported = reportedUnits(result.output);
          if (reported !== undefined) {
            write.reportedUnits = reported;
            // DynamoDB Local counts one unit per transaction item where AWS counts two.
            write.units = Math.max(write.units, command === 'TransactWriteItems' ? 2 * reported : reported);
          }
          return result;
        } catch (error) {
          const name = (error as { name?: string }).name;
          if (name === 'ConditionalCheckFailedException' || name === 'TransactionCanceledException')
            write.refused = true;
          throw error;
        }
      },
      { step: 'initialize', name: `dynamoWriteMeter-${randomUUID()}` },
    );
  }

  private async meterRead<R extends { output: unknown }>(
    command: string,
    input: Record<string, any>,
    send: () => Promise<R>,
  ): Promise<R> {
    input.ReturnConsumedCapacity ??= 'TOTAL';
    const read: MeteredRead = {
      command,
      keys: readKeysOf(command, input),
      consistent: input.ConsistentRead === true,
      units: 0,
      reportedUnits: undefined,
    };
    this.reads.push(read);
    const result = await send();
    read.reportedUnits = reportedUnits(result.output);
    read.units = readUnits(command, input, result.output as Record<string, any>);
    return result;
  }

  /** Forgets what was counted so far. */
  reset(): void {
    this.writes.length = 0;
    this.reads.length = 0;
  }

  /** Read capacity units, by AWS's rules (`readUnits`). */
  get readUnits(): number {
    return this.reads.reduce((sum, read) => sum + read.units, 0);
  }

  /** Write requests, refused ones included. */
  get requests(): number {
    return this.writes.length;
  }

  /** Write capacity units, by AWS's rules (`writeUnits`). */
  get units(): number {
    return this.writes.reduce((sum, write) => sum + write.units, 0);
  }

  /** The writes that targeted a partition key starting with `prefix` (e.g. `WEBHOOK#`). */
  to(prefix: string): MeteredWrite[] {
    return this.writes.filter((write) => write.keys.some((key) => key.startsWith(prefix)));
  }
}
