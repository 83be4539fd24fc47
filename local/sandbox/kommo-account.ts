import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

/**
 * A stand-in for a Kommo account's pages, to run the real widget (`widget/script.js`) in a browser:
 * for the browser tests and for the sandbox page of `npm start`. It offers only what Kommo documents
 * to widgets (docs/kommo.md and the widget SDK): the real jQuery 3.7 and RequireJS (npm `jquery`,
 * `requirejs`), the widget loaded as an AMD module and built with `new`, `APP.constant`,
 * `APP.isCard`, `APP.getBaseEntity`, `APP.data.current_card`, the widget's `get_settings`, `i18n`,
 * `render_template`, `$authorizedAjax` (one token per page, minted on the server and reused for 25
 * minutes, as public widgets report Kommo does: the integration's secret never reaches the page),
 * `listenSocketChannel`, the `page:changed` event, inbox addresses (`/chats/{talk_id}/…`), and the
 * account's CRM API only in its documented forms (`/api/v4/talks/{id}`, the talks list,
 * `/api/v4/contacts/{id}?with=leads`, `/api/v4/contacts/chats?contact_id=` one integer; 204 when a
 * list is empty).
 *
 * Pages and assets live under `/sandbox/kommo`; the CRM API at `/api/v4/`, as on a real account.
 * `handle` answers those and nothing else (undefined: not the stand-in's request).
 */

export interface StandInContact {
  id: number;
  name: string;
}

export interface StandInLead {
  id: number;
  name: string;
  contactIds: number[];
}

export interface StandInChat {
  /** The amojo chat id: what `/api/v4/contacts/chats` lists and widget routes name. */
  chatId: string;
  contactId: number;
  /** The integration's conversation id for this chat (Kommo's `conversation.client_id`), to show typing. */
  clientConversationId?: string;
  /** The chat's talk (`/api/v4/talks/{id}`, the inbox address `/chats/{talk_id}/…`); by default its place in the list, from 1. */
  talkId?: number;
  /**
   * The lead the talk belongs to (a talk has at most one); by default the first lead of the chat's
   * contact, and `null` for a talk of no lead.
   */
  leadId?: number | null;
  /** The talk's source (`origin`), which the widget labels the chat with. */
  origin?: string;
}

/** A typing indicator Kommo shows: the conversation (the integration's id) and until when. */
export interface ShownTyping {
  conversationId: string;
  untilMs: number;
}

export interface KommoAccountStandInOptions {
  account: { id: number; subdomain: string; amojoId: string };
  user: { id: number; amojoId: string; name: string };
  contacts: StandInContact[];
  leads: StandInLead[];
  chats: StandInChat[];
  /** The widget's settings as an admin saved them (`bridge_url`). */
  settings: Record<string, string>;
  /** A one-time token for `$authorizedAjax`: minted once per page and reused for 25 minutes, as Kommo does. */
  mintToken(): Promise<string>;
  locale?: string;
  /** When false, `listenSocketChannel` never delivers anything (a Kommo whose talk events changed shape). */
  talkEvents?: boolean;
  /** The sandbox page also shows Kommo's typing indicator and what the chat service received. */
  observe?: { typing(): ShownTyping[]; chatServiceEvents(): { type: string; data: Record<string, unknown> }[] };
  /** The widget's folder (script.js, i18n/). */
  widgetDir?: URL;
  nowMs?: () => number;
}

/** A call the widget made through `$authorizedAjax`: when (the page's clock), and where. */
export interface AuthorizedCall {
  at: number;
  method: string;
  url: string;
}

export interface StandInRequest {
  method: string;
  /** Path and query, as sent. */
  url: string;
  body?: Buffer;
}

export interface StandInAnswer {
  status: number;
  headers: Record<string, string>;
  body: string | Buffer;
}

interface TalkEvent {
  seq: number;
  channel: string;
  message: unknown;
}

interface FeedMessage {
  chatId: string;
  from: 'client' | 'system';
  text: string;
  at: number;
}

