import { DeleteCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { ReplayClaim, ReplayStore, StoredAnswer } from '../../ports/replay-store';
import { epochSeconds, isConditionFailure, type TableRef } from './table';

/**
 * An unanswered claim lapses after twice the HTTP functions' 10 s timeout: if the request died, or the
 * claim's own answer was lost, the chat service's retry is processed instead of refused for minutes.
 */
export const IN_PROGRESS_CLAIM_SECONDS = 20;

const key = (webhookId: string) => ({ pk: `WEBHOOK#${webhookId}`, sk: 'REQUEST' });

/** Standard Webhooks ids seen on `/chat/...` requests, with the answer given, kept past the 5-minute window. */
export class DynamoReplayStore implements ReplayStore {
  constructor(private readonly table: TableRef) {}

  async claim(webhookId: string, nowMs: number): Promise<ReplayClaim> {
    try {
      await this.table.doc.send(
        new PutCommand({
          TableName: this.table.tableName,
          Item: { ...key(webhookId), state: 'in_progress', expiresAt: epochSeconds(nowMs) + IN_PROGRESS_CLAIM_SECONDS },
          // An expired claim that TTL has not deleted yet does not count.
          ConditionExpression: 'attribute_not_exists(pk) OR expiresAt <= :now',
          ExpressionAttributeValues: { ':now': epochSeconds(nowMs) },
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return { state: 'new' };
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      const existing = (error as { Item?: Record<string, { S?: string; N?: string }> }).Item;
      if (existing?.state?.S === 'answered' && existing.statusCode?.N && existing.body?.S !== undefined) {
        return { state: 'answered', answer: { statusCode: Number(existing.statusCode.N), body: existing.body.S } };
      }
      return { state: 'in_progress' };
    }
  }

  async answer(webhookId: string, answer: StoredAnswer, nowMs: number, ttlSeconds: number): Promise<void> {
    await this.table.doc.send(
      new UpdateCommand({
        TableName: this.table.tableName,
        Key: key(webhookId),
        UpdateExpression: 'SET #state = :answered, statusCode = :status, #body = :body, expiresAt = :exp',
        ExpressionAttributeNames: { '#state': 'state', '#body': 'body' },
        ExpressionAttributeValues: {
          ':answered': 'answered',
          ':status': answer.statusCode,
          ':body': answer.body,
          ':exp': epochSeconds(nowMs) + ttlSeconds,
        },
      }),
    );
  }

  async release(webhookId: string): Promise<void> {
    await this.table.doc.send(new DeleteCommand({ TableName: this.table.tableName, Key: key(webhookId) }));
  }
}
