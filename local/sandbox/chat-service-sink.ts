import type { IncomingHttpHeaders } from 'node:http';
import type { OutboundEvent, OutboundEventType } from '../../functions/core/domain/outbound-event';
import { StandardWebhookVerifier } from '../../functions/core/domain/standard-webhooks';
import { systemClock, type Clock } from '../../functions/core/ports/clock';
import * as z from '../../functions/core/zod';
import {
  SandboxServer,
  singleHeader,
  type SandboxAnswer,
  type SandboxRequest,
  type ScriptedAnswer,
} from './sandbox-server';

/**
 * A stand-in for the chat service's event endpoint (docs/contract.md, "Bridge → chat service"), for the local
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
 *
 * It also keeps the delivery status of messages, as the chat service would for the messages Kommo
 * users send, at `/messages/{msgid}/status` (`statusUrlTemplate`, the bridge's `CHAT_SERVICE_STATUS_URL`):
 * - `GET`, the bridge's status query: Standard Webhooks over the empty body, verified like an event
 *   (401 otherwise); answers 200 `{"status", "error_code"?, "error"?}` or 404 for a message it has no
 *   status for. Every verified query is recorded (`statusQueries`); `answerStatusQueriesWith` scripts them.
 * - `PUT` `{"status": "sent"|"delivered"|"read"|"error", "error_code"?, "error"?}`, signed the same way:
 *   sets a message's status, as the chat service's own backend would (`npm run send -- chat-status`).
 */

export const CHAT_SERVICE_SINK_PATH = '/events';
export const CHAT_SERVICE_SINK_MAX_BODY_BYTES = 1024 * 1024;

const eventTypes = [
  'typing.started',
  'typing.stopped',
  'presence.changed',
  'conversation.read',
  'user.presence.changed',
] as const satisfies readonly OutboundEventType[];

const eventEnvelope = z.object({
  type: z.enum(eventTypes),
  id: z.string().check(z.minLength(1)),
  timestamp: z.iso.datetime({ offset: true }),
  data: z.looseObject({ scope_id: z.string().check(z.minLength(1)), account_id: z.string().check(z.minLength(1)) }),
});

/** An event the sink accepted; `receivedAt` is the sink clock at its first delivery. */
export interface ReceivedChatEvent {
  id: string;
  type: OutboundEventType;
  data: OutboundEvent['data'];
  timestamp: string;
  receivedAt: number;
}

/** Where the sink keeps message statuses; `{msgid}` is filled in percent-encoded. */
export const CHAT_SERVICE_STATUS_PATH = '/messages/{msgid}/status';
const STATUS_PATH = /^\/messages\/([^/]+)\/status$/;

/** A message's delivery status as the chat service answers it (docs/contract.md, "Delivery status pulled from the chat service"). */
export const messageStatusSchema = z.strictObject({
  status: z.enum(['sent', 'delivered', 'read', 'error']),
  error_code: z.optional(z.number().check(z.int(), z.gte(901), z.lte(905))),
  error: z.optional(z.string().check(z.minLength(1), z.maxLength(500))),
});
export type SinkMessageStatus = z.infer<typeof messageStatusSchema>;

/** A status query the sink verified; `answered` is the HTTP status it got. */
export interface ChatStatusQuery {
  msgid: string;
  webhookId: string;
  /** Sink clock when the query arrived. */
  at: number;
  answered: number;
}

/** Returns an answer to script one status query, or `undefined` to answer from the message's status. */
export type ChatStatusQueryScript = (query: Omit<ChatStatusQuery, 'answered'>) => ScriptedChatServiceAnswer | undefined;

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

export type ScriptedChatServiceAnswer = ScriptedAnswer;

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

export class ChatServiceSink extends SandboxServer<ReceivedChatEvent> {
  /** Events accepted, each once however often it was delivered, oldest first. */
  readonly events: ReceivedChatEvent[] = [];
  /** Requests refused by a rule or answered from a script, oldest first. */
  readonly rejected: ChatServiceRefusal[] = [];
  /** How many deliveries repeated an already recorded `webhook-id`. */
  duplicates = 0;
  /** Status queries that passed the signature check, oldest first. */
  readonly statusQueries: ChatStatusQuery[] = [];
  private readonly messageStatuses = new Map<string, SinkMessageStatus>();
  private statusScript: ChatStatusQueryScript | undefined;
  private baseUrl: string | undefined;

  private readonly verifier: StandardWebhookVerifier;
  private readonly clock: Clock;
  private readonly log: (line: string) => void;

  constructor(options: ChatServiceSinkOptions) {
    const log = options.log ?? (() => {});
    super({
      name: 'chat service sink',
      maxBodyBytes: CHAT_SERVICE_SINK_MAX_BODY_BYTES,
      path: CHAT_SERVICE_SINK_PATH,
      internalErrorBody: { error: { code: 'internal', message: 'sandbox failure' } },
      log,
    });
    this.verifier = new StandardWebhookVerifier(options.secret);
    this.clock = options.clock ?? systemClock;
    this.log = log;
  }

