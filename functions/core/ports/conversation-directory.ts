import type { ConversationEntry } from '../domain/conversation-directory';

/**
 * The conversation directory: which Kommo chat (amojo chat id, `kommo_conversation_id`) is which
 * chat-service conversation and client, per scope. The widget only sees Kommo's ids; the chat
 * service only knows its own. Learned from every Kommo hook and from the chat service's
 * `PUT /chat/{scope_id}/conversations/{conversation_id}`.
 */
// The entry is a domain value (domain/conversation-directory.ts reads hooks into it); named here too.
export type { ConversationEntry } from '../domain/conversation-directory';

export type LearnOutcome = 'stored' | 'unchanged' | 'conflict';

export interface ConversationDirectory {
  /**
   * Records what a hook or the chat service taught, with conditional writes: known fields are filled
   * in, never overwritten with other values. `conflict` when the Kommo chat is already mapped to
   * another `conversationId` (or client), in which case nothing changes.
   */
  learn(entry: ConversationEntry, nowMs: number): Promise<LearnOutcome>;
  /** The entry for a Kommo chat of the scope, or undefined when the scope never saw it. */
  byKommoConversation(scopeId: string, kommoConversationId: string): Promise<ConversationEntry | undefined>;
}
