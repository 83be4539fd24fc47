import { GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type {
  ClientTypingKey,
  ClientTypingStore,
  KommoUserTyping,
  KommoUserTypingKey,
  KommoUserTypingStore,
} from '../../ports/typing-store';
import { epochSeconds, isConditionFailure, partitionKey, type TableRef, writeIf } from './table';

/** Typing items outlive their window by an hour, only so that TTL cleans them up; reads use the times inside. */
const KEEP_AFTER_MS = 60 * 60 * 1000;

const clientKey = (key: ClientTypingKey) => ({
  pk: partitionKey('clientTyping', key.scopeId, key.conversationId, key.senderId),
  sk: 'CLIENT',
});

export class DynamoClientTypingStore implements ClientTypingStore {
  constructor(private readonly table: TableRef) {}

  async start(
    key: ClientTypingKey,
    window: { nowMs: number; activeUntilMs: number; nextCallAtMs: number },
    attemptId: string,
  ): Promise<{ claimed: boolean }> {
    const expiresAt = epochSeconds(window.activeUntilMs + KEEP_AFTER_MS);
    // The common case first, a client who goes on typing: a Kommo call already covers now, so only how
    // long typing lasts moves. One conditional write, whether it applies or finds nothing to change.
    const extension = await this.writeReturningOld(
      new UpdateCommand({
        TableName: this.table.tableName,
        Key: clientKey(key),
        UpdateExpression: 'SET activeUntilMs = :until, expiresAt = :exp',
        // Never shortened. A repeat of the request that claimed the window lands here too, and calls
        // Kommo no more: typing is not claimed by webhook-id, so a repeat is just another start.
        ConditionExpression: 'nextCallAtMs > :now AND activeUntilMs < :until',
        ExpressionAttributeValues: { ':until': window.activeUntilMs, ':now': window.nowMs, ':exp': expiresAt },
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      }),
    );
    if (extension.applied) return { claimed: false };
    const current = extension.old;
    // Covered, and typing already lasts at least as long: nothing to do.
    if (current && Number(current.nextCallAtMs?.N) > window.nowMs) return { claimed: false };

    // No Kommo call covers now: claim the window (a racing start may claim it first).
    const claim = await this.writeReturningOld(
      new UpdateCommand({
        TableName: this.table.tableName,
        Key: clientKey(key),
        UpdateExpression: 'SET activeUntilMs = :until, nextCallAtMs = :next, claimedBy = :request, expiresAt = :exp',
        ConditionExpression: 'attribute_not_exists(nextCallAtMs) OR nextCallAtMs <= :now',
        ExpressionAttributeValues: {
          ':until': window.activeUntilMs,
          ':next': window.nextCallAtMs,
          ':request': attemptId,
          ':now': window.nowMs,
          ':exp': expiresAt,
        },
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      }),
    );
    // This attempt's own claim, found by the SDK's retry of a write whose answer was lost: still the claimant.
    if (claim.applied || claim.old?.claimedBy?.S === attemptId) return { claimed: true };
    // A racing start claimed it: only extend how long typing lasts (never shorten it).
    await writeIf(
      this.table,
      new UpdateCommand({
        TableName: this.table.tableName,
        Key: clientKey(key),
        UpdateExpression: 'SET activeUntilMs = :until, expiresAt = :exp',
        ConditionExpression: 'attribute_not_exists(activeUntilMs) OR activeUntilMs < :until',
        ExpressionAttributeValues: { ':until': window.activeUntilMs, ':exp': expiresAt },
      }),
    );
    return { claimed: false };
  }

  /** A conditional write that, when its condition fails, tells why with the item as it was (no second read). */
  private async writeReturningOld(
    command: UpdateCommand,
  ): Promise<{ applied: true } | { applied: false; old: Record<string, { S?: string; N?: string }> | undefined }> {
    try {
      await this.table.doc.send(command);
      return { applied: true };
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      return { applied: false, old: (error as { Item?: Record<string, { S?: string; N?: string }> }).Item };
    }
  }

  async release(key: ClientTypingKey, attemptId: string, nowMs: number): Promise<void> {
    // Only the window this attempt claimed, which no Kommo call covers then: the next start claims it.
    await writeIf(
      this.table,
      new UpdateCommand({
        TableName: this.table.tableName,
        Key: clientKey(key),
        UpdateExpression: 'SET nextCallAtMs = :now',
        ConditionExpression: 'claimedBy = :attempt',
        ExpressionAttributeValues: { ':now': nowMs, ':attempt': attemptId },
      }),
    );
  }

  async stop(key: ClientTypingKey, nowMs: number): Promise<void> {
    // No item: nothing was typing, so there is nothing to stop.
    await writeIf(
      this.table,
      new UpdateCommand({
        TableName: this.table.tableName,
        Key: clientKey(key),
        UpdateExpression: 'SET activeUntilMs = :now',
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeValues: { ':now': nowMs },
      }),
    );
  }

  async claimRefresh(key: ClientTypingKey, nowMs: number, nextCallAtMs: number): Promise<boolean> {
    return writeIf(
      this.table,
      new UpdateCommand({
        TableName: this.table.tableName,
        Key: clientKey(key),
        UpdateExpression: 'SET nextCallAtMs = :next',
        ConditionExpression: 'activeUntilMs > :now AND nextCallAtMs <= :now',
        ExpressionAttributeValues: { ':now': nowMs, ':next': nextCallAtMs },
      }),
    );
  }
}

const kommoUserKey = (key: KommoUserTypingKey) => ({
  pk: partitionKey('kommoUserTyping', key.scopeId, key.kommoConversationId, key.userId),
  // The sort key predates the name "Kommo user"; deployed tables hold it, so it stays.
  sk: 'MANAGER',
});

export class DynamoKommoUserTypingStore implements KommoUserTypingStore {
  constructor(private readonly table: TableRef) {}

  async renew(typing: KommoUserTyping, nowMs: number): Promise<{ moved: boolean }> {
    try {
      await this.table.doc.send(
        new UpdateCommand({
          TableName: this.table.tableName,
          Key: kommoUserKey(typing),
          UpdateExpression:
            'SET deadlineMs = :deadline, accountId = :account, conversationId = :conversation, expiresAt = :exp',
          // `<=` so that a retried hook re-arms its timer; an older hook never moves the deadline back.
          ConditionExpression: 'attribute_not_exists(deadlineMs) OR deadlineMs <= :deadline',
          ExpressionAttributeValues: {
            ':deadline': typing.deadlineMs,
            ':account': typing.accountId,
            ':conversation': typing.conversationId,
            ':exp': epochSeconds(Math.max(typing.deadlineMs, nowMs) + KEEP_AFTER_MS),
          },
        }),
      );
      return { moved: true };
    } catch (error) {
      if (isConditionFailure(error)) return { moved: false };
      throw error;
    }
  }

  async get(key: KommoUserTypingKey): Promise<KommoUserTyping | undefined> {
    const { Item } = await this.table.doc.send(
      new GetCommand({ TableName: this.table.tableName, Key: kommoUserKey(key), ConsistentRead: true }),
    );
    return Item ? toKommoUserTyping(key, Item) : undefined;
  }

  async claimStop(key: KommoUserTypingKey, deadlineMs: number): Promise<KommoUserTyping | undefined> {
    try {
      const { Attributes } = await this.table.doc.send(
        new UpdateCommand({
          TableName: this.table.tableName,
          Key: kommoUserKey(key),
          UpdateExpression: 'SET stoppedForMs = :deadline',
          ConditionExpression:
            'deadlineMs = :deadline AND (attribute_not_exists(stoppedForMs) OR stoppedForMs <> :deadline)',
          ExpressionAttributeValues: { ':deadline': deadlineMs },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return Attributes ? toKommoUserTyping(key, Attributes) : undefined;
    } catch (error) {
      if (isConditionFailure(error)) return undefined;
      throw error;
    }
  }

  async releaseStop(key: KommoUserTypingKey, deadlineMs: number): Promise<void> {
    await writeIf(
      this.table,
      new UpdateCommand({
        TableName: this.table.tableName,
        Key: kommoUserKey(key),
        UpdateExpression: 'REMOVE stoppedForMs',
        ConditionExpression: 'stoppedForMs = :deadline',
        ExpressionAttributeValues: { ':deadline': deadlineMs },
      }),
    );
  }
}

function toKommoUserTyping(key: KommoUserTypingKey, item: Record<string, unknown>): KommoUserTyping {
  return {
    ...key,
    accountId: String(item.accountId),
    conversationId: typeof item.conversationId === 'string' ? item.conversationId : null,
    deadlineMs: Number(item.deadlineMs),
  };
}