  override async start(port?: number, host?: string): Promise<string> {
    const url = await super.start(port, host);
    this.baseUrl = url.slice(0, -CHAT_SERVICE_SINK_PATH.length);
    return url;
  }

  /** The bridge's `CHAT_SERVICE_STATUS_URL` for this sink (once started). */
  get statusUrlTemplate(): string {
    if (this.baseUrl === undefined) throw new Error('the chat service sink is not started');
    return `${this.baseUrl}${CHAT_SERVICE_STATUS_PATH}`;
  }

  /** Sets the status the sink answers for a message, as its `PUT` does. */
  setMessageStatus(msgid: string, status: SinkMessageStatus): void {
    this.messageStatuses.set(msgid, messageStatusSchema.parse(status));
  }

  /** Status queries for one message, oldest first. */
  statusQueriesFor(msgid: string): ChatStatusQuery[] {
    return this.statusQueries.filter((query) => query.msgid === msgid);
  }

  /** Scripts answers to verified status queries (`undefined` from the script, or no script: the message's status). */
  answerStatusQueriesWith(script: ChatStatusQueryScript | undefined): void {
    this.statusScript = script;
  }

  eventsOfType(type: OutboundEventType): ReceivedChatEvent[] {
    return this.events.filter((event) => event.type === type);
  }

  /** Forgets events, refusals, duplicates and every fault injected. */
  reset(): void {
    this.events.length = 0;
    this.rejected.length = 0;
    this.duplicates = 0;
    this.statusQueries.length = 0;
    this.messageStatuses.clear();
    this.statusScript = undefined;
    this.resetFaults();
  }

  protected answer(request: SandboxRequest): SandboxAnswer {
    const statusPath = STATUS_PATH.exec(request.path);
    if (statusPath) return this.answerStatusResource(request, statusPath[1]!);
    const { method: httpMethod, path, headers, body } = request;
    const webhookId = singleHeader(headers, 'webhook-id');
    const verdict =
      body === undefined
        ? refuse(413, 'too_large', `body is larger than ${CHAT_SERVICE_SINK_MAX_BODY_BYTES} bytes`)
        : this.judge(httpMethod, path, headers, body);
    if ('refused' in verdict) {
      const { refused } = verdict;
      this.rejected.push({ ...refused, httpMethod, path, webhookId, scripted: false, at: this.clock.now() });
      this.log(`chat service refuses ${httpMethod} ${path}: ${refused.status} ${refused.code} (${refused.reason})`);
      return {
        status: refused.status,
        body: { error: { code: refused.code, message: refused.reason } },
        ...(refused.status === 405 ? { headers: { allow: 'POST' } } : {}),
      };
    }
    const event = verdict.accepted;
    const scripted = this.scriptedAnswer(event);
    if (scripted) {
      const code = `scripted_${scripted.status}`;
      this.rejected.push({
        status: scripted.status,
        code,
        httpMethod,
        path,
        webhookId,
        reason: 'scripted answer',
        scripted: true,
        at: event.receivedAt,
      });
      this.log(
        `chat service answers ${event.type} ${event.id} with a scripted ${scripted.status}; nothing is recorded`,
      );
      return {
        status: scripted.status,
        body:
          scripted.body ?? (scripted.status >= 400 ? { error: { code, message: 'scripted failure' } } : { ok: true }),
        headers: scripted.headers ?? {},
      };
    }
    this.record(event);
    return { status: 200, body: { ok: true } };
  }

