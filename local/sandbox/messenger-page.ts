import { ChatServiceClient, type StatusReport } from '../../clients/chat-service/src/index';
import type { ChatServiceSink } from './chat-service-sink';

/**
 * The client's side of the sandbox: a messenger page for one conversation, beside the Kommo stand-in
 * card. It is a small chat service built on the typed client (clients/chat-service): the page's
 * typing, online switch and delivery ticks are calls of that client to the bridge, and what the
 * bridge sends the chat service (a Kommo user typing, in the chat, reading it) reaches the page
 * through the sandbox's chat-service sink, which verified each event's signature.
 *
 * Messages a Kommo user writes show up here when the bridge first asks the chat service for their
 * status (the outgoing-message hook starts that poll); the page then reports them delivered and read
 * with the client, and Kommo's sandbox shows the ticks. The client's own messages are local to the
 * page (the Kommo Chat API's message import is not part of the sandbox); they get their read ticks
 * from `conversation.read`.
 *
 * Served by the local server only, under `/sandbox/messenger/`; `handle` answers those paths and
 * nothing else (undefined: not the page's request).
 */

export interface MessengerPageOptions {
  /** The bridge's URL (this local server), its scope and the chat-service secret. */
  bridgeUrl: string;
  scopeId: string;
  chatServiceSecret: string;
  chat: { conversationId: string; clientId: string; kommoConversationId: string };
  sink: ChatServiceSink;
  nowMs: () => number;
  /** The Kommo stand-in card to open beside the page, if any. */
  kommoCardPath?: string;
}

interface ClientMessage {
  text: string;
  at: number;
}

type Answer = { status: number; headers: Record<string, string>; body: string };

const json = (status: number, body: unknown): Answer => ({
  status,
  headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' },
  body: JSON.stringify(body),
});

/** How long the page's `online` lasts without a heartbeat (the page sends one every 10 s). */
const PRESENCE_TTL_SECONDS = 30;

export class MessengerPage {
  static readonly prefixes: readonly string[] = ['/sandbox/messenger/'];
  static readonly path = '/sandbox/messenger/';
  readonly client: ChatServiceClient;
  private readonly messages: ClientMessage[] = [];
  /** The last status the page reported per Kommo message. */
  private readonly reported = new Map<string, StatusReport['status']>();

  constructor(private readonly options: MessengerPageOptions) {
    this.client = new ChatServiceClient({
      baseUrl: options.bridgeUrl,
      scopeId: options.scopeId,
      secret: options.chatServiceSecret,
      now: options.nowMs,
    });
  }

  async handle(request: { method: string; url: string; body?: Buffer }): Promise<Answer | undefined> {
    const path = request.url.split('?', 1)[0]!;
    if (!path.startsWith(MessengerPage.path) && path !== MessengerPage.path.slice(0, -1)) return undefined;
    const local = path.slice(MessengerPage.path.length);
    try {
      if (request.method === 'GET' && local === '')
        return { status: 200, headers: { 'content-type': 'text/html; charset=utf-8' }, body: this.page() };
      if (request.method === 'GET' && local === 'state') return json(200, this.state());
      if (request.method === 'POST') return await this.act(local, parseBody(request.body));
      return json(404, { error: { code: 'not_found', message: `${request.method} ${path} is not a messenger page` } });
    } catch (error) {
      // The client's error names the bridge's code and rule; the page shows it as it is.
      const status =
        typeof (error as { status?: unknown }).status === 'number' ? (error as { status: number }).status : 502;
      return json(status, { error: { code: 'bridge_refused', message: (error as Error).message } });
    }
  }

