import * as z from '../core/zod';
import { requireSettings } from '../core/config';
import { CLIENT_TYPING_TTL } from '../core/domain/typing-session';
import { parseScope } from '../core/domain/scope';
import { json, parseJsonBody, pathParameter, rawBody } from '../core/http/api';
import { identifier, seconds } from '../core/http/fields';
import { httpHandler, type ChatServiceHttpHandlerDeps } from '../core/http/route';
import { startClientTyping, stopClientTyping, type ClientTypingDeps } from '../core/use-cases/client-typing';

export const typingRequestSchema = z.strictObject({
  conversation_id: identifier('conversation_id'),
  sender_id: identifier('sender_id'),
  state: z.enum(['start', 'stop'], { error: 'state must be "start" or "stop"' }),
  ttl_seconds: seconds('ttl_seconds', CLIENT_TYPING_TTL),
});

export type ChatTypingDeps = ChatServiceHttpHandlerDeps & ClientTypingDeps;

/** `POST /chat/{scope_id}/typing`: a client types (or stops) in the messenger. */
export const createChatTypingHandler = (deps: ChatTypingDeps) =>
  httpHandler(deps, 'chat-service', async (event) => {
    const scope = parseScope(
      pathParameter(event, 'scope_id'),
      requireSettings(deps.config, ['KOMMO_CHANNEL_ID'], 'the /chat/... routes').KOMMO_CHANNEL_ID,
    );
    const request = parseJsonBody(rawBody(event), typingRequestSchema);
    const key = { scopeId: scope.scopeId, conversationId: request.conversation_id, senderId: request.sender_id };
    if (request.state === 'start') await startClientTyping(deps, key, request.ttl_seconds);
    else await stopClientTyping(deps, key);
    return json(202, { ok: true });
  });
