import * as z from '../core/zod';
import { requireSettings } from '../core/config';
import { parseScope } from '../core/domain/scope';
import { json, parseJsonBody, pathParameter, rawBody, validate } from '../core/http/api';
import { identifier } from '../core/http/fields';
import { httpHandler, type ChatServiceHttpHandlerDeps } from '../core/http/route';
import { registerConversation, type ConversationDirectoryDeps } from '../core/use-cases/conversation-directory';

const conversationId = identifier('conversation_id');

export const conversationRegistrationSchema = z.strictObject({
  kommo_conversation_id: identifier('kommo_conversation_id'),
  client_id: identifier('client_id'),
});

export type ChatConversationsDeps = ChatServiceHttpHandlerDeps & ConversationDirectoryDeps;

/** `PUT /chat/{scope_id}/conversations/{conversation_id}`: the chat service names the Kommo chat (and client) of one of its conversations. */
export const createChatConversationsHandler = (deps: ChatConversationsDeps) =>
  httpHandler(deps, 'chat-service', async (event) => {
    const scope = parseScope(
      pathParameter(event, 'scope_id'),
      requireSettings(deps.config, ['KOMMO_CHANNEL_ID'], 'the /chat/... routes').KOMMO_CHANNEL_ID,
    );
    const id = validate(pathParameter(event, 'conversation_id'), conversationId);
    const request = parseJsonBody(rawBody(event), conversationRegistrationSchema);
    await registerConversation(deps, {
      scopeId: scope.scopeId,
      kommoConversationId: request.kommo_conversation_id,
      conversationId: id,
      clientId: request.client_id,
    });
    return json(200, { ok: true });
  });