const requireModule = createRequire(import.meta.url);
const LONG_POLL_MS = 20_000;
/** Kommo's token lives 30 min; `$authorizedAjax` reuses it for about 25 (docs/kommo.md). */
const TOKEN_REUSE_MS = 25 * 60_000;
const json = (status: number, body: unknown): StandInAnswer => ({
  status,
  headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' },
  body: JSON.stringify(body),
});
/** Kommo's answer to a query it does not take: 400 with the field named. */
const validationError = (field: string, detail: string): StandInAnswer =>
  json(400, {
    title: 'Bad Request',
    status: 400,
    detail,
    'validation-errors': [{ request_id: '0', errors: [{ code: 'NotSupportedChoice', path: field, detail }] }],
  });
const noContent = (): StandInAnswer => ({ status: 204, headers: { 'cache-control': 'no-store' }, body: '' });

export class KommoAccountStandIn {
  /** Where the stand-in's pages live (`basePath` below it) and Kommo's CRM API: no bridge route starts so. */
  static readonly prefixes: readonly string[] = ['/sandbox/kommo/', '/api/v4/'];
  readonly basePath: string;
  /** CRM API requests the page made, oldest first (path and query). */
  readonly apiRequests: string[] = [];
  /** Every request the stand-in answered or refused, oldest first (`METHOD path`). */
  readonly requests: string[] = [];
  /** The widget's `$authorizedAjax` calls, each with the page's clock when it was made, oldest first. */
  readonly authorizedCalls: AuthorizedCall[] = [];
  /** How many one-time tokens the pages were given (one per page, reused for 25 minutes). */
  tokensMinted = 0;
  /** The page has handled every talk event up to this one (it asks for the next ones only after dispatching them). */
  talkEventsHandled = 0;
  private readonly talkEvents: TalkEvent[] = [];
  private readonly feed: FeedMessage[] = [];
  private waiting: (() => void)[] = [];
  private closed = false;
  private readonly widgetDir: URL;
  /** The token of the page last served, and when it was minted (`/one-time-token` hands it out again). */
  private pageToken: { token: string; mintedAtMs: number } | undefined;

  constructor(private readonly options: KommoAccountStandInOptions) {
    this.basePath = KommoAccountStandIn.prefixes[0]!.slice(0, -1);
    this.widgetDir = options.widgetDir ?? new URL('../../widget/', import.meta.url);
  }

  /** The page of a card, for a browser to open: `/sandbox/kommo/leads/detail/101`. */
  cardPath(entity: 'leads' | 'contacts', id: number): string {
    return `${this.basePath}/${entity}/detail/${id}`;
  }

  /** A client message arrives in a chat: Kommo shows it and pushes a talk update (unread) on `inbox:talks`. */
  clientWrites(chatId: string, text = 'Hello from the client'): number {
    const chat = this.options.chats.find((candidate) => candidate.chatId === chatId);
    if (!chat) throw new Error(`the stand-in account has no chat ${chatId}`);
    this.feed.push({ chatId, from: 'client', text, at: this.now() });
    return this.publishTalkEvent({
      body: { payload: { type: 127, model: { chat_id: chatId, contact_id: chat.contactId, is_read: false } } },
    });
  }

  /** Pushes a message on the account's `inbox:talks` channel, in the shape Kommo's front-end reads; returns its number. */
  publishTalkEvent(message: unknown): number {
    const seq = this.talkEvents.length + 1;
    this.talkEvents.push({ seq, channel: `inbox:talks:${this.options.account.id}`, message });
    this.wakeWaiting();
    return seq;
  }

  /** Ends pending long polls (the server is stopping). */
  close(): void {
    this.closed = true;
    this.wakeWaiting();
  }

