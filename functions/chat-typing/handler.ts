import { z } from 'zod';
import { CLIENT_TYPING_TTL } from '../core/domain/typing-session';
import { parseScope } from '../core/domain/scope';
import type { BridgeDeps } from '../core/deps';
import { json, parseJsonBody, pathParameter, rawBody } from '../core/http/api';
import { httpHandler } from '../core/http/route';
import { startClientTyping, stopClientTyping } from '../core/use-cases/client-typing';

const chatId = (field: string) =>
  z.string({ error: `${field} is required and must be a string` }).min(1, { message: `${field} must be 1-128 characters` }).max(128, { message: `${field} must be 1-128 characters` });

export const typingRequestSchema = z.strictObject({
  conversation_id: chatId('conversation_id'),
  sender_id: chatId('sender_id'),
  state: z.enum(['start', 'stop'], { error: 'state must be "start" or "stop"' }),
  ttl_seconds: z
    .number({ error: 'ttl_seconds must be a number' })
    .int({ message: 'ttl_seconds must be a whole number' })
    .min(CLIENT_TYPING_TTL.min, { message: `ttl_seconds must be ${CLIENT_TYPING_TTL.min}-${CLIENT_TYPING_TTL.max}` })
    .max(CLIENT_TYPING_TTL.max, { message: `ttl_seconds must be ${CLIENT_TYPING_TTL.min}-${CLIENT_TYPING_TTL.max}` })
    .default(CLIENT_TYPING_TTL.default),
});

/** `POST /chat/{scope_id}/typing`: a client types (or stops) in the messenger. */
export const createChatTypingHandler = (deps: BridgeDeps) =>
  httpHandler(deps, 'chat-service', async (event) => {
    const scope = parseScope(pathParameter(event, 'scope_id'), deps.config.KOMMO_CHANNEL_ID);
    const request = parseJsonBody(rawBody(event), typingRequestSchema);
    const key = { scopeId: scope.scopeId, conversationId: request.conversation_id, senderId: request.sender_id };
    if (request.state === 'start') await startClientTyping(deps, key, request.ttl_seconds);
    else await stopClientTyping(deps, key);
    return json(202, { ok: true });
  });
