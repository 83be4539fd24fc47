import { GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { PollEnd, StatusPoll } from '../../domain/status-poll';
import type { StatusPollStore } from '../../ports/status-poll-store';
import type { StatusKey } from '../../ports/status-store';
import { epochSeconds, isLive, partitionKey, type TableRef, writeIf } from './table';

/** One item per polled message: `STATUS_POLL#<scope>#<msgid>` / `POLL`, apart from the status record so polling never contends with its writes. */
const itemKey = (key: StatusKey) => ({ pk: partitionKey('statusPoll', key.scopeId, key.msgid), sk: 'POLL' });

export class DynamoStatusPollStore implements StatusPollStore {
  constructor(private readonly table: TableRef) {}

  async start(
    key: StatusKey,
    poll: { timerId: string; startedAtMs: number; endsAtMs: number; expiresAtMs: number },
    nowMs: number,
  ): Promise<boolean> {
    return writeIf(
      this.table,
      new PutCommand({
        TableName: this.table.tableName,
        Item: {
          ...itemKey(key),
          timerId: poll.timerId,
          startedAtMs: poll.startedAtMs,
          endsAtMs: poll.endsAtMs,
          pollsMade: 0,
          expiresAt: epochSeconds(poll.expiresAtMs),
        },
        // An item TTL has not deleted yet counts as absent, as every read treats it.
        ConditionExpression: 'attribute_not_exists(pk) OR expiresAt <= :now',
        ExpressionAttributeValues: { ':now': epochSeconds(nowMs) },
      }),
    );
  }

  async read(key: StatusKey, nowMs: number): Promise<StatusPoll | undefined> {
    const { Item } = await this.table.doc.send(
      new GetCommand({ TableName: this.table.tableName, Key: itemKey(key), ConsistentRead: true }),
    );
    if (!Item || !isLive(Item as { expiresAt?: number }, nowMs)) return undefined;
    return {
      ...(typeof Item.timerId === 'string' ? { timerId: Item.timerId } : {}),
      startedAtMs: Number(Item.startedAtMs),
      endsAtMs: Number(Item.endsAtMs),
      pollsMade: Number(Item.pollsMade),
      ...(typeof Item.endedBecause === 'string' ? { endedBecause: Item.endedBecause as PollEnd } : {}),
    };
  }

  async passTimerOn(key: StatusKey, fromTimerId: string, toTimerId: string, pollsMade: number): Promise<boolean> {
    return writeIf(
      this.table,
      new UpdateCommand({
        TableName: this.table.tableName,
        Key: itemKey(key),
        UpdateExpression: 'SET timerId = :to, pollsMade = :polls',
        ConditionExpression: 'timerId = :from',
        ExpressionAttributeValues: { ':from': fromTimerId, ':to': toTimerId, ':polls': pollsMade },
      }),
    );
  }

  async end(key: StatusKey, fromTimerId: string, pollsMade: number, because: PollEnd): Promise<boolean> {
    return writeIf(
      this.table,
      new UpdateCommand({
        TableName: this.table.tableName,
        Key: itemKey(key),
        // The item stays until its TTL: a repeated hook finds it and starts no second chain.
        UpdateExpression: 'SET endedBecause = :because, pollsMade = :polls REMOVE timerId',
        ConditionExpression: 'timerId = :from',
        ExpressionAttributeValues: { ':from': fromTimerId, ':because': because, ':polls': pollsMade },
      }),
    );
  }
}
