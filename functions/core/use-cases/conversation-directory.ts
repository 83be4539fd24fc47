import { conversationTaughtBy } from '../domain/conversation-directory';
import { conflict, notFound } from '../domain/errors';
import type { Scope } from '../domain/scope';
import type { BridgeDeps } from '../deps';
import type { ConversationEntry } from '../ports/conversation-directory';

export type ConversationDirectoryDeps = Pick<BridgeDeps, 'clock' | 'log' | 'metrics' | 'conversations'>;

/**
 * Learns what a Kommo hook says about its chat, in the hook worker. It never fails the hook: a
 * conflict or a failed write is logged and counted, and the hook's other work (its events, its
 * forwarding) goes on. Failing the job instead would have SQS deliver the whole hook again minutes
 * later (the visibility timeout), repeating what other parties already received and turning a typing
 * hook into a stale one; and nothing is lost by going on, since every later hook about the chat
 * carries the same ids again, and the chat service can register them itself.
 */
export async function learnFromKommoHook(
  deps: ConversationDirectoryDeps,
  scopeId: string,
  hook: unknown,
): Promise<'stored' | 'unchanged' | 'conflict' | 'failed' | 'nothing-to-learn'> {
  const entry = conversationTaughtBy(scopeId, hook);
  if (!entry) return 'nothing-to-learn';
  try {
    const outcome = await deps.conversations.learn(entry, deps.clock.now());
    if (outcome === 'stored') deps.metrics.count('ConversationLearned');
    if (outcome === 'conflict') {
      deps.metrics.count('ConversationConflict');
      deps.log.warn(
        'a Kommo hook names other chat-service ids for a Kommo chat than the directory holds; the directory keeps its ids',
        {
          scopeId,
          kommoConversationId: entry.kommoConversationId,
        },
      );
    }
    return outcome;
  } catch (error) {
    deps.metrics.count('ConversationLearnFailed');
    deps.log.warn(
      'could not record a Kommo chat in the conversation directory; the next hook about it brings the same ids again',
      {
        scopeId,
        kommoConversationId: entry.kommoConversationId,
        error: error instanceof Error ? error.message : String(error),
      },
    );
    return 'failed';
  }
}

/**
 * The chat service registers which Kommo chat one of its conversations is (and its client), before
 * or after any hook about it: `PUT /chat/{scope_id}/conversations/{conversation_id}`. Repeating a
 * registration changes nothing; one that contradicts what the directory holds is refused (409) and
 * changes nothing either.
 */
export async function registerConversation(
  deps: ConversationDirectoryDeps,
  entry: Required<ConversationEntry>,
): Promise<'stored' | 'unchanged'> {
  const outcome = await deps.conversations.learn(entry, deps.clock.now());
  if (outcome !== 'conflict') {
    if (outcome === 'stored') deps.metrics.count('ConversationLearned');
    return outcome;
  }
  // Only to say which id disagrees: the conditional write above already decided.
  const known = await deps.conversations.byKommoConversation(entry.scopeId, entry.kommoConversationId);
  if (known?.conversationId !== undefined && known.conversationId !== entry.conversationId) {
    throw conflict(
      'conversation_mapped_elsewhere',
      `kommo_conversation_id ${entry.kommoConversationId} is already mapped to another conversation_id; a Kommo chat is one conversation of the chat service`,
    );
  }
  throw conflict(
    'client_mismatch',
    `kommo_conversation_id ${entry.kommoConversationId} is already known with another client_id; a Kommo chat has one client`,
  );
}

/** The widget's view of a Kommo chat of the caller's scope; 404 `unknown_conversation` when the scope never saw it. */
export async function knownKommoChat(
  deps: Pick<BridgeDeps, 'conversations'>,
  scope: Scope,
  kommoConversationId: string,
): Promise<ConversationEntry> {
  const entry = await deps.conversations.byKommoConversation(scope.scopeId, kommoConversationId);
  if (!entry) {
    throw notFound(
      'unknown_conversation',
      `This account's channel has not seen Kommo chat ${kommoConversationId} yet: the bridge learns a chat from Kommo's hooks about it or from the chat service's PUT /chat/{scope_id}/conversations/{conversation_id}`,
    );
  }
  return entry;
}

/** The chat service's conversation id for a known Kommo chat; 409 `conversation_not_registered` while only Kommo's id is known. */
export function registeredConversationId(entry: ConversationEntry): string {
  if (entry.conversationId === undefined) {
    throw conflict(
      'conversation_not_registered',
      `Kommo chat ${entry.kommoConversationId} has no chat-service conversation_id yet (a chat a Kommo user started): the chat service registers it with PUT /chat/{scope_id}/conversations/{conversation_id}`,
    );
  }
  return entry.conversationId;
}
