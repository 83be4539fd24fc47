import { randomUUID } from 'node:crypto';
import { signKommoHook } from '../functions/core/domain/amojo-signature';
import { StandardWebhookVerifier } from '../functions/core/domain/standard-webhooks';

/** Builds requests signed the way the chat service and Kommo sign them: for `npm run send` and the bench. */
export function signedChatRequest(secret: string, body: string, nowMs = Date.now()) {
  const webhookId = `msg_${randomUUID().replaceAll('-', '')}`;
  const timestamp = Math.floor(nowMs / 1000);
  return {
    'content-type': 'application/json',
    'webhook-id': webhookId,
    'webhook-timestamp': String(timestamp),
    'webhook-signature': new StandardWebhookVerifier(secret).sign(webhookId, timestamp, body),
  };
}

export function signedKommoHook(channelSecret: string, body: string) {
  return { 'content-type': 'application/json', 'x-signature': signKommoHook(Buffer.from(body), channelSecret) };
}

/** A Kommo-user typing hook as Kommo sends it, expiring 5 s from now. */
export function kommoTypingHookBody(
  accountId: string,
  options: { kommoConversationId: string; clientConversationId?: string; userId: string; nowMs?: number },
): string {
  const now = Math.floor((options.nowMs ?? Date.now()) / 1000);
  const conversation: Record<string, string> = { id: options.kommoConversationId };
  if (options.clientConversationId) conversation.client_id = options.clientConversationId;
  return JSON.stringify({
    account_id: accountId,
    time: now,
    action: { typing: { user: { id: options.userId }, conversation, expired_at: now + 5 } },
  });
}

/**
 * An outgoing-message hook (v2) as Kommo sends it when a Kommo user writes to a client
 * (docs/kommo.md): the bridge learns the chat, forwards the hook and, with CHAT_SERVICE_STATUS_URL
 * set, starts asking the chat service for the message's delivery status.
 */
export function kommoMessageHookBody(
  accountId: string,
  options: {
    msgid: string;
    kommoConversationId: string;
    clientConversationId: string;
    clientId: string;
    text?: string;
    nowMs?: number;
  },
): string {
  const nowMs = options.nowMs ?? Date.now();
  return JSON.stringify({
    account_id: accountId,
    time: Math.floor(nowMs / 1000),
    message: {
      receiver: { id: options.clientId, client_id: options.clientId },
      sender: { id: 'sandbox-kommo-user' },
      conversation: { id: options.kommoConversationId, client_id: options.clientConversationId },
      timestamp: Math.floor(nowMs / 1000),
      msec_timestamp: nowMs,
      message: { id: options.msgid, type: 'text', text: options.text ?? 'Hello from Kommo' },
    },
  });
}