  /** Answers a request of the stand-in's pages, assets, one-time tokens or CRM API; undefined for anything else. */
  async handle(request: StandInRequest): Promise<StandInAnswer | undefined> {
    const url = new URL(request.url, 'http://stand-in');
    const path = url.pathname;
    const mine = path === this.basePath || path.startsWith(`${this.basePath}/`) || path.startsWith('/api/v4/');
    if (!mine) return undefined;
    this.requests.push(`${request.method} ${path}`);
    if (path.startsWith('/api/v4/')) return this.crmApi(request.method, url);
    const local = path.slice(this.basePath.length) || '/';
    if (
      request.method === 'GET' &&
      (local === '/' ||
        /^\/(leads|contacts)\/detail\/\d+$/.test(local) ||
        /^\/chats\/\d+(\/leads\/detail\/\d+)?$/.test(local))
    )
      return this.page();
    if (request.method === 'GET' && local === '/assets/kommo-stand-in.js')
      return this.asset(new URL('./kommo-account/kommo-stand-in.js', import.meta.url), 'text/javascript');
    // The real jQuery 3.7 and RequireJS that Kommo's pages run, from npm (jquery, requirejs).
    if (request.method === 'GET' && local === '/vendor/jquery.js')
      return this.asset(pathToFileURL(requireModule.resolve('jquery/dist/jquery.js')), 'text/javascript');
    if (request.method === 'GET' && local === '/vendor/require.js')
      return this.asset(pathToFileURL(requireModule.resolve('requirejs/require.js')), 'text/javascript');
    if (request.method === 'GET' && local === '/widget/script.js')
      return this.asset(new URL('script.js', this.widgetDir), 'text/javascript');
    if (request.method === 'GET' && /^\/widget\/images\/[a-z_]+\.png$/.test(local))
      return this.asset(new URL(local.slice('/widget/'.length), this.widgetDir), 'image/png');
    if (request.method === 'POST' && local === '/one-time-token') {
      const call = parseAuthorizedCall(request.body);
      if (call) this.authorizedCalls.push(call);
      // One token per page, reused for 25 minutes, as public widgets report `$authorizedAjax` does.
      const now = this.now();
      if (!this.pageToken || now - this.pageToken.mintedAtMs >= TOKEN_REUSE_MS) {
        this.pageToken = { token: await this.options.mintToken(), mintedAtMs: now };
        this.tokensMinted += 1;
      }
      return json(200, { token: this.pageToken.token });
    }
    if (request.method === 'GET' && local === '/talk-events')
      return this.nextTalkEvents(Number(url.searchParams.get('after') ?? 0));
    if (request.method === 'GET' && local === '/feed') return json(200, this.feedView());
    const written = /^\/chats\/([^/]+)\/client-message$/.exec(local);
    if (request.method === 'POST' && written) {
      const chatId = decodeURIComponent(written[1]!);
      if (!this.options.chats.some((chat) => chat.chatId === chatId))
        return json(404, { error: { code: 'unknown_chat', message: `no chat ${chatId} in this account` } });
      this.clientWrites(chatId, parseText(request.body) ?? 'Hello from the client');
      return json(202, { ok: true });
    }
    return json(404, { error: { code: 'not_found', message: `The Kommo stand-in has no ${request.method} ${path}` } });
  }

  private now(): number {
    return this.options.nowMs?.() ?? Date.now();
  }

