import { PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { ReplayClaim, ReplayStore, StoredAnswer, WebhookRequest } from '../../ports/replay-store';
import { epochSeconds, isConditionFailure, partitionKey, writeIf, type TableRef } from './table';

/**
 * An unanswered claim lapses after twice the HTTP functions' 10 s timeout: if the request died, or the
 * claim's own answer was lost, the chat service's retry is processed instead of refused for minutes.
 */
export const IN_PROGRESS_CLAIM_SECONDS = 20;

/** One item per id, whatever the route or scope: the id is single use across the whole API. */
const key = (webhookId: string) => ({ pk: partitionKey('replay', webhookId), sk: 'REQUEST' });

/**
 * Standard Webhooks ids seen on `/chat/...` requests, each bound to the request it came with (its
 * fingerprint) and the answer given, kept past the 5-minute window. The binding outlives a lapsed or
 * released claim: only the same request may take the id again.
 */
export class DynamoReplayStore implements ReplayStore {
  constructor(private readonly table: TableRef) {}

  async claim(request: WebhookRequest, nowMs: number, ttlSeconds: number): Promise<ReplayClaim> {
    const now = epochSeconds(nowMs);
    try {
      await this.table.doc.send(
        new PutCommand({
          TableName: this.table.tableName,
          Item: {
            ...key(request.webhookId),
            fingerprint: request.fingerprint,
            state: 'in_progress',
            leaseUntil: now + IN_PROGRESS_CLAIM_SECONDS,
            expiresAt: now + ttlSeconds,
          },
          // An expired record that TTL has not deleted yet does not count; the same request may take
          // back a claim that was released (5xx) or whose lease lapsed.
          ConditionExpression:
            'attribute_not_exists(pk) OR expiresAt <= :now OR (fingerprint = :fingerprint AND (#state = :released OR (#state = :inProgress AND leaseUntil <= :now)))',
          ExpressionAttributeNames: { '#state': 'state' },
          ExpressionAttributeValues: {
            ':now': now,
            ':fingerprint': request.fingerprint,
            ':released': 'released',
            ':inProgress': 'in_progress',
          },
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return { state: 'new' };
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      const existing = (error as { Item?: Record<string, { S?: string; N?: string }> }).Item;
      if (existing?.fingerprint?.S !== request.fingerprint) return { state: 'used_elsewhere' };
      if (existing.state?.S === 'answered' && existing.statusCode?.N && existing.body?.S !== undefined) {
        return { state: 'answered', answer: { statusCode: Number(existing.statusCode.N), body: existing.body.S } };
      }
      return { state: 'in_progress' };
    }
  }

  async answer(request: WebhookRequest, answer: StoredAnswer, nowMs: number, ttlSeconds: number): Promise<void> {
    // Conditional: a record bound to another request (the claim expired long ago) is not overwritten.
    await writeIf(
      this.table,
      new UpdateCommand({
        TableName: this.table.tableName,
        Key: key(request.webhookId),
        UpdateExpression:
          'SET #state = :answered, statusCode = :status, #body = :body, expiresAt = :exp REMOVE leaseUntil',
        ConditionExpression: 'fingerprint = :fingerprint',
        ExpressionAttributeNames: { '#state': 'state', '#body': 'body' },
        ExpressionAttributeValues: {
          ':answered': 'answered',
          ':status': answer.statusCode,
          ':body': answer.body,
          ':exp': epochSeconds(nowMs) + ttlSeconds,
          ':fingerprint': request.fingerprint,
        },
      }),
    );
  }

  async release(request: WebhookRequest): Promise<void> {
    await writeIf(
      this.table,
      new UpdateCommand({
        TableName: this.table.tableName,
        Key: key(request.webhookId),
        UpdateExpression: 'SET #state = :released REMOVE leaseUntil',
        ConditionExpression: 'fingerprint = :fingerprint AND #state = :inProgress',
        ExpressionAttributeNames: { '#state': 'state' },
        ExpressionAttributeValues: {
          ':released': 'released',
          ':inProgress': 'in_progress',
          ':fingerprint': request.fingerprint,
        },
      }),
    );
  }
}
