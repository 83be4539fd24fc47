import { execFileSync } from 'node:child_process';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { serveBridge, type RunningHttpServer } from '../../../local/http-server';
import { givenBridge, messageHook, typingHook, type TestBridge } from '../../../test/support/test-bridge';

/**
 * The client as a chat service uses it: built to JavaScript with tsc (what `npm publish` ships),
 * imported from dist/, and pointed at the local runtime (the real handlers on DynamoDB Local, over
 * HTTP) on the bridge's manual clock. Events and status queries reach a small chat service of the
 * test's own that checks them with the client.
 */
type Client = typeof import('../src/index');
const packageDir = fileURLToPath(new URL('..', import.meta.url));

let client: Client;
beforeAll(async () => {
  execFileSync(process.execPath, [fileURLToPath(import.meta.resolve('typescript/bin/tsc')), '-p', packageDir], {
    stdio: 'inherit',
  });
  client = (await import(pathToFileURL(`${packageDir}dist/index.js`).href)) as Client;
});

interface Received {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/** A chat service's endpoint: records what arrives and answers what `respond` says. */
async function listen(
  respond: (request: Received) => { status: number; headers?: Record<string, string>; body?: string },
) {
  const received: Received[] = [];
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const entry = {
        method: request.method ?? 'GET',
        path: request.url ?? '/',
        headers: request.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      };
      received.push(entry);
      const answer = respond(entry);
      response.writeHead(answer.status, answer.headers ?? {}).end(answer.body ?? '');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

let bridge: TestBridge;
let http: RunningHttpServer;
let chatService: Awaited<ReturnType<typeof listen>>;
/** What the test's chat service answers to a status query, by msgid. */
const knownStatuses = new Map<string, { status: 'sent' | 'delivered' | 'read' }>();
let sdk: InstanceType<Client['ChatServiceClient']>;

const newClient = (baseUrl: string, options: Partial<ConstructorParameters<Client['ChatServiceClient']>[0]> = {}) =>
  new client.ChatServiceClient({
    baseUrl,
    scopeId: bridge.scopeId,
    secret: bridge.secrets.chatServiceSecret,
    now: () => bridge.clock.now(),
    sleep: async () => {},
    ...options,
  });

beforeEach(async () => {
  chatService = await listen((request) => {
    try {
      if (request.method === 'GET') {
        const msgid = decodeURIComponent(request.path.split('/')[2] ?? '');
        return sdk.answerStatusQuery(request.headers, knownStatuses.get(msgid));
      }
      sdk.verifyEvent(request.headers, request.body);
      return { status: 204 };
    } catch (error) {
      return { status: 401, body: String(error) };
    }
  });
  bridge = await givenBridge({
    CHAT_SERVICE_URL: `${chatService.url}/events`,
    CHAT_SERVICE_STATUS_URL: `${chatService.url}/messages/{msgid}/status`,
  });
  http = await serveBridge(bridge.bridge, { port: 0 });
  sdk = newClient(http.url);
  knownStatuses.clear();
});

afterEach(async () => {
  await http.close();
  await bridge.close();
  await chatService.close();
});

describe('the chat-service client against the local runtime', () => {
  it('is a publishable package: its own name, exports, types and files', async () => {
    // Act
    const manifest = JSON.parse((await import('node:fs')).readFileSync(`${packageDir}package.json`, 'utf8')) as Record<
      string,
      any
    >;

    // Assess
    expect(manifest.name).toBe('@kommo-live-bridge/chat-service-client');
    expect(manifest.exports['.']).toEqual({ types: './dist/index.d.ts', default: './dist/index.js' });
    expect(manifest.files).toEqual(['dist', 'README.md']);
    expect(manifest.dependencies.standardwebhooks).toBeDefined();
    expect(typeof client.ChatServiceClient).toBe('function');
  });

  it('registers a conversation, types and goes online: Kommo sees the typing, the bridge the presence', async () => {
    // Act
    const registered = await sdk.registerConversation('c-1', {
      kommo_conversation_id: 'kommo-chat-1',
      client_id: 'u-7',
    });
    const typing = await sdk.typing({ conversation_id: 'c-1', sender_id: 'u-7', state: 'start' });
    const online = await sdk.presence({ client_id: 'u-7', state: 'online', ttl_seconds: 60 });
    const presence = await sdk.getPresence('u-7');

    // Assess
    expect([registered.status, typing.status, online.status]).toEqual([200, 202, 202]);
    expect(bridge.kommo.typingCalls()).toHaveLength(1);
    expect(presence.body).toMatchObject({ client_id: 'u-7', online: true });
  });

  it('pushes a delivery status and reads it back; Kommo gets it once', async () => {
    // Act
    const pushed = await sdk.reportStatus('msg-1', { status: 'delivered' });
    await bridge.advance(0);
    const record = await sdk.getStatus('msg-1');

    // Assess
    expect(pushed.body).toEqual({ ok: true, applied: true, status: 'delivered' });
    expect(record.body).toMatchObject({ msgid: 'msg-1', status: 'delivered', kommo: { delivered: true } });
    expect(bridge.kommo.deliveryStatusCalls()).toHaveLength(1);
  });

  it('refuses bad input with the bridge error, without retrying it', async () => {
    // Prepare
    let attempts = 0;
    const counting = newClient(http.url, {
      fetch: (input, init) => {
        attempts += 1;
        return fetch(input, init);
      },
    });

    // Act
    const failure = await counting.presence({ client_id: 'u-7', state: 'online', ttl_seconds: 5 }).catch((e) => e);

    // Assess
    expect(failure).toBeInstanceOf(client.BridgeRequestError);
    expect(failure).toMatchObject({ status: 400, code: 'invalid_field', attempts: 1 });
    expect(failure.message).toContain('ttl_seconds must be 10-3600');
    expect(attempts).toBe(1);
  });
});

describe('retries', () => {
  /** A proxy that loses the bridge's answer to the first attempt (the bridge applied it) and says 502. */
  async function givenAnswerLostOnce() {
    const webhookIds: string[] = [];
    let lost = 0;
    const flaky: typeof fetch = async (input, init) => {
      webhookIds.push(new Headers(init?.headers).get('webhook-id') ?? '');
      const answer = await fetch(input, init);
      if (lost === 0) {
        lost += 1;
        await answer.text();
        return new Response('{"message":"Bad Gateway"}', { status: 502 });
      }
      return answer;
    };
    return { webhookIds, flaky };
  }

  it('retry a status report whose answer was lost with the same webhook-id: one effect, the first answer', async () => {
    // Prepare
    const { webhookIds, flaky } = await givenAnswerLostOnce();
    const retrying = newClient(http.url, { fetch: flaky });

    // Act
    const answer = await retrying.reportStatus('msg-2', { status: 'read' });
    await bridge.advance(0);

    // Assess
    expect(webhookIds).toHaveLength(2);
    expect(new Set(webhookIds).size).toBe(1);
    expect(answer).toMatchObject({ status: 202, replayed: true, attempts: 2, webhookId: webhookIds[0] });
    expect(answer.body).toEqual({ ok: true, applied: true, status: 'read' });
    expect(bridge.kommo.deliveryStatusCalls()).toHaveLength(1);
  });

  it('backs off between attempts on 429 and 5xx, and gives up with the last answer', async () => {
    // Prepare
    const delays: number[] = [];
    const busy = await listen(() => ({ status: 429, body: '{"error":{"code":"throttled","message":"slow down"}}' }));
    const throttled = newClient(busy.url, {
      random: () => 1,
      sleep: async (ms) => void delays.push(ms),
      retry: { attempts: 4, baseDelayMs: 100, maxDelayMs: 250 },
    });

    // Act
    const failure = await throttled
      .typing({ conversation_id: 'c-1', sender_id: 'u-7', state: 'start' })
      .catch((e) => e);
    await busy.close();

    // Assess
    expect(failure).toMatchObject({ status: 429, code: 'throttled', attempts: 4 });
    expect(delays).toEqual([100, 200, 250]);
    expect(new Set(busy.received.map((request) => request.headers['webhook-id'])).size).toBe(1);
  });
});

describe('events and status queries, checked with the client', () => {
  it('verifies a typing.started the bridge delivered, and refuses a tampered body', async () => {
    // Act
    await bridge.kommoHook(typingHook(bridge, { conversationId: 'kommo-chat-1', clientId: 'c-1' }));
    await bridge.advance(0);

    // Assess
    const delivery = chatService.received.find((request) => request.method === 'POST');
    expect(delivery).toBeDefined();
    const event = sdk.verifyEvent(delivery!.headers, delivery!.body);
    expect(event.type).toBe('typing.started');
    if (event.type === 'typing.started') expect(event.data.conversation_id).toBe('c-1');
    expect(() => sdk.verifyEvent(delivery!.headers, delivery!.body.replace('c-1', 'c-2'))).toThrow(
      client.SignatureError,
    );
  });

  it('answers the status query: the bridge moves the message to delivered from the answer', async () => {
    // Prepare
    knownStatuses.set('msg-3', { status: 'delivered' });

    // Act
    await bridge.kommoHook(messageHook(bridge.accountId, 'msg-3'));
    await bridge.advance(3_000);
    const record = await sdk.getStatus('msg-3');

    // Assess
    expect(chatService.received.filter((request) => request.method === 'GET').length).toBeGreaterThanOrEqual(1);
    expect(record.body).toMatchObject({ status: 'delivered' });
  });

  it('refuses a status query that is not signed by the bridge', () => {
    // Act
    const forged = () =>
      sdk.answerStatusQuery(
        {
          'webhook-id': 'msg_x',
          'webhook-timestamp': String(Math.floor(bridge.clock.now() / 1000)),
          'webhook-signature': 'v1,AAAA',
        },
        { status: 'read' },
      );

    // Assess
    expect(forged).toThrow(client.SignatureError);
  });
});
