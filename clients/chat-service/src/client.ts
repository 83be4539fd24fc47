import { randomUUID } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { signedHeaders, verifySignature } from './signing.js';
import type {
  BridgeErrorBody,
  BridgeEvent,
  ConversationRegistration,
  Ok,
  Presence,
  PresenceRequest,
  StatusAccepted,
  StatusRecord,
  StatusReport,
  TypingRequest,
} from './types.js';

export interface RetryOptions {
  /** Attempts in all, the first included (default 4). */
  attempts?: number;
  /** The first backoff's ceiling (default 250 ms); it doubles per retry, up to `maxDelayMs` (default 5 s). */
  baseDelayMs?: number;
  maxDelayMs?: number;
}

export interface ChatServiceClientOptions {
  /** The bridge's API address, e.g. `https://abc.execute-api.eu-west-1.amazonaws.com` or `http://127.0.0.1:3000`. */
  baseUrl: string;
  /** `<channel id>_<amojo account id>`: the Kommo account the requests speak for. */
  scopeId: string;
  /** CHAT_SERVICE_SECRET, `whsec_…` (base64). Requests are signed with it and events verified with it. */
  secret: string;
  retry?: RetryOptions;
  /** Per attempt (default 10 s). */
  timeoutMs?: number;
  /** Injection points for tests; the defaults are the platform's. */
  fetch?: typeof fetch;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  newWebhookId?: () => string;
}

/** The bridge refused the request (4xx), or kept failing (5xx/429) until the retries ran out. */
export class BridgeRequestError extends Error {
  override readonly name = 'BridgeRequestError';
  constructor(
    readonly status: number,
    /** The bridge's error code (`invalid_field`, `unknown_message` …), or `http_<status>`. */
    readonly code: string,
    message: string,
    /** The `webhook-id` every attempt carried: sending it again later is still safe. */
    readonly webhookId: string,
    readonly attempts: number,
  ) {
    super(message);
  }
}