  /** `GET` (the bridge's query) or `PUT` (setting a status) of `/messages/{msgid}/status`. */
  private answerStatusResource(
    { method: httpMethod, path, headers, body }: SandboxRequest,
    encodedMsgid: string,
  ): SandboxAnswer {
    const webhookId = singleHeader(headers, 'webhook-id');
    const refused = (status: number, code: string, reason: string): SandboxAnswer => {
      this.rejected.push({ status, code, reason, httpMethod, path, webhookId, scripted: false, at: this.clock.now() });
      this.log(`chat service refuses ${httpMethod} ${path}: ${status} ${code} (${reason})`);
      return {
        status,
        body: { error: { code, message: reason } },
        ...(status === 405 ? { headers: { allow: 'GET, PUT' } } : {}),
      };
    };
    if (body === undefined)
      return refused(413, 'too_large', `body is larger than ${CHAT_SERVICE_SINK_MAX_BODY_BYTES} bytes`);
    if (httpMethod !== 'GET' && httpMethod !== 'PUT')
      return refused(405, 'method_not_allowed', `${path} takes GET or PUT, not ${httpMethod}`);
    let msgid: string;
    try {
      msgid = decodeURIComponent(encodedMsgid);
    } catch {
      return refused(400, 'invalid_msgid', 'the msgid in the path is not valid percent-encoding');
    }
    const verdict = this.verifier.verify(
      {
        'webhook-id': webhookId,
        'webhook-timestamp': singleHeader(headers, 'webhook-timestamp'),
        'webhook-signature': singleHeader(headers, 'webhook-signature'),
      },
      body,
      this.clock.now(),
    );
    if (!verdict.ok) return refused(401, verdict.code, verdict.message);
    if (httpMethod === 'PUT') return this.putMessageStatus(msgid, body, refused);

    const at = this.clock.now();
    if (body.length > 0) return refused(400, 'unexpected_body', 'a status query (GET) must have no body');
    const scripted = this.statusScript?.({ msgid, webhookId: verdict.webhookId, at });
    if (scripted) {
      this.statusQueries.push({ msgid, webhookId: verdict.webhookId, at, answered: scripted.status });
      this.log(`chat service answers the status query of ${msgid} with a scripted ${scripted.status}`);
      return {
        status: scripted.status,
        body: scripted.body,
        headers: scripted.headers ?? {},
        ...(scripted.rawBody !== undefined ? { rawBody: scripted.rawBody } : {}),
      };
    }
    const status = this.messageStatuses.get(msgid);
    this.statusQueries.push({ msgid, webhookId: verdict.webhookId, at, answered: status ? 200 : 404 });
    this.log(`chat service ← status query of ${msgid}: ${status ? status.status : 'not known'}`);
    if (!status)
      return {
        status: 404,
        body: { error: { code: 'unknown_message', message: `no status is known for message ${msgid}` } },
      };
    return { status: 200, body: status };
  }

  private putMessageStatus(
    msgid: string,
    body: Buffer,
    refused: (status: number, code: string, reason: string) => SandboxAnswer,
  ): SandboxAnswer {
    let json: unknown;
    try {
      json = JSON.parse(body.toString('utf8'));
    } catch {
      return refused(400, 'invalid_json', 'body is not valid JSON');
    }
    const parsed = messageStatusSchema.safeParse(json);
    if (!parsed.success) return refused(400, 'invalid_status', describeIssues(parsed.error));
    this.messageStatuses.set(msgid, parsed.data);
    this.log(`chat service: message ${msgid} is now ${parsed.data.status}`);
    return { status: 200, body: { ok: true, msgid, ...parsed.data } };
  }

  private judge(httpMethod: string, path: string, headers: IncomingHttpHeaders, body: Buffer): Verdict {
    if (path !== CHAT_SERVICE_SINK_PATH)
      return refuse(404, 'not_found', `events are received at ${CHAT_SERVICE_SINK_PATH}, not ${path}`);
    if (httpMethod !== 'POST')
      return refuse(405, 'method_not_allowed', `${CHAT_SERVICE_SINK_PATH} takes POST, not ${httpMethod}`);
    const mediaType = singleHeader(headers, 'content-type')?.split(';')[0]?.trim().toLowerCase();
    if (mediaType !== 'application/json')
      return refuse(415, 'unsupported_media_type', `Content-Type must be application/json, got ${mediaType ?? 'none'}`);

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
      return refuse(
        400,
        'webhook_id_mismatch',
        `webhook-id "${verdict.webhookId}" differs from the event id "${event.id}"`,
      );
    }
    if (event.type === 'typing.started' && !isIsoTimestamp(event.data.expires_at)) {
      return refuse(400, 'invalid_event', 'data.expires_at: typing.started must carry an ISO-8601 expires_at');
    }
    return {
      accepted: {
        id: event.id,
        type: event.type,
        data: event.data,
        timestamp: event.timestamp,
        receivedAt: this.clock.now(),
      },
    };
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
  // The widget's events name the user by the numeric CRM id alone when the widget did not send the amojo id.
  const user =
    typeof data.user_id !== 'string' && typeof data.kommo_user_id === 'number'
      ? `Kommo user #${data.kommo_user_id}`
      : `Kommo user ${shortId(data.user_id)}`;
  const conversation =
    typeof data.conversation_id === 'string'
      ? `conversation ${data.conversation_id}`
      : `Kommo chat ${shortId(data.kommo_conversation_id)} (no chat service conversation id)`;
  switch (event.type) {
    case 'typing.started':
      return `${user} types in ${conversation} until ${clockTime(data.expires_at)}`;
    case 'typing.stopped':
      return `${user} stopped typing in ${conversation}`;
    case 'user.presence.changed':
      return `${user} is now ${data.state === 'online' ? 'online' : 'offline'} in Kommo`;
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

function describeIssues(error: z.core.$ZodError): string {
  return error.issues
    .map((issue) => `${issue.path.length > 0 ? issue.path.join('.') : 'body'}: ${issue.message}`)
    .join('; ');
}
