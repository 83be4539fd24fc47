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
      (requests as Record<string, any>[]).map((request) => keyOf(request.PutRequest?.Item ?? request.DeleteRequest?.Key)),
    );
  }
  return [keyOf(input.Item ?? input.Key)];
}

/**
 * AWS's on-demand pricing for items under 1 KB: a write is 1 WRU, a write refused by its condition
 * still 1 WRU, and every item of a transaction 2 WRU. Every item the bridge writes is far under 1 KB.
 */
function writeUnits(command: string, keys: readonly string[]): number {
  if (command === 'TransactWriteItems') return 2 * keys.length;
  return keys.length;
}

/**
 * Counts the write requests made through a DynamoDB client (every adapter of a test bridge shares its
 * middleware stack), refused ones included, and what they cost in write capacity units. Each write
 * asks DynamoDB to report its consumed capacity; DynamoDB Local's answer is kept but not relied on.
 */
export class DynamoWriteMeter {
  readonly writes: MeteredWrite[] = [];

  constructor(client: DynamoDBClient) {
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const command = String((context as { commandName?: string }).commandName ?? '').replace(/Command$/, '');
        if (!WRITE_COMMANDS.has(command)) return next(args);
        const input = args.input as Record<string, any>;
        input.ReturnConsumedCapacity ??= 'TOTAL';
        const keys = keysOf(command, input);
        const write: MeteredWrite = { command, keys, refused: false, units: writeUnits(command, keys), reportedUnits: undefined };
        this.writes.push(write);
        try {
          const result = await next(args);
          const consumed = (result.output as { ConsumedCapacity?: { CapacityUnits?: number } | { CapacityUnits?: number }[] }).ConsumedCapacity;
          const reported = (Array.isArray(consumed) ? consumed : consumed ? [consumed] : []).map((entry) => entry.CapacityUnits ?? 0);
          if (reported.length > 0) write.reportedUnits = reported.reduce((sum, units) => sum + units, 0);
          return result;
        } catch (error) {
          const name = (error as { name?: string }).name;
          if (name === 'ConditionalCheckFailedException' || name === 'TransactionCanceledException') write.refused = true;
          throw error;
        }
      },
      { step: 'initialize', name: `dynamoWriteMeter-${randomUUID()}` },
    );
  }

  /** Forgets what was counted so far. */
  reset(): void {
    this.writes.length = 0;
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