/** The request never got an answer (network failure or timeout) on any attempt. */
export class BridgeUnreachableError extends Error {
  override readonly name = 'BridgeUnreachableError';
  constructor(
    message: string,
    readonly webhookId: string,
    readonly attempts: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export interface Answer<T> {
  status: number;
  body: T;
  /** True when the bridge answered a repeat with the first answer (`webhook-replayed: true`). */
  replayed: boolean;
  webhookId: string;
  attempts: number;
}

const retryable = (status: number) => status === 429 || status >= 500;

/** Bridge answers are JSON; a proxy in between may answer anything else. */
function parseJson(text: string): unknown {
  try {
    return text ? JSON.parse(text) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A chat service's calls to the bridge: each is signed with Standard Webhooks, and retried with
 * backoff and full jitter on network errors, timeouts, 429 and 5xx. Every attempt of a call carries
 * the same `webhook-id` (re-signed with a fresh timestamp), so a retry of a call the bridge already
 * applied gets the first answer back and is never a second effect.
 */
export class ChatServiceClient {
  private readonly webhook: Webhook;
  private readonly options: Required<Omit<ChatServiceClientOptions, 'retry'>> & { retry: Required<RetryOptions> };

  constructor(options: ChatServiceClientOptions) {
    if (!/^https?:\/\//.test(options.baseUrl)) throw new TypeError('baseUrl must be an http(s) URL');
    if (!options.scopeId) throw new TypeError('scopeId is required');
    this.webhook = new Webhook(options.secret);
    this.options = {
      fetch: globalThis.fetch.bind(globalThis),
      now: Date.now,
      sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
      random: Math.random,
      newWebhookId: () => `msg_${randomUUID()}`,
      timeoutMs: 10_000,
      ...options,
      baseUrl: options.baseUrl.replace(/\/+$/, ''),
      retry: { attempts: 4, baseDelayMs: 250, maxDelayMs: 5_000, ...options.retry },
    };
  }

  /** A client types (`start`, again on each keystroke if you like) or stops; Kommo shows "typing…". */
  typing(request: TypingRequest): Promise<Answer<Ok>> {
    return this.request('POST', '/typing', request);
  }

  /** A heartbeat (`online`, every `ttl_seconds / 3`) or `offline` when the client leaves the chat. */
  presence(request: PresenceRequest): Promise<Answer<Ok>> {
    return this.request('POST', '/presence', request);
  }

  getPresence(clientId: string): Promise<Answer<Presence>> {
    return this.request('GET', `/presence/${encodeURIComponent(clientId)}`);
  }

  /** The delivery status of a Kommo user's message (`msgid` from the outgoing-message hook). */
  reportStatus(msgid: string, report: StatusReport): Promise<Answer<StatusAccepted>> {
    return this.request('POST', `/messages/${encodeURIComponent(msgid)}/status`, report);
  }

  getStatus(msgid: string): Promise<Answer<StatusRecord>> {
    return this.request('GET', `/messages/${encodeURIComponent(msgid)}/status`);
  }

  /** Tells the bridge which Kommo chat (and client) one of your conversations is; idempotent. */
  registerConversation(conversationId: string, registration: ConversationRegistration): Promise<Answer<Ok>> {
    return this.request('PUT', `/conversations/${encodeURIComponent(conversationId)}`, registration);
  }

  /**
   * An event the bridge POSTed to your CHAT_SERVICE_URL: checks the signature (and the 5-minute
   * window) over the raw body exactly as received, then returns the typed event. Throws
   * `SignatureError` when it is not the bridge's; answer 401 then. De-duplicate on `event.id`.
   */
  verifyEvent(
    headers: Record<string, string | string[] | undefined> | Headers,
    rawBody: string | Uint8Array,
  ): BridgeEvent {
    const body = typeof rawBody === 'string' ? rawBody : Buffer.from(rawBody).toString('utf8');
    verifySignature(this.webhook, headers, body, this.options.now());
    return JSON.parse(body) as BridgeEvent;
  }

  /**
   * Checks the bridge's status query (GET on your CHAT_SERVICE_STATUS_URL, signed over the empty body)
   * and builds your answer to it: 200 with the status you know, or 404 while you know nothing yet.
   */
  answerStatusQuery(
    headers: Record<string, string | string[] | undefined> | Headers,
    known: StatusReport | { status: 'sent' } | undefined,
  ): { status: 200 | 404; headers: Record<string, string>; body: string } {
    verifySignature(this.webhook, headers, '', this.options.now());
    const json = { 'content-type': 'application/json' };
    if (known === undefined)
      return { status: 404, headers: json, body: JSON.stringify({ error: { code: 'unknown_message' } }) };
    return { status: 200, headers: json, body: JSON.stringify(known) };
  }

  private async request<T>(method: 'GET' | 'POST' | 'PUT', path: string, body?: unknown): Promise<Answer<T>> {
    const { retry } = this.options;
    const raw = body === undefined ? '' : JSON.stringify(body);
    const url = `${this.options.baseUrl}/chat/${encodeURIComponent(this.options.scopeId)}${path}`;
    const webhookId = this.options.newWebhookId();
    let lastFailure: unknown;
    for (let attempt = 1; attempt <= retry.attempts; attempt += 1) {
      if (attempt > 1) {
        const ceiling = Math.min(retry.maxDelayMs, retry.baseDelayMs * 2 ** (attempt - 2));
        await this.options.sleep(Math.floor(this.options.random() * ceiling));
      }
      let response: Response;
      try {
        response = await this.options.fetch(url, {
          method,
          headers: {
            ...(raw ? { 'content-type': 'application/json' } : {}),
            ...signedHeaders(this.webhook, webhookId, this.options.now(), raw),
          },
          ...(method === 'GET' ? {} : { body: raw }),
          signal: AbortSignal.timeout(this.options.timeoutMs),
        });
      } catch (error) {
        lastFailure = error;
        continue;
      }
      const text = await response.text();
      if (retryable(response.status) && attempt < retry.attempts) {
        lastFailure = new Error(`${response.status} ${text.slice(0, 200)}`);
        continue;
      }
      const parsed = parseJson(text);
      if (!response.ok) {
        const error = (parsed as Partial<BridgeErrorBody> | undefined)?.error;
        throw new BridgeRequestError(
          response.status,
          error?.code ?? `http_${response.status}`,
          error?.message ?? `${method} ${path} answered ${response.status}`,
          webhookId,
          attempt,
        );
      }
      return {
        status: response.status,
        body: parsed as T,
        replayed: response.headers.get('webhook-replayed') === 'true',
        webhookId,
        attempts: attempt,
      };
    }
    throw new BridgeUnreachableError(
      `${method} ${path}: no answer after ${retry.attempts} attempts`,
      webhookId,
      retry.attempts,
      { cause: lastFailure },
    );
  }
}
