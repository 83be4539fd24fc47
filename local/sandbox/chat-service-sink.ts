import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import type { OutboundEvent, OutboundEventType } from '../../functions/core/domain/outbound-event';
import { StandardWebhookVerifier } from '../../functions/core/domain/standard-webhooks';
import { systemClock, type Clock } from '../../functions/core/ports/clock';

/**
 * A stand-in for the chat service's event endpoint (CONTRACT.md, "Bridge → chat service"), for the local
 * runtime and end-to-end tests. It refuses what a careful receiver refuses:
 * - only `POST /events` exists (the URL `start` returns); other paths are 404, other methods 405;
 * - bodies over 1 MiB are 413, a media type other than JSON is 415;
 * - Standard Webhooks headers are verified with the sandbox clock: missing, wrong or more than 5 min
 *   away is 401, and nothing is recorded;
 * - the body must be an event envelope of a contract type whose `id` equals `webhook-id` (400 otherwise);
 *   `typing.started` must carry `expires_at`. Other `data` fields are recorded as sent.
 * Then scripted answers apply (`failNext`, `respondWith`); a redelivered `webhook-id` is answered 200
 * again but recorded once, because delivery is at least once and receivers de-duplicate on it.
 * Error bodies follow the contract: `{"error": {"code", "message"}}`.
 */

export const CHAT_SERVICE_SINK_PATH = '/events';
export const CHAT_SERVICE_SINK_MAX_BODY_BYTES = 1024 * 1024;

const eventTypes = ['typing.started', 'typing.stopped', 'presence.changed', 'conversation.read'] as const satisfies readonly OutboundEventType[];

const eventEnvelope = z.object({
  type: z.enum(eventTypes),
  id: z.string().min(1),
  timestamp: z.iso.datetime({ offset: true }),
  data: z.looseObject({ scope_id: z.string().min(1), account_id: z.string().min(1) }),
});

/** An event the sink accepted; `receivedAt` is the sink clock at its first delivery. */
export interface ReceivedChatEvent {
  id: string;
  type: OutboundEventType;
  data: OutboundEvent['data'];
  timestamp: string;
  receivedAt: number;
}

/** A request the sink refused, or answered from a script (`scripted: true`). */
export interface ChatServiceRefusal {
  status: number;
  code: string;
  httpMethod: string;
  path: string;
  webhookId: string | undefined;
  reason: string;
  scripted: boolean;
  at: number;
}

/** Replaces normal handling: `body` defaults to a contract error body for `status`. */
export interface ScriptedChatServiceAnswer {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

/** Returns an answer to script one delivery, or `undefined` to let the sink handle it normally. */
export type ChatServiceScript = (event: ReceivedChatEvent) => ScriptedChatServiceAnswer | undefined;

export interface ChatServiceSinkOptions {
  /** `whsec_…` Standard Webhooks secret, the bridge's `CHAT_SERVICE_SECRET`. */
  secret: string;
  clock?: Clock;
  /** Receives one line per event, duplicate or refusal; silent by default. */
  log?: (line: string) => void;
}

interface Refusal {
  status: number;
  code: string;
  reason: string;
}

type Verdict = { accepted: ReceivedChatEvent } | { refused: Refusal };

const refuse = (status: number, code: string, reason: string): Verdict => ({ refused: { status, code, reason } });

export class ChatServiceSink {
  /** Events accepted, each once however often it was delivered, oldest first. */
  readonly events: ReceivedChatEvent[] = [];
  /** Requests refused by a rule or answered from a script, oldest first. */
  readonly rejected: ChatServiceRefusal[] = [];
  /** How many deliveries repeated an already recorded `webhook-id`. */
  duplicates = 0;

  private readonly verifier: StandardWebhookVerifier;
  private readonly clock: Clock;
  private readonly log: (line: string) => void;
  private script: ChatServiceScript | undefined;
  private readonly pendingFailures: number[] = [];
  private latencyMs = 0;
  private down = false;
  private server: Server | undefined;
  private closing = new AbortController();

  constructor(options: ChatServiceSinkOptions) {
    this.verifier = new StandardWebhookVerifier(options.secret);
    this.clock = options.clock ?? systemClock;
    this.log = options.log ?? (() => {});
  }

  /** Listens and returns the URL to use as `CHAT_SERVICE_URL`, e.g. `http://127.0.0.1:43122/events`. */
  async start(port = 0, host = '127.0.0.1'): Promise<string> {
    if (this.server) throw new Error('ChatServiceSink is already started');
    const server = createServer((request, response) => void this.answer(request, response));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.server = server;
    this.closing = new AbortController();
    const { port: boundPort } = server.address() as AddressInfo;
    return `http://${host.includes(':') ? `[${host}]` : host}:${boundPort}${CHAT_SERVICE_SINK_PATH}`;
  }

