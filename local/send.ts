import { statusUrlFor } from '../functions/core/config';
import { readDevSettings } from './dev-settings';
import { kommoTypingHookBody, signedChatRequest, signedKommoHook } from './requests';

/**
 * `npm run send -- <command> …`: signed requests to the bridge running in sandbox mode.
 */
const usage = `usage: npm run send -- <command>
  typing <conversation_id> <sender_id> start|stop [ttl_seconds]
  presence <client_id> online|offline [ttl_seconds]
  get-presence <client_id>
  status <msgid> delivered|read|error [error_code] [error text]
  get-status <msgid>
  conversation <conversation_id> <kommo_conversation_id> <client_id>   (registers which Kommo chat the conversation is)
  chat-status <msgid> sent|delivered|read|error [error_code] [error text]   (what the chat service answers when the bridge polls)
  kommo-typing <conversation_id> [kommo_user_id]`;

async function main(argv: string[]): Promise<void> {
  const settings = readDevSettings();
  const [command, ...args] = argv;
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
  process.stderr.write(`${explain(error)}\n`);
  process.exitCode = 1;
});
