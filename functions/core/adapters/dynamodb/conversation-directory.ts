import { GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import {
  CONVERSATION_RENEWAL_MS,
  CONVERSATION_RETENTION_MS,
  contradictedField,
} from '../../domain/conversation-directory';
import type { Clock } from '../../ports/clock';
import type { ConversationDirectory, ConversationEntry, LearnOutcome } from '../../ports/conversation-directory';
import { epochSeconds, isConditionFailure, isLive, partitionKey, type TableRef } from './table';

/**
 * One item per Kommo chat of a scope, `CHAT#<scope>#<Kommo chat id>`, holding the chat service's ids
 * for it. Ids are filled in, never replaced: every write is conditional on the item holding no other
 * value. The item lives CONVERSATION_RETENTION_MS after the chat was last seen (`expiresAt`, the
 * table's TTL), renewed at most once per CONVERSATION_RENEWAL_MS; an expired item counts as absent
 * and is replaced whole by the next lesson.
 *
 * A lesson reads first: nearly every hook repeats what the entry holds, and then costs one read and
 * no write (a conditional write that fails is billed as a write). The read only spares writes; the
 * conditional writes after it decide every race.
 */
const ENTRY = 'ENTRY';
const key = (scopeId: string, kommoConversationId: string) => ({
  pk: partitionKey('conversation', scopeId, kommoConversationId),
  sk: ENTRY,
});

/** A lesson can race another for the same chat (a hook and a registration); the loser reads again. */
const ATTEMPTS = 3;

interface StoredEntry extends ConversationEntry {
  lastSeenAtMs: number;
  expiresAt: number;
}

function entryOf(item: Record<string, unknown> | undefined): StoredEntry | undefined {
  if (!item || typeof item.kommoConversationId !== 'string' || typeof item.scopeId !== 'string') return undefined;
  return {
    scopeId: item.scopeId,
    kommoConversationId: item.kommoConversationId,
    ...(typeof item.conversationId === 'string' ? { conversationId: item.conversationId } : {}),
    ...(typeof item.clientId === 'string' ? { clientId: item.clientId } : {}),
    lastSeenAtMs: Number(item.lastSeenAtMs),
    expiresAt: Number(item.expiresAt),
  };
}

/** A string attribute of an item a failed condition returned, in DynamoDB's typed form (`{S}`). */
function returnedString(item: Record<string, { S?: string }> | undefined, name: string): string | undefined {
  return item?.[name]?.S;
}

const publicEntry = ({ lastSeenAtMs: _, expiresAt: __, ...entry }: StoredEntry): ConversationEntry => entry;

export class DynamoConversationDirectory implements ConversationDirectory {
  /** `clock` decides whether an entry has expired (reads never trust TTL deletion). */
  constructor(
    private readonly table: TableRef,
    private readonly clock: Clock,
  ) {}

  async byKommoConversation(scopeId: string, kommoConversationId: string): Promise<ConversationEntry | undefined> {
    const current = await this.read(scopeId, kommoConversationId);
    return current && isLive(current, this.clock.now()) ? publicEntry(current) : undefined;
  }

  async learn(entry: ConversationEntry, nowMs: number): Promise<LearnOutcome> {
    for (let attempt = 0; attempt < ATTEMPTS; attempt += 1) {
      const current = await this.read(entry.scopeId, entry.kommoConversationId);
      if (!current || !isLive(current, nowMs)) {
        if (await this.create(entry, nowMs)) return 'stored';
        continue;
      }
      if (contradictedField(current, entry) !== undefined) return 'conflict';
      const fills =
        (entry.conversationId !== undefined && current.conversationId === undefined) ||
        (entry.clientId !== undefined && current.clientId === undefined);
      // Nothing new and renewed recently: a read, no write (typing hooks come every few seconds).
      if (!fills && nowMs - current.lastSeenAtMs < CONVERSATION_RENEWAL_MS) return 'unchanged';
      const outcome = await this.fillIn(entry, nowMs);
      if (outcome !== 'gone') return outcome;
    }
    throw new Error('conversation directory entry contended beyond retries');
  }

  private async read(scopeId: string, kommoConversationId: string): Promise<StoredEntry | undefined> {
    const { Item } = await this.table.doc.send(
      new GetCommand({ TableName: this.table.tableName, Key: key(scopeId, kommoConversationId), ConsistentRead: true }),
    );
    return entryOf(Item);
  }

  /** The first lesson about a chat (or the first after its entry expired): the whole item. False when another writer got there first. */
  private async create(entry: ConversationEntry, nowMs: number): Promise<boolean> {
    try {
      await this.table.doc.send(
        new PutCommand({
          TableName: this.table.tableName,
          Item: {
            ...key(entry.scopeId, entry.kommoConversationId),
            ...entry,
            firstSeenAtMs: nowMs,
            lastSeenAtMs: nowMs,
            expiresAt: this.expiresAt(nowMs),
          },
          ConditionExpression: 'attribute_not_exists(pk) OR expiresAt <= :now',
          ExpressionAttributeValues: { ':now': epochSeconds(nowMs) },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  /**
   * Fills in the ids the live entry lacks and renews it, on condition that it holds no other value
   * for them. `stored` when an id was filled in, `unchanged` when it was only renewed, `conflict` when
   * another writer filled in another value first, `gone` when the entry expired meanwhile.
   */
  private async fillIn(entry: ConversationEntry, nowMs: number): Promise<LearnOutcome | 'gone'> {
    const names: Record<string, string> = {};
    const values: Record<string, unknown> = {
      ':now': nowMs,
      ':nowSeconds': epochSeconds(nowMs),
      ':exp': this.expiresAt(nowMs),
    };
    const sets = ['lastSeenAtMs = :now', 'expiresAt = :exp'];
    const conditions = ['expiresAt > :nowSeconds'];
    for (const field of ['conversationId', 'clientId'] as const) {
      const value = entry[field];
      if (value === undefined) continue;
      names[`#${field}`] = field;
      values[`:${field}`] = value;
      sets.push(`#${field} = :${field}`);
      conditions.push(`(attribute_not_exists(#${field}) OR #${field} = :${field})`);
    }
    try {
      const { Attributes } = await this.table.doc.send(
        new UpdateCommand({
          TableName: this.table.tableName,
          Key: key(entry.scopeId, entry.kommoConversationId),
          UpdateExpression: `SET ${sets.join(', ')}`,
          ConditionExpression: conditions.join(' AND '),
          ...(Object.keys(names).length > 0 ? { ExpressionAttributeNames: names } : {}),
          ExpressionAttributeValues: values,
          ReturnValues: 'UPDATED_OLD',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      const filled = (['conversationId', 'clientId'] as const).some(
        (field) => entry[field] !== undefined && Attributes?.[field] === undefined,
      );
      return filled ? 'stored' : 'unchanged';
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      const old = (error as { Item?: Record<string, { S?: string; N?: string }> }).Item;
      const oldExpiresAt = Number(old?.expiresAt?.N);
      if (!old || !(oldExpiresAt > epochSeconds(nowMs))) return 'gone';
      const known: ConversationEntry = {
        scopeId: entry.scopeId,
        kommoConversationId: entry.kommoConversationId,
        conversationId: returnedString(old, 'conversationId'),
        clientId: returnedString(old, 'clientId'),
      };
      return contradictedField(known, entry) !== undefined ? 'conflict' : 'gone';
    }
  }

  private expiresAt(nowMs: number): number {
    return epochSeconds(nowMs + CONVERSATION_RETENTION_MS);
  }
}