  private async act(action: string, body: Record<string, unknown>): Promise<Answer> {
    const { conversationId, clientId } = this.options.chat;
    switch (action) {
      case 'typing':
        await this.client.typing({
          conversation_id: conversationId,
          sender_id: clientId,
          state: body.state === 'stop' ? 'stop' : 'start',
        });
        return json(202, { ok: true });
      case 'presence':
        await this.client.presence({
          client_id: clientId,
          state: body.state === 'offline' ? 'offline' : 'online',
          ...(body.state === 'offline' ? {} : { ttl_seconds: PRESENCE_TTL_SECONDS }),
        });
        return json(202, { ok: true });
      case 'messages': {
        const text = typeof body.text === 'string' ? body.text.trim() : '';
        if (!text) return json(400, { error: { code: 'invalid_field', message: 'text must not be empty' } });
        this.messages.push({ text: text.slice(0, 1000), at: this.options.nowMs() });
        await this.client.typing({ conversation_id: conversationId, sender_id: clientId, state: 'stop' });
        return json(201, { ok: true });
      }
      case 'status': {
        const msgid = typeof body.msgid === 'string' ? body.msgid : '';
        const status = body.status === 'read' ? 'read' : 'delivered';
        const answer = await this.client.reportStatus(msgid, { status });
        this.reported.set(msgid, answer.body.status);
        return json(202, answer.body);
      }
      default:
        return json(404, { error: { code: 'not_found', message: `no action ${action}` } });
    }
  }

  /** What the page shows, on the bridge's clock: the Kommo user's typing, presence and reads, and the messages. */
  private state() {
    const { conversationId } = this.options.chat;
    const now = this.options.nowMs();
    const events = this.options.sink.events.filter((event) => event.data.conversation_id === conversationId);
    const lastTyping = events
      .filter((event) => event.type === 'typing.started' || event.type === 'typing.stopped')
      .at(-1);
    const typingUntil =
      lastTyping?.type === 'typing.started' ? Date.parse(String(lastTyping.data.expires_at)) : Number.NEGATIVE_INFINITY;
    const reads = events.filter((event) => event.type === 'conversation.read');
    const readUpTo =
      reads.length > 0 ? Math.max(...reads.map((event) => Date.parse(String(event.data.read_at)))) : null;
    const presence = events.filter((event) => event.type === 'presence.changed').at(-1);
    const kommoMessages = [...new Set(this.options.sink.statusQueries.map((query) => query.msgid))];
    return {
      chat: this.options.chat,
      kommoCardPath: this.options.kommoCardPath ?? null,
      kommoUserTyping: typingUntil > now,
      kommoUserInChat: presence ? presence.data.state === 'online' : null,
      messages: this.messages.map((message) => ({
        text: message.text,
        at: new Date(message.at).toISOString(),
        read: readUpTo !== null && readUpTo >= message.at,
      })),
      kommoMessages: kommoMessages.map((msgid) => ({ msgid, reported: this.reported.get(msgid) ?? null })),
    };
  }

