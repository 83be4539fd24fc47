import { signAmojoRequest } from '../functions/core/domain/amojo-signature';
import { SANDBOX_ACCOUNT_ID, type LocalRuntime } from '../local/runtime';
import { kommoTypingHookBody, signedChatRequest, signedKommoHook } from '../local/requests';

/** One answered request: status and the `performance.now()` times it was sent and answered. */
export interface Answer {
  status: number;
  sentAt: number;
  answeredAt: number;
}

/** What a running sandbox-mode runtime gives the bench: where to send and the dev secrets to sign with. */
export interface BenchTarget {
  url: string;
  scopeId: string;
  accountId: string;
  channelSecret: string;
  chatServiceSecret: string;
  kommoApiUrl: string;
}

export function benchTarget(runtime: LocalRuntime): BenchTarget {
  if (!runtime.scopeId || !runtime.kommo || !runtime.sink)
    throw new Error('the bench needs the runtime in sandbox mode (no KOMMO_CHANNEL_ID)');
  return {
    url: runtime.url,
    scopeId: runtime.scopeId,
    accountId: SANDBOX_ACCOUNT_ID,
    channelSecret: runtime.config.KOMMO_CHANNEL_SECRET,
    chatServiceSecret: runtime.config.CHAT_SERVICE_SECRET,
    kommoApiUrl: runtime.config.KOMMO_API_URL,
  };
}

async function send(url: string, init: RequestInit): Promise<Answer> {
  const sentAt = performance.now();
  const response = await fetch(url, init);
  await response.arrayBuffer();
  return { status: response.status, sentAt, answeredAt: performance.now() };
}

/** A chat-service request, signed with Standard Webhooks as the chat service signs it. */
export function postChat(target: BenchTarget, path: string, body: unknown): Promise<Answer> {
  const raw = JSON.stringify(body);
  return send(`${target.url}/chat/${target.scopeId}${path}`, {
    method: 'POST',
    headers: signedChatRequest(target.chatServiceSecret, raw),
    body: raw,
  });
}

export interface ChatTypingEvent {
  conversationId: string;
  senderId: string;
  state: 'start' | 'stop';
  ttlSeconds?: number;
}

export function postChatTyping(target: BenchTarget, event: ChatTypingEvent): Promise<Answer> {
  return postChat(target, '/typing', {
    conversation_id: event.conversationId,
    sender_id: event.senderId,
    state: event.state,
    ...(event.ttlSeconds !== undefined ? { ttl_seconds: event.ttlSeconds } : {}),
  });
}

/** A Kommo-user typing hook as Kommo sends it (expiring 5 s after now), signed with the channel secret. */
export function postKommoTypingHook(
  target: BenchTarget,
  hook: { kommoConversationId: string; clientConversationId: string; userId: string },
): Promise<Answer> {
  const body = kommoTypingHookBody(target.accountId, hook);
  return send(`${target.url}/kommo/${target.scopeId}`, {
    method: 'POST',
    headers: signedKommoHook(target.channelSecret, body),
    body,
  });
}

/**
 * The naive alternative the bridge is measured against: a forwarder that turns every client typing
 * `start` into one signed amojo typing call, at once, and does nothing on `stop` (Kommo has no stop
 * call). It talks to the same Kommo sandbox as the bridge. Resolves with whether it made a call.
 */
export function naiveTypingForwarder(target: BenchTarget): (event: ChatTypingEvent) => Promise<boolean> {
  return async (event) => {
    if (event.state !== 'start') return false;
    const path = `/v2/origin/custom/${target.scopeId}/typing`;
    const body = JSON.stringify({ conversation_id: event.conversationId, sender: { id: event.senderId } });
    const headers = signAmojoRequest({ method: 'POST', path, body, date: new Date() }, target.channelSecret);
    const answer = await send(`${target.kommoApiUrl}${path}`, { method: 'POST', headers: { ...headers }, body });
    if (answer.status < 200 || answer.status >= 300)
      throw new Error(`naive forwarder: Kommo sandbox answered ${answer.status}`);
    return true;
  };
}