  /** Stops listening and drops every open socket (keep-alive ones too), and any answer still delayed. */
  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    this.closing.abort();
    await new Promise<void>((resolve, reject) => {
      server.close((error) => (error ? reject(error) : resolve()));
      server.closeAllConnections();
    });
  }

  /**
   * Scripts answers for deliveries that passed the signature and body checks, duplicates included;
   * `undefined` from the script (or no script) means normal handling. Scripted deliveries are not
   * recorded in `events` (a later redelivery of the same id will be): they land in `rejected`.
   */
  respondWith(script: ChatServiceScript | undefined): void {
    this.script = script;
  }

  /** The next `count` valid deliveries are answered `status` and not recorded. Runs before `respondWith`. */
  failNext(count: number, status = 503): void {
    for (let i = 0; i < count; i += 1) this.pendingFailures.push(status);
  }

  /** Every answer waits this long (real time). The event is recorded before the wait, as on a slow real server. */
  setLatency(ms: number): void {
    this.latencyMs = ms;
  }

  /** While down, every request's socket is destroyed without an answer: clients see a network error. */
  setDown(down: boolean): void {
    this.down = down;
  }

  eventsOfType(type: OutboundEventType): ReceivedChatEvent[] {
    return this.events.filter((event) => event.type === type);
  }

  /** Forgets events, refusals, duplicates and every fault injected. */
  reset(): void {
    this.events.length = 0;
    this.rejected.length = 0;
    this.duplicates = 0;
    this.pendingFailures.length = 0;
    this.script = undefined;
    this.latencyMs = 0;
    this.down = false;
  }

  private async answer(request: IncomingMessage, response: ServerResponse): Promise<void> {
    try {
      if (this.down) {
        request.socket.destroy();
        return;
      }
      const path = (request.url ?? '/').split('?')[0] ?? '/';
      const httpMethod = request.method ?? 'GET';
      const webhookId = singleHeader(request.headers, 'webhook-id');
      const body = await readBody(request, CHAT_SERVICE_SINK_MAX_BODY_BYTES);
      const verdict =
        body === undefined
          ? refuse(413, 'too_large', `body is larger than ${CHAT_SERVICE_SINK_MAX_BODY_BYTES} bytes`)
          : this.judge(httpMethod, path, request.headers, body);

      let status: number;
      let answerBody: unknown;
      let headers: Record<string, string> = {};
      if ('refused' in verdict) {
        const { refused } = verdict;
        this.rejected.push({ ...refused, httpMethod, path, webhookId, scripted: false, at: this.clock.now() });
        this.log(`chat service refuses ${httpMethod} ${path}: ${refused.status} ${refused.code} (${refused.reason})`);
        status = refused.status;
        answerBody = { error: { code: refused.code, message: refused.reason } };
        if (refused.status === 405) headers = { allow: 'POST' };
      } else {
        const event = verdict.accepted;
        const scripted = this.scriptedAnswer(event);
        if (scripted) {
          const code = `scripted_${scripted.status}`;
          this.rejected.push({ status: scripted.status, code, httpMethod, path, webhookId, reason: 'scripted answer', scripted: true, at: event.receivedAt });
          this.log(`chat service answers ${event.type} ${event.id} with a scripted ${scripted.status}; nothing is recorded`);
          status = scripted.status;
          answerBody = scripted.body ?? (scripted.status >= 400 ? { error: { code, message: 'scripted failure' } } : { ok: true });
          headers = scripted.headers ?? {};
        } else {
          this.record(event);
          status = 200;
          answerBody = { ok: true };
        }
      }

      if (this.latencyMs > 0) await sleep(this.latencyMs, undefined, { signal: this.closing.signal });
      writeJson(response, status, answerBody, headers);
    } catch (error) {
      if (this.closing.signal.aborted) return;
      this.log(`chat service sink failed on ${request.method} ${request.url}: ${error instanceof Error ? error.message : String(error)}`);
      if (response.headersSent) response.destroy();
      else writeJson(response, 500, { error: { code: 'internal', message: 'sandbox failure' } }, {});
    }
  }

