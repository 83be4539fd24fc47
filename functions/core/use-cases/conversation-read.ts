import type { BridgeDeps, QueuesOf } from '../deps';
import type { Scope } from '../domain/scope';
import { emitEvent } from './outbound-events';

/** A read as the widget reports it: which conversation, and which Kommo user (both spellings of the user). */
export interface ConversationReadReport {
  scope: Scope;
  /** The chat service's conversation id. */
  conversationId: string;
  /** Kommo's chat id, when the widget named the chat by it. */
  kommoConversationId?: string;
  /** The numeric CRM user id from the widget's one-time token. */
  kommoUserId: number;
  /** The user's amojo id (the `user_id` of typing events), when the widget sent it. */
  userAmojoId?: string;
}

export type ConversationReadDeps = Pick<BridgeDeps, 'clock' | 'newId' | 'log'> & QueuesOf<'events'>;

/**
 * A Kommo user opened a conversation (the widget reports it): for the chat service, every client
 * message in it up to now is read. Kommo has no read-receipt hook (docs/kommo.md), so the
 * widget is the only witness.
 */
export async function conversationRead(
  deps: ConversationReadDeps,
  read: ConversationReadReport,
): Promise<{ readAtMs: number }> {
  const readAtMs = deps.clock.now();
  await emitEvent(deps, 'conversation.read', {
    scope_id: read.scope.scopeId,
    account_id: read.scope.accountId,
    conversation_id: read.conversationId,
    kommo_conversation_id: read.kommoConversationId ?? null,
    user_id: read.userAmojoId ?? null,
    kommo_user_id: read.kommoUserId,
    read_at: new Date(readAtMs).toISOString(),
  });
  deps.log.debug('conversation read by a Kommo user', { scopeId: read.scope.scopeId, kommoUserId: read.kommoUserId });
  return { readAtMs };
}
