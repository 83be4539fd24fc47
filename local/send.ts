import { statusUrlFor } from '../functions/core/config';
import { readDevSettings } from './dev-settings';
import { kommoMessageHookBody, kommoTypingHookBody, signedChatRequest, signedKommoHook } from './requests';

/**
 * `npm run send -- <command> …`: signed requests to the bridge running in sandbox mode.
 */
const usage = `usage: npm run send -- <command> …   (ids are 1-128 characters; the sandbox chat is kommo-c-1 = conversation c-1, client u-7)
 as the chat service:
  typing <conversation_id> <sender_id> start|stop [ttl_seconds 1-60, default 6]
  presence <client_id> online|offline [ttl_seconds 10-3600, default 60]
  get-presence <client_id>
  status <msgid> delivered|read|error [error_code 901-905] [error text, required with 905, 1-500 characters]
  get-status <msgid>
  conversation <conversation_id> <kommo_conversation_id> <client_id>   registers which Kommo chat the conversation is,
                                                                      e.g. conversation c-1 kommo-c-1 u-7
  chat-status <msgid> sent|delivered|read|error [error_code] [error text]   what the chat service answers when the bridge
                                                                           asks for the status (pulled status)
 as Kommo:
  kommo-typing <conversation_id> [kommo_user_id]   a Kommo user types (typing.started, then typing.stopped)
  kommo-message <msgid> [conversation_id] [client_id]   a Kommo user writes to the client (the outgoing-message hook):
                                                      the bridge starts asking for msgid's status`;

/** `<kommo chat id>` pasted literally: a placeholder, not an id (in bash unquoted it is even a redirection). */
function refusePlaceholders(args: readonly string[]): void {
  const placeholder = args.find((arg) => /^<.*>$/.test(arg) || arg === '…');
  if (placeholder === undefined) return;
  throw new UsageError(`${placeholder} is a placeholder: put the real value there (see the usage below)`);
}

class UsageError extends Error {}

async function main(argv: string[]): Promise<void> {
  const [command, ...args] = argv;
  refusePlaceholders(args);
  const settings = readDevSettings();
  const chat = async (method: 'GET' | 'POST' | 'PUT', path: string, body?: unknown) => {
    const raw = body === undefined ? '' : JSON.stringify(body);
    const response = await fetch(`${settings.url}/chat/${settings.scopeId}${path}`, {
      method,
      headers: signedChatRequest(settings.chatServiceSecret, raw),
      ...(method === 'GET' ? {} : { body: raw }),
    });
    return report(response);
  };
  switch (command) {
    case 'typing': {
      const [conversationId, senderId, state, ttl] = args;
      return chat('POST', '/typing', {
        conversation_id: conversationId,
        sender_id: senderId,
        state,
        ...(ttl ? { ttl_seconds: Number(ttl) } : {}),
      });
    }
    case 'presence': {
      const [clientId, state, ttl] = args;
      return chat('POST', '/presence', { client_id: clientId, state, ...(ttl ? { ttl_seconds: Number(ttl) } : {}) });
    }
    case 'get-presence':
      return chat('GET', `/presence/${encodeURIComponent(args[0] ?? '')}`);
    case 'status': {
      const [msgid, status, code, ...text] = args;
      return chat('POST', `/messages/${encodeURIComponent(msgid ?? '')}/status`, {
        status,
        ...(code ? { error_code: Number(code) } : {}),
        ...(text.length > 0 ? { error: text.join(' ') } : {}),
      });
    }
    case 'get-status':
      return chat('GET', `/messages/${encodeURIComponent(args[0] ?? '')}/status`);
    case 'conversation': {
      const [conversationId, kommoConversationId, clientId] = args;
      if (!clientId) throw new UsageError('conversation needs three ids, e.g. conversation c-1 kommo-c-1 u-7');
      return chat('PUT', `/conversations/${encodeURIComponent(conversationId ?? '')}`, {
        kommo_conversation_id: kommoConversationId,
        client_id: clientId,
      });
    }
    case 'chat-status': {
      // The sink stands in for the chat service: this sets what it answers to the bridge's next status query.
      if (!settings.chatServiceStatusUrl)
        throw new Error('The running sandbox polls no status URL: restart it with `npm start`.');
      const [msgid, status, code, ...text] = args;
      const raw = JSON.stringify({
        status,
        ...(code ? { error_code: Number(code) } : {}),
        ...(text.length > 0 ? { error: text.join(' ') } : {}),
      });
      const url = statusUrlFor(settings.chatServiceStatusUrl, msgid ?? '');
      return report(
        await fetch(url, { method: 'PUT', headers: signedChatRequest(settings.chatServiceSecret, raw), body: raw }),
      );
    }
    case 'kommo-message': {
      const [msgid, conversationId = 'c-1', clientId = 'u-7'] = args;
      if (!msgid) throw new UsageError('kommo-message needs the message id, e.g. kommo-message msg-1');
      const body = kommoMessageHookBody(settings.accountId, {
        msgid,
        kommoConversationId: `kommo-${conversationId}`,
        clientConversationId: conversationId,
        clientId,
      });
      const response = await fetch(`${settings.url}/kommo/${settings.scopeId}`, {
        method: 'POST',
        headers: signedKommoHook(settings.channelSecret, body),
        body,
      });
      return report(response);
    }
    case 'kommo-typing': {
      const [conversationId, userId] = args;
      const body = kommoTypingHookBody(settings.accountId, {
        kommoConversationId: `kommo-${conversationId ?? 'c-1'}`,
        clientConversationId: conversationId ?? 'c-1',
        userId: userId ?? 'b0bc49f0-ec21-4463-965f-1fe1d4cd5b89',
      });
      const response = await fetch(`${settings.url}/kommo/${settings.scopeId}`, {
        method: 'POST',
        headers: signedKommoHook(settings.channelSecret, body),
        body,
      });
      return report(response);
    }
    default:
      process.stderr.write(`${usage}\n`);
      process.exitCode = 2;
  }
}

/** Prints the answer; a refusal (4xx) or a failure (5xx) also fails the command, so scripts notice. */
async function report(response: Response): Promise<void> {
  const line = `${response.status} ${await response.text()}\n`;
  if (response.ok) {
    process.stdout.write(line);
    return;
  }
  process.stderr.write(line);
  process.exitCode = 1;
}

/** fetch says only "fetch failed"; its cause says whether anything listens there at all. */
function explain(error: unknown): string {
  const cause = error instanceof Error ? (error.cause as { code?: string } | undefined) : undefined;
  if (cause?.code === 'ECONNREFUSED') {
    let url = 'the address in the dev settings';
    try {
      url = readDevSettings().url;
    } catch {
      // the settings were read once already; keep the generic wording
    }
    return `no bridge running on ${url} (start it with npm start)`;
  }
  const message = error instanceof Error ? error.message : String(error);
  return cause?.code ? `${message} (${cause.code})` : message;
}

main(process.argv.slice(2)).catch((error: unknown) => {
  if (error instanceof UsageError) {
    process.stderr.write(`${error.message}\n${usage}\n`);
    process.exitCode = 2;
    return;
  }
  process.stderr.write(`${explain(error)}\n`);
  process.exitCode = 1;
});
