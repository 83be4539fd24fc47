import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

/** Replaces a sandbox's normal handling of one valid call. */
export interface ScriptedAnswer {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
  /** Sent as is instead of `body` (e.g. text that is not JSON, as a broken server might send). */
  rawBody?: string;
}

export interface SandboxRequest {
  method: string;
  /** Path without the query string. */
  path: string;
  /** The query string's parameters (empty when there is none). */
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  /** The body, or `undefined` when it was over the sandbox's limit. */
  body: Buffer | undefined;
}

export interface SandboxAnswer {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
  /** Sent as is instead of `body`. */
  rawBody?: string;
}

export interface SandboxServerOptions {
  /** For log lines, e.g. `Kommo sandbox`. */
  name: string;
  maxBodyBytes: number;
  /** Appended to the base URL `start` returns, e.g. `/events`. */
  path?: string;
  /** The error body a sandbox answers when it fails itself. */
  internalErrorBody: unknown;
  log: (line: string) => void;
}

/**
 * The HTTP side the Kommo sandbox and the chat-service sink share: listening on loopback, reading
 * bodies with a limit, and the faults tests inject (scripted answers, failures, latency, being down).
 * Each sandbox decides what a request means in `answer`.
 */
export abstract class SandboxServer<Call> {
  private script: ((call: Call) => ScriptedAnswer | undefined) | undefined;
  private readonly pendingFailures: number[] = [];
  private latencyMs = 0;
  private held: { answers: Promise<void>; release: () => void } | undefined;
  private down = false;
  private server: Server | undefined;
  private closing = new AbortController();

  protected constructor(private readonly settings: SandboxServerOptions) {}

  /** Listens and returns the URL to configure, e.g. `http://127.0.0.1:43121` (plus the sandbox's path). */
  async start(port = 0, host = '127.0.0.1'): Promise<string> {
    if (this.server) throw new Error(`${this.settings.name} is already started`);
    const server = createServer((request, response) => void this.onRequest(request, response));
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
    return `http://${host.includes(':') ? `[${host}]` : host}:${boundPort}${this.settings.path ?? ''}`;
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
   * Scripts answers for calls that passed every check; `undefined` from the script (or no script)
   * means normal handling. Scripted calls are not applied or recorded as accepted.
   */
  respondWith(script: ((call: Call) => ScriptedAnswer | undefined) | undefined): void {
    this.script = script;
  }

  /** The next `count` valid calls are answered `status` and not applied. Runs before `respondWith`. */
  failNext(count: number, status = 503): void {
    for (let i = 0; i < count; i += 1) this.pendingFailures.push(status);
  }

  /** Every answer waits this long (real time). The call is applied before the wait, as on a slow real server. */
  setLatency(ms: number): void {
    this.latencyMs = ms;
  }

  /**
   * Holds every answer (the call is applied first, as with latency) until the returned function is
   * called: a call stays in flight exactly as long as a test needs, however fast or slow the machine.
   */
  holdAnswers(): () => void {
    let release!: () => void;
    const answers = new Promise<void>((resolve) => (release = resolve));
    const held = { answers, release };
    this.held = held;
    return () => {
      if (this.held === held) this.held = undefined;
      release();
    };
  }

  /** While down, every request's socket is destroyed without an answer: clients see a network error. */
  setDown(down: boolean): void {
    this.down = down;
  }

  /** Forgets every fault injected. */
  protected resetFaults(): void {
    this.pendingFailures.length = 0;
    this.script = undefined;
    this.latencyMs = 0;
    this.held?.release();
    this.held = undefined;
    this.down = false;
  }

  /** The scripted answer for a valid call, if a fault was injected for it. */
  protected scriptedAnswer(call: Call): ScriptedAnswer | undefined {
    const failure = this.pendingFailures.shift();
    if (failure !== undefined) return { status: failure };
    return this.script?.(call);
  }

  /** What the party this sandbox stands in for answers to a request. */
  protected abstract answer(request: SandboxRequest): SandboxAnswer;

  private async onRequest(request: IncomingMessage, response: ServerResponse): Promise<void> {
    try {
      if (this.down) {
        request.socket.destroy();
        return;
      }
      const body = await readBody(request, this.settings.maxBodyBytes);
      const answer = this.answer({
        method: request.method ?? 'GET',
        path: (request.url ?? '/').split('?')[0] ?? '/',
        query: new URLSearchParams(
          (request.url ?? '').includes('?') ? (request.url ?? '').slice((request.url ?? '').indexOf('?') + 1) : '',
        ),
        headers: request.headers,
        body,
      });
      if (this.latencyMs > 0) await sleep(this.latencyMs, undefined, { signal: this.closing.signal });
      if (this.held) await untilReleased(this.held.answers, this.closing.signal);
      if (answer.rawBody !== undefined) writeRaw(response, answer.status, answer.rawBody, answer.headers ?? {});
      else writeJson(response, answer.status, answer.body, answer.headers ?? {});
    } catch (error) {
      if (this.closing.signal.aborted) return;
      this.settings.log(
        `${this.settings.name} failed on ${request.method} ${request.url}: ${error instanceof Error ? error.message : String(error)}`,
      );
      if (response.headersSent) response.destroy();
      else writeJson(response, 500, this.settings.internalErrorBody, {});
    }
  }
}

/** Waits for `answers` to be released, or rejects when the sandbox closes first. */
function untilReleased(answers: Promise<void>, closing: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (closing.aborted) return reject(closing.reason);
    const onClose = () => reject(closing.reason);
    closing.addEventListener('abort', onClose, { once: true });
    void answers.then(() => {
      closing.removeEventListener('abort', onClose);
      resolve();
    });
  });
}

export function singleHeader(headers: IncomingHttpHeaders, name: string): string | undefined {
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
  if (body === undefined) {
    // No body at all, e.g. Kommo's 204 to a typing call.
    response.writeHead(status, headers).end();
    return;
  }
  const text = JSON.stringify(body);
  response
    .writeHead(status, {
      'content-type': 'application/json',
      'content-length': String(Buffer.byteLength(text)),
      ...headers,
    })
    .end(text);
}

function writeRaw(response: ServerResponse, status: number, text: string, headers: Record<string, string>): void {
  response
    .writeHead(status, {
      'content-type': 'application/json',
      'content-length': String(Buffer.byteLength(text)),
      ...headers,
    })
    .end(text);
}