  private page(): StandInAnswer {
    this.pageToken = undefined;
    const locale = this.options.locale ?? 'en';
    const i18n = JSON.parse(readFileSync(new URL(`i18n/${locale}.json`, this.widgetDir), 'utf8'));
    const boot = {
      basePath: this.basePath,
      account: {
        id: this.options.account.id,
        subdomain: this.options.account.subdomain,
        amojo_id: this.options.account.amojoId,
      },
      user: { id: this.options.user.id, amojo_id: this.options.user.amojoId, name: this.options.user.name },
      settings: this.options.settings,
      i18n,
      locale,
      talkEvents: this.options.talkEvents !== false,
      sandboxPanels: this.options.observe !== undefined,
      leads: this.options.leads,
      contacts: this.options.contacts,
      chats: this.talks().map((talk) => ({
        chatId: talk.chat_id,
        contactId: talk.contact_id,
        talkId: talk.talk_id,
        leadId: talk.entity_id,
      })),
    };
    // Inline JSON in a script element: `<` escaped so no value can close the element.
    const bootJson = JSON.stringify(boot).replace(/</g, '\\u003c');
    const html = `<!doctype html>
<html lang="${locale}">
<head>
<meta charset="utf-8">
<title>Kommo account (stand-in): ${escapeHtml(this.options.account.subdomain)}</title>
<style>
  body { margin: 0; font: 14px/1.4 -apple-system, 'Segoe UI', Roboto, Arial, sans-serif; color: #263238; background: #f4f6f8; }
  header { background: #1f2a38; color: #fff; padding: 10px 16px; }
  header small { color: #b0bec5; margin-left: 8px; }
  .layout { display: grid; grid-template-columns: 200px 1fr 280px; gap: 12px; padding: 12px; }
  nav, main, aside, section { background: #fff; border-radius: 6px; padding: 12px; }
  nav a { display: block; padding: 3px 0; color: #1565c0; text-decoration: none; }
  nav h4 { margin: 10px 0 4px; font-size: 12px; text-transform: uppercase; color: #78909c; }
  .message { margin: 4px 0; padding: 6px 10px; background: #e3f2fd; border-radius: 10px; display: inline-block; }
  .typing { color: #2e7d32; font-style: italic; min-height: 20px; }
  .card-widgets__widget { border: 1px solid #e0e6eb; border-radius: 6px; margin-bottom: 8px; }
  .card-widgets__widget-caption { padding: 6px 10px; background: #f7f9fa; font-weight: 600; border-bottom: 1px solid #e0e6eb; }
  .card-widgets__widget-body { padding: 8px 10px; min-height: 18px; }
  #sandbox-log { grid-column: 1 / -1; font-family: ui-monospace, monospace; font-size: 12px; max-height: 220px; overflow: auto; }
</style>
<script id="kommo-stand-in-boot" type="application/json">${bootJson}</script>
</head>
<body>
<header>Kommo account <b>${escapeHtml(this.options.account.subdomain)}</b><small>a local stand-in for Kommo's pages, running the real widget</small></header>
<div class="layout">
  <nav id="nav"></nav>
  <main id="work-area"></main>
  <aside id="card-widgets" class="card-widgets"></aside>
  ${this.options.observe ? '<section id="sandbox-log"><b>Chat service received</b><div id="sandbox-events"></div></section>' : ''}
</div>
<script src="${this.basePath}/vendor/require.js"></script>
<script src="${this.basePath}/assets/kommo-stand-in.js"></script>
</body>
</html>`;
    return {
      status: 200,
      headers: { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' },
      body: html,
    };
  }

  private asset(file: URL, contentType: string): StandInAnswer {
    try {
      return {
        status: 200,
        headers: {
          'content-type': contentType.startsWith('text/') ? `${contentType}; charset=utf-8` : contentType,
          'cache-control': 'no-store',
        },
        body: readFileSync(file),
      };
    } catch {
      return json(404, { error: { code: 'not_found', message: 'no such file' } });
    }
  }

  /** The CRM API endpoints the widget reads, in Kommo's shapes (HAL `_embedded`, 204 for an empty list). */
  private crmApi(method: string, url: URL): StandInAnswer {
    this.apiRequests.push(`${url.pathname}${url.search}`);
    if (method !== 'GET') return json(405, { title: 'Method Not Allowed', status: 405 });
    const lead = /^\/api\/v4\/leads\/(\d+)$/.exec(url.pathname);
    if (lead) {
      const found = this.options.leads.find((candidate) => candidate.id === Number(lead[1]));
      if (!found) return noContent();
      const withContacts = (url.searchParams.get('with') ?? '').split(',').includes('contacts');
      return json(200, {
        id: found.id,
        name: found.name,
        account_id: this.options.account.id,
        _embedded: withContacts
          ? { contacts: found.contactIds.map((id, index) => ({ id, is_main: index === 0 })) }
          : {},
      });
    }
    if (url.pathname === '/api/v4/contacts/chats') {
      // Only the documented form: one integer `contact_id` (Kommo's PHP library sends that form too).
      const ids = url.searchParams.getAll('contact_id');
      if (
        ids.length !== 1 ||
        !/^\d+$/.test(ids[0]!) ||
        [...url.searchParams.keys()].some((name) => name !== 'contact_id')
      )
        return validationError('contact_id', 'contact_id must be one integer');
      const chats = this.options.chats.filter((chat) => chat.contactId === Number(ids[0]));
      if (chats.length === 0) return noContent();
      return json(200, {
        _total_items: chats.length,
        _embedded: {
          chats: chats.map((chat, index) => ({ id: index + 1, chat_id: chat.chatId, contact_id: chat.contactId })),
        },
      });
    }
    const contact = /^\/api\/v4\/contacts\/(\d+)$/.exec(url.pathname);
    if (contact) {
      const found = this.options.contacts.find((candidate) => candidate.id === Number(contact[1]));
      if (!found) return noContent();
      const withLeads = (url.searchParams.get('with') ?? '').split(',').includes('leads');
      const leads = this.options.leads.filter((lead) => lead.contactIds.includes(found.id));
      return json(200, {
        id: found.id,
        name: found.name,
        account_id: this.options.account.id,
        _embedded: withLeads ? { leads: leads.map((lead) => ({ id: lead.id })) } : {},
      });
    }
    const talk = /^\/api\/v4\/talks\/(\d+)$/.exec(url.pathname);
    if (talk) {
      const found = this.talks().find((candidate) => candidate.talk_id === Number(talk[1]));
      return found ? json(200, found) : json(404, { title: 'Not Found', status: 404, detail: 'No talk' });
    }
    if (url.pathname === '/api/v4/talks') {
      // The list with its entity filters; anything else in the query is refused, so a guess shows.
      const known = new Set(['filter[entity_type]', 'filter[entity_id]', 'limit', 'page']);
      const unknown = [...url.searchParams.keys()].find((name) => !known.has(name));
      if (unknown) return validationError(unknown, `${unknown} is not a filter of the talks list`);
      const entityType = url.searchParams.get('filter[entity_type]');
      const entityId = url.searchParams.get('filter[entity_id]');
      const talks = this.talks().filter(
        (candidate) =>
          (entityType === null || candidate.entity_type === entityType) &&
          (entityId === null || candidate.entity_id === Number(entityId)),
      );
      if (talks.length === 0) return noContent();
      return json(200, { _embedded: { talks } });
    }
    return json(404, { title: 'Not Found', status: 404, detail: `The stand-in has no ${url.pathname}` });
  }

  /** The account's talks, in Kommo's shape (`GET /api/v4/talks/{id}`): one per chat. */
  private talks() {
    return this.options.chats.map((chat, index) => {
      const leadId =
        chat.leadId === undefined
          ? this.options.leads.find((lead) => lead.contactIds.includes(chat.contactId))?.id
          : (chat.leadId ?? undefined);
      return {
        talk_id: chat.talkId ?? index + 1,
        chat_id: chat.chatId,
        contact_id: chat.contactId,
        entity_id: leadId ?? null,
        entity_type: leadId === undefined ? null : 'lead',
        origin: chat.origin ?? 'com.example.messenger',
        is_read: true,
        is_in_work: true,
      };
    });
  }

  /** Long poll: the talk events after `after`, at once when there are some, else when one comes (or after 20 s). */
  private async nextTalkEvents(after: number): Promise<StandInAnswer> {
    this.talkEventsHandled = Math.max(this.talkEventsHandled, after);
    if (this.options.talkEvents === false) return json(200, { events: [] });
    const ready = () => this.talkEvents.filter((event) => event.seq > after);
    if (ready().length === 0 && !this.closed) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, LONG_POLL_MS);
        timer.unref?.();
        this.waiting.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return json(200, { events: ready() });
  }

