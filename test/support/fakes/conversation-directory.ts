import { CONVERSATION_RETENTION_MS, contradictedField } from '../../../functions/core/domain/conversation-directory';
import type { Clock } from '../../../functions/core/ports/clock';
import type {
  ConversationDirectory,
  ConversationEntry,
  LearnOutcome,
} from '../../../functions/core/ports/conversation-directory';

const chatKey = (scopeId: string, kommoConversationId: string) => JSON.stringify([scopeId, kommoConversationId]);

/**
 * The conversation directory in memory, with the port's rules: ids are filled in, never replaced; a
 * lesson that contradicts what is known changes nothing; an entry not seen for the retention is gone.
 */
export class InMemoryConversationDirectory implements ConversationDirectory {
  private readonly entries = new Map<string, ConversationEntry & { expiresAtMs: number }>();

  /** `clock` decides whether an entry has expired, as the adapter's does. */
  constructor(private readonly clock: Clock) {}

  async learn(entry: ConversationEntry, nowMs: number): Promise<LearnOutcome> {
    const key = chatKey(entry.scopeId, entry.kommoConversationId);
    const current = this.entries.get(key);
    if (!current || current.expiresAtMs <= nowMs) {
      this.entries.set(key, { ...entry, expiresAtMs: nowMs + CONVERSATION_RETENTION_MS });
      return 'stored';
    }
    if (contradictedField(current, entry) !== undefined) return 'conflict';
    const fills =
      (entry.conversationId !== undefined && current.conversationId === undefined) ||
      (entry.clientId !== undefined && current.clientId === undefined);
    this.entries.set(key, { ...current, ...definedIds(entry), expiresAtMs: nowMs + CONVERSATION_RETENTION_MS });
    return fills ? 'stored' : 'unchanged';
  }

  async byKommoConversation(scopeId: string, kommoConversationId: string): Promise<ConversationEntry | undefined> {
    const current = this.entries.get(chatKey(scopeId, kommoConversationId));
    if (!current || current.expiresAtMs <= this.clock.now()) return undefined;
    const { expiresAtMs: _, ...entry } = current;
    return entry;
  }
}

function definedIds(entry: ConversationEntry): Partial<ConversationEntry> {
  return {
    ...(entry.conversationId !== undefined ? { conversationId: entry.conversationId } : {}),
    ...(entry.clientId !== undefined ? { clientId: entry.clientId } : {}),
  };
}