  private judge(httpMethod: string, path: string, headers: IncomingHttpHeaders, body: Buffer): Verdict {
    if (path !== CHAT_SERVICE_SINK_PATH) return refuse(404, 'not_found', `events are received at ${CHAT_SERVICE_SINK_PATH}, not ${path}`);
    if (httpMethod !== 'POST') return refuse(405, 'method_not_allowed', `${CHAT_SERVICE_SINK_PATH} takes POST, not ${httpMethod}`);
    const mediaType = singleHeader(headers, 'content-type')?.split(';')[0]?.trim().toLowerCase();
    if (mediaType !== 'application/json') return refuse(415, 'unsupported_media_type', `Content-Type must be application/json, got ${mediaType ?? 'none'}`);

    const verdict = this.verifier.verify(
      {
        'webhook-id': singleHeader(headers, 'webhook-id'),
        'webhook-timestamp': singleHeader(headers, 'webhook-timestamp'),
        'webhook-signature': singleHeader(headers, 'webhook-signature'),
      },
      body,
      this.clock.now(),
    );
    if (!verdict.ok) return refuse(401, verdict.code, verdict.message);

    let json: unknown;
    try {
      json = JSON.parse(body.toString('utf8'));
    } catch {
      return refuse(400, 'invalid_json', 'body is not valid JSON');
    }
    const parsed = eventEnvelope.safeParse(json);
    if (!parsed.success) return refuse(400, 'invalid_event', describeIssues(parsed.error));
    const event = parsed.data;
    if (event.id !== verdict.webhookId) {
      return refuse(400, 'webhook_id_mismatch', `webhook-id "${verdict.webhookId}" differs from the event id "${event.id}"`);
    }
    if (event.type === 'typing.started' && !isIsoTimestamp(event.data.expires_at)) {
      return refuse(400, 'invalid_event', 'data.expires_at: typing.started must carry an ISO-8601 expires_at');
    }
    return { accepted: { id: event.id, type: event.type, data: event.data, timestamp: event.timestamp, receivedAt: this.clock.now() } };
  }

  private scriptedAnswer(event: ReceivedChatEvent): ScriptedChatServiceAnswer | undefined {
    const failure = this.pendingFailures.shift();
    if (failure !== undefined) return { status: failure };
    return this.script?.(event);
  }

  private record(event: ReceivedChatEvent): void {
    if (this.events.some((known) => known.id === event.id)) {
      this.duplicates += 1;
      this.log(`chat service ← ${event.type} ${event.id} again: duplicate, ignored`);
      return;
    }
    this.events.push(event);
    this.log(`chat service ← ${event.type}: ${describeEvent(event)}`);
  }
}

/** What a chat-service user would see, e.g. `Kommo user fb0f… types in conversation c7 until 10:00:05Z`. */
function describeEvent(event: ReceivedChatEvent): string {
  const { data } = event;
  const user = `Kommo user ${shortId(data.user_id)}`;
  const conversation =
    typeof data.conversation_id === 'string'
      ? `conversation ${data.conversation_id}`
      : `Kommo chat ${shortId(data.kommo_conversation_id)} (no chat service conversation id)`;
  switch (event.type) {
    case 'typing.started':
      return `${user} types in ${conversation} until ${clockTime(data.expires_at)}`;
    case 'typing.stopped':
      return `${user} stopped typing in ${conversation}`;
    case 'presence.changed': {
      const online = data.online === true || data.state === 'online';
      return `${user} is now ${online ? 'online' : 'offline'} in ${conversation}`;
    }
    case 'conversation.read':
      return `${user} read ${conversation} up to ${clockTime(data.read_at)}`;
  }
}

function shortId(value: unknown): string {
  if (typeof value !== 'string') return '(unknown)';
  return value.length > 8 ? `${value.slice(0, 4)}…` : value;
}

/** `2026-11-21T10:00:05.000Z` → `10:00:05Z`: the day is rarely in doubt in a live log. */
function clockTime(value: unknown): string {
  return isIsoTimestamp(value) ? `${new Date(value).toISOString().slice(11, 19)}Z` : String(value);
}

function isIsoTimestamp(value: unknown): value is string {
  return typeof value === 'string' && z.iso.datetime({ offset: true }).safeParse(value).success;
}

function describeIssues(error: z.ZodError): string {
  return error.issues.map((issue) => `${issue.path.length > 0 ? issue.path.join('.') : 'body'}: ${issue.message}`).join('; ');
}

function singleHeader(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** The whole body, or `undefined` when it is over `limit`; an oversized body is still drained so the socket stays usable. */
function readBody(request: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) chunks.push(chunk);
    });
    request.on('end', () => resolve(size > limit ? undefined : Buffer.concat(chunks)));
    request.on('error', reject);
  });
}

function writeJson(response: ServerResponse, status: number, body: unknown, headers: Record<string, string>): void {
  const text = JSON.stringify(body);
  response.writeHead(status, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)), ...headers }).end(text);
}