  private wakeWaiting(): void {
    const waiting = this.waiting;
    this.waiting = [];
    for (const wake of waiting) wake();
  }

  private feedView() {
    const now = this.now();
    const typing = (this.options.observe?.typing() ?? []).filter((shown) => shown.untilMs > now);
    return {
      messages: this.feed,
      typing: this.options.chats
        .filter(
          (chat) =>
            chat.clientConversationId !== undefined &&
            typing.some((shown) => shown.conversationId === chat.clientConversationId),
        )
        .map((chat) => chat.chatId),
      chatService: (this.options.observe?.chatServiceEvents() ?? []).slice(-50),
    };
  }
}

function parseAuthorizedCall(body: Buffer | undefined): AuthorizedCall | undefined {
  try {
    const call = JSON.parse(body?.toString('utf8') ?? '') as Partial<AuthorizedCall>;
    return typeof call.at === 'number' && typeof call.method === 'string' && typeof call.url === 'string'
      ? { at: call.at, method: call.method, url: call.url }
      : undefined;
  } catch {
    return undefined;
  }
}

function parseText(body: Buffer | undefined): string | undefined {
  if (!body || body.length === 0) return undefined;
  try {
    const parsed = JSON.parse(body.toString('utf8')) as { text?: unknown };
    return typeof parsed.text === 'string' && parsed.text.length > 0 ? parsed.text.slice(0, 500) : undefined;
  } catch {
    return undefined;
  }
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}