  private page(): string {
    return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Messenger (sandbox): ${escapeHtml(this.options.chat.clientId)}</title>
<style>
  body { font: 14px system-ui, sans-serif; margin: 0; display: flex; height: 100vh; background: #eceff1; }
  #messenger { width: 380px; display: flex; flex-direction: column; background: #fff; border-right: 1px solid #cfd8dc; }
  header { padding: 10px 12px; background: #00796b; color: #fff; }
  header small { display: block; opacity: .85; }
  #thread { flex: 1; overflow-y: auto; padding: 10px; display: flex; flex-direction: column; gap: 6px; }
  .bubble { max-width: 75%; padding: 6px 10px; border-radius: 12px; }
  .mine { align-self: flex-end; background: #dcf8c6; }
  .theirs { align-self: flex-start; background: #f1f3f4; }
  .ticks { font-size: 11px; color: #90a4ae; margin-left: 6px; }
  .ticks.read { color: #039be5; }
  #typing-bubble { align-self: flex-start; font-style: italic; color: #546e7a; }
  form { display: flex; gap: 6px; padding: 8px; border-top: 1px solid #cfd8dc; }
  #text { flex: 1; padding: 6px; }
  #kommo { flex: 1; border: 0; }
  .error { color: #c62828; padding: 0 10px; min-height: 18px; }
</style></head>
<body>
<section id="messenger">
  <header><b>Client ${escapeHtml(this.options.chat.clientId)}</b>
    <small>conversation ${escapeHtml(this.options.chat.conversationId)} · Kommo chat ${escapeHtml(this.options.chat.kommoConversationId)}</small>
    <small><label><input type="checkbox" id="online"> online</label> · <span id="agent">Kommo user not in the chat</span></small>
  </header>
  <div id="thread"></div>
  <div id="typing-bubble" hidden>Kommo user is typing…</div>
  <div class="error" id="error"></div>
  <form id="compose"><input id="text" autocomplete="off" placeholder="Type a message"><button>Send</button></form>
</section>
<iframe id="kommo" title="Kommo card" hidden></iframe>
<script>
const base = ${JSON.stringify(MessengerPage.path)};
const $ = (id) => document.getElementById(id);
async function post(action, body) {
  const answer = await fetch(base + action, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  $('error').textContent = answer.ok ? '' : (await answer.json()).error.message;
  return answer;
}
// Typing: a start per keystroke (the bridge makes one Kommo call per window), a stop when the field empties.
let typing = false;
$('text').addEventListener('input', () => {
  const now = $('text').value.length > 0;
  if (now) post('typing', { state: 'start' });
  else if (typing) post('typing', { state: 'stop' });
  typing = now;
});
$('compose').addEventListener('submit', async (event) => {
  event.preventDefault();
  const text = $('text').value;
  $('text').value = '';
  typing = false;
  await post('messages', { text });
  refresh();
});
// Presence: online is a heartbeat every 10 s (a third of its 30-s window); offline at once.
let heartbeat;
$('online').addEventListener('change', () => {
  clearInterval(heartbeat);
  if ($('online').checked) {
    post('presence', { state: 'online' });
    heartbeat = setInterval(() => post('presence', { state: 'online' }), 10000);
  } else post('presence', { state: 'offline' });
});
async function report(msgid, status) {
  await post('status', { msgid, status });
  refresh();
}
function render(state) {
  const thread = $('thread');
  thread.textContent = '';
  for (const message of state.kommoMessages) {
    const bubble = document.createElement('div');
    bubble.className = 'bubble theirs';
    bubble.dataset.msgid = message.msgid;
    bubble.textContent = 'Kommo user: message ' + message.msgid + ' ';
    const status = document.createElement('span');
    status.className = 'ticks';
    status.textContent = message.reported ?? 'not reported';
    bubble.append(status);
    for (const next of ['delivered', 'read']) {
      const button = document.createElement('button');
      button.textContent = next;
      button.dataset.report = next;
      button.onclick = () => report(message.msgid, next);
      bubble.append(' ', button);
    }
    thread.append(bubble);
  }
  for (const message of state.messages) {
    const bubble = document.createElement('div');
    bubble.className = 'bubble mine';
    bubble.textContent = message.text;
    const ticks = document.createElement('span');
    ticks.className = message.read ? 'ticks read' : 'ticks';
    ticks.textContent = message.read ? '✓✓' : '✓';
    ticks.title = message.read ? 'read in Kommo' : 'sent';
    bubble.append(ticks);
    thread.append(bubble);
  }
  $('typing-bubble').hidden = !state.kommoUserTyping;
  $('agent').textContent =
    state.kommoUserInChat === null ? 'Kommo user not in the chat yet' : state.kommoUserInChat ? 'Kommo user in the chat' : 'Kommo user left the chat';
  if (state.kommoCardPath && new URLSearchParams(location.search).has('beside') && $('kommo').hidden) {
    $('kommo').src = state.kommoCardPath;
    $('kommo').hidden = false;
  }
}
async function refresh() {
  const answer = await fetch(base + 'state');
  if (answer.ok) render(await answer.json());
}
refresh();
setInterval(refresh, 500);
</script>
</body></html>`;
  }
}

function parseBody(body: Buffer | undefined): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(body?.toString('utf8') || '{}');
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (character) => `&#${character.charCodeAt(0)};`);
}
