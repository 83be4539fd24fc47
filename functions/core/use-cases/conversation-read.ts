import type { BridgeDeps } from '../deps';
import type { Scope } from '../domain/scope';
import { emitEvent } from './outbound-events';

/**
 * A Kommo user opened a conversation (the widget reports it): for the chat service, every client
 * message in it up to now is read. Kommo has no read-receipt hook (kommo-chat-api.md), so the
 * widget is the only witness.
 */
export async function conversationRead(
  deps: Pick<BridgeDeps, 'clock' | 'newId' | 'queues' | 'log'>,
  read: { scope: Scope; conversationId: string; userId: string },
): Promise<{ readAtMs: number }> {
  const readAtMs = deps.clock.now();
  await emitEvent(deps, 'conversation.read', {
    scope_id: read.scope.scopeId,
    account_id: read.scope.accountId,
    conversation_id: read.conversationId,
    user_id: read.userId,
    read_at: new Date(readAtMs).toISOString(),
  });
  deps.log.info('conversation read by a Kommo user', { scopeId: read.scope.scopeId, userId: read.userId });
  return { readAtMs };
}
