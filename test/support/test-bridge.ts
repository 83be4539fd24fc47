import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { randomBytes, randomUUID } from 'node:crypto';
import { inject } from 'vitest';
import { createBridgeTable } from '../../functions/core/adapters/dynamodb/table';
import { CountingMetrics, RecordingLog } from '../../functions/core/adapters/telemetry/in-memory';
import type { Log, Metrics } from '../../functions/core/ports/telemetry';
import { signKommoHook } from '../../functions/core/domain/amojo-signature';
import { StandardWebhookVerifier } from '../../functions/core/domain/standard-webhooks';
import { loadConfig, type BridgeConfig } from '../../functions/core/config';
import { localDynamoClient } from '../../local/dynamodb-local';
import { LocalBridge } from '../../local/local-bridge';
import { ChatServiceSink } from '../../local/sandbox/chat-service-sink';
import { KommoSandbox } from '../../local/sandbox/kommo-sandbox';
import { signKommoWidgetToken } from '../../local/kommo-widget-token';
import { ManualClock, TEST_START } from './manual-clock';

export interface TestResponse {
  status: number;
  body: any;
  headers: Record<string, string | number | boolean>;
}

export interface ChatRequestOptions {
  webhookId?: string;
  timestampSeconds?: number;
  secret?: string;
  headers?: Record<string, string>;
  rawBody?: string | Buffer;
}

/**
 * Test secrets are random per run: they are made here, never written down anywhere.
 */
export function testSecrets() {
  return {
    channelSecret: randomBytes(20).toString('hex'),
    chatServiceSecret: `whsec_${randomBytes(32).toString('base64')}`,
    kommoClientSecret: randomBytes(32).toString('base64url'),
    adminToken: randomBytes(32).toString('base64url'),
  };
}

/** The integration's redirect URI in tests (the bridge's install route); widget tokens carry its origin as `aud`. */
export const TEST_REDIRECT_URI = 'https://bridge.example.com/kommo/install';

/** The Kommo integration's id in tests (KOMMO_CLIENT_ID, the disable hook's client_uuid). */
export const TEST_CLIENT_ID = '6c1b9e2a-3f4d-4a5b-8c7d-0e1f2a3b4c5d';

/**
 * Given: the whole bridge in-process (real handlers, DynamoDB Local, in-process queues), a Kommo
 * sandbox and a chat-service sink that verify signatures like the real parties, and a manual clock.
 */
export async function givenBridge(
  settings: Partial<Record<keyof BridgeConfig, string>> = {},
  /**
   * Another DynamoDB client (a DynamoDB Local of the test's own), and another log (a quiet one for load);
   * `pollStatuses`: CHAT_SERVICE_STATUS_URL is the sink's status URL, so outgoing messages are polled.
   */
  options: {
    dynamo?: DynamoDBClient;
    log?: RecordingLog;
    pollStatuses?: boolean;
    /** The log and metrics the handlers get instead (the bench's cost section: Powertools, as in Lambda). */
    handlerTelemetry?: { log: Log; metrics: Metrics };
  } = {},
) {
  const clock = new ManualClock(TEST_START);
  const secrets = testSecrets();
  const channelId = 'c0ffee00-0000-4000-8000-000000000001';
  const accountId = '52e591f7-c98f-4255-8495-827210138c81';
  const scopeId = `${channelId}_${accountId}`;
  // The test account's host stands in for its Kommo account too (installs exchange codes there).
  const kommo = new KommoSandbox({
    channelId,
    channelSecret: secrets.channelSecret,
    clock,
    integration: { clientId: TEST_CLIENT_ID, clientSecret: secrets.kommoClientSecret, redirectUri: TEST_REDIRECT_URI },
    accounts: [{ id: TEST_KOMMO_ACCOUNT_ID, subdomain: TEST_KOMMO_SUBDOMAIN, amojoId: accountId }],
  });
  const sink = new ChatServiceSink({ secret: secrets.chatServiceSecret, clock });
  const [kommoUrl, sinkUrl] = await Promise.all([kommo.start(), sink.start()]);
  const config = loadConfig({
    KOMMO_CHANNEL_ID: channelId,
    KOMMO_CHANNEL_SECRET: secrets.channelSecret,
    KOMMO_API_URL: kommoUrl,
    CHAT_SERVICE_URL: sinkUrl,
    CHAT_SERVICE_SECRET: secrets.chatServiceSecret,
    KOMMO_CLIENT_SECRET: secrets.kommoClientSecret,
    KOMMO_REDIRECT_URI: TEST_REDIRECT_URI,
    KOMMO_CLIENT_ID: TEST_CLIENT_ID,
    KOMMO_ACCOUNT_URL: kommo.accountUrlTemplate,
    ADMIN_TOKEN: secrets.adminToken,
    ...(options.pollStatuses ? { CHAT_SERVICE_STATUS_URL: sink.statusUrlTemplate } : {}),
    ...settings,
  });
  const ownsClient = options.dynamo === undefined;
  const dynamo = options.dynamo ?? localDynamoClient(inject('dynamoEndpoint'));
  const tableName = `bridge-${randomUUID()}`;
  // No TTL deletion: DynamoDB Local would reap by the wall clock, and this bridge runs on a manual one.
  await createBridgeTable(dynamo, tableName, { ttl: false });
  const metrics = new CountingMetrics();
  const log = options.log ?? new RecordingLog({ level: 'silent' });
  let ids = 0;
  const bridge = new LocalBridge({
    config,
    clock,
    dynamo,
    tableName,
    log: options.handlerTelemetry?.log ?? log,
    metrics: options.handlerTelemetry?.metrics ?? metrics,
    scheduling: 'manual',
    // Mid-range jitter: retries land at half their ceiling, so schedules are reproducible.
    random: () => 0.5,
    newId: () => `test${String((ids += 1)).padStart(6, '0')}`,
  });
  const verifier = new StandardWebhookVerifier(secrets.chatServiceSecret);
  let webhookIds = 0;

  async function send(
    method: string,
    url: string,
    headers: Record<string, string>,
    body: Buffer,
  ): Promise<TestResponse> {
    const result = await bridge.invoke({ method, url, headers, body });
    // Pages (the install route's) stay text; every other answer is JSON.
    const page = String(result.headers?.['content-type'] ?? '').startsWith('text/html');
    return {
      status: result.statusCode,
      body: result.body ? (page ? result.body : JSON.parse(result.body)) : undefined,
      headers: result.headers ?? {},
    };
  }

  return {
    bridge,
    deps: bridge.deps,
    clock,
    kommo,
    sink,
    metrics,
    log,
    config,
    secrets,
    channelId,
    accountId,
    scopeId,
    dynamo,
    tableName,

    /** A `/chat/...` request signed as the chat service signs it (Standard Webhooks). */
    async chat(
      method: 'GET' | 'POST' | 'PUT',
      path: string,
      body?: unknown,
      options: ChatRequestOptions = {},
    ): Promise<TestResponse> {
      const raw =
        options.rawBody !== undefined
          ? Buffer.from(options.rawBody)
          : Buffer.from(body === undefined ? '' : JSON.stringify(body));
      const webhookId = options.webhookId ?? `msg_${(webhookIds += 1)}`;
      const timestamp = options.timestampSeconds ?? Math.floor(clock.now() / 1000);
      const signer = options.secret ? new StandardWebhookVerifier(options.secret) : verifier;
      const headers: Record<string, string> = {
        'content-type': 'application/json',
        'webhook-id': webhookId,
        'webhook-timestamp': String(timestamp),
        'webhook-signature': signer.sign(webhookId, timestamp, raw),
        ...options.headers,
      };
      return send(method, path, headers, raw);
    },

    /** A Kommo hook, signed with the channel secret unless a signature is given. */
    async kommoHook(
      body: unknown,
      options: { signature?: string | null; scope?: string; rawBody?: string | Buffer } = {},
    ): Promise<TestResponse> {
      const raw = options.rawBody !== undefined ? Buffer.from(options.rawBody) : Buffer.from(JSON.stringify(body));
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      const signature = options.signature === undefined ? signKommoHook(raw, secrets.channelSecret) : options.signature;
      if (signature !== null) headers['x-signature'] = signature;
      return send('POST', `/kommo/${options.scope ?? scopeId}`, headers, raw);
    },

    /** Any request, unsigned. */
    send,

    /** Lets `ms` of test time pass, delivering every queued message when it comes due. */
    async advance(ms: number): Promise<void> {
      const target = clock.now() + ms;
      for (;;) {
        await bridge.settle();
        const next = bridge.nextDueAt();
        if (next === undefined || next > target) break;
        clock.set(Math.max(next, clock.now()));
      }
      clock.set(target);
      await bridge.settle();
    },

    async close(): Promise<void> {
      await bridge.stop();
      await Promise.all([kommo.close(), sink.close()]);
      if (ownsClient) dynamo.destroy();
    },
  };
}

export type TestBridge = Awaited<ReturnType<typeof givenBridge>>;

/** A Kommo-user typing hook as Kommo sends it (docs/kommo.md), for the bridge's test account. */
export function typingHook(
  bridge: Pick<TestBridge, 'accountId' | 'clock'>,
  overrides: { userId?: string; conversationId?: string; clientId?: string | null; expiredAtSeconds?: number } = {},
) {
  const nowSeconds = Math.floor(bridge.clock.now() / 1000);
  const conversation: Record<string, string> = {
    id: overrides.conversationId ?? TEST_KOMMO_CHAT,
  };
  if (overrides.clientId !== null) conversation.client_id = overrides.clientId ?? 'c-1';
  return {
    account_id: bridge.accountId,
    time: nowSeconds,
    action: {
      typing: {
        user: { id: overrides.userId ?? TEST_USER_AMOJO_ID },
        conversation,
        expired_at: overrides.expiredAtSeconds ?? nowSeconds + 5,
      },
    },
  };
}

/** The Kommo account and user the widget helpers speak for, and the page they run on. */
export const TEST_KOMMO_ACCOUNT_ID = 31_000_001;
export const TEST_KOMMO_USER_ID = 7001;
export const TEST_KOMMO_SUBDOMAIN = 'testaccount';
export const TEST_KOMMO_ORIGIN = `https://${TEST_KOMMO_SUBDOMAIN}.kommo.com`;
/** `APP.constant('user').amojo_id` of the widget's user: the id typing hooks carry as `user.id`. */
export const TEST_USER_AMOJO_ID = 'b0bc49f0-ec21-4463-965f-1fe1d4cd5b89';
/** The Kommo chat the tests speak of when one is enough (typing hooks name it unless told otherwise). */
export const TEST_KOMMO_CHAT = '30477717-9f3c-4d3f-8101-60327e14dc48';

export interface WidgetTokenOptions {
  kommoAccountId?: number;
  kommoUserId?: number;
  /** Signs with another secret (a forged token). */
  secret?: string;
  ttlSeconds?: number;
  /** Claims to add or replace. */
  claims?: Record<string, unknown>;
}

/** A Kommo one-time token as `$authorizedAjax` sends it, for the bridge's configured integration. */
export function widgetToken(
  bridge: Pick<TestBridge, 'config' | 'clock'>,
  options: WidgetTokenOptions = {},
): Promise<string> {
  const clientSecret = options.secret ?? bridge.config.KOMMO_CLIENT_SECRET;
  const redirectUri = bridge.config.KOMMO_REDIRECT_URI ?? TEST_REDIRECT_URI;
  if (clientSecret === undefined)
    throw new Error('This bridge has no KOMMO_CLIENT_SECRET: pass `secret`, or use givenBridge()');
  return signKommoWidgetToken({
    clientSecret,
    redirectUri,
    kommoAccountId: options.kommoAccountId ?? TEST_KOMMO_ACCOUNT_ID,
    kommoUserId: options.kommoUserId ?? TEST_KOMMO_USER_ID,
    subdomain: 'testaccount',
    nowMs: bridge.clock.now(),
    ttlSeconds: options.ttlSeconds,
    claims: options.claims,
  });
}

export interface WidgetRequestOptions extends WidgetTokenOptions {
  /** The whole X-Auth-Token header; `null` sends none. Default: a valid token. */
  token?: string | null;
  /** The page's origin; `null` sends no Origin header. */
  origin?: string | null;
  headers?: Record<string, string>;
  rawBody?: string | Buffer;
}

/** A `/widget/...` request as the Kommo widget sends it from an account page. */
export async function widgetRequest(
  bridge: Pick<TestBridge, 'config' | 'clock' | 'send'>,
  method: 'GET' | 'POST' | 'OPTIONS',
  path: string,
  body?: unknown,
  options: WidgetRequestOptions = {},
): Promise<TestResponse> {
  const raw =
    options.rawBody !== undefined
      ? Buffer.from(options.rawBody)
      : Buffer.from(body === undefined ? '' : JSON.stringify(body));
  const headers: Record<string, string> = {};
  if (raw.length > 0) headers['content-type'] = 'application/json';
  const origin = options.origin === undefined ? TEST_KOMMO_ORIGIN : options.origin;
  if (origin !== null) headers.origin = origin;
  const token = options.token === undefined ? await widgetToken(bridge, options) : options.token;
  if (token !== null) headers['x-auth-token'] = token;
  return bridge.send(method, path, { ...headers, ...options.headers }, raw);
}

/** A `/admin/...` request with the bridge's ADMIN_TOKEN, unless `authorization` says otherwise (`null`: none). */
export function adminRequest(
  bridge: Pick<TestBridge, 'config' | 'send'>,
  path: string,
  body: unknown,
  options: { authorization?: string | null; rawBody?: string } = {},
): Promise<TestResponse> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  const authorization =
    options.authorization === undefined ? `Bearer ${bridge.config.ADMIN_TOKEN}` : options.authorization;
  if (authorization !== null) headers.authorization = authorization;
  return bridge.send('POST', path, headers, Buffer.from(options.rawBody ?? JSON.stringify(body)));
}

/** Given: the test account connected with `/admin/connect`, its Kommo account bound to the bridge's scope. */
export async function givenConnectedAccount(
  bridge: TestBridge,
  kommoAccountId = TEST_KOMMO_ACCOUNT_ID,
): Promise<TestResponse> {
  const response = await adminRequest(bridge, '/admin/connect', {
    amojo_account_id: bridge.accountId,
    kommo_account_id: kommoAccountId,
    title: 'Test channel',
  });
  if (response.status !== 200)
    throw new Error(`admin connect failed: ${response.status} ${JSON.stringify(response.body)}`);
  return response;
}

/** An outgoing-message hook (v2) as Kommo sends it (docs/kommo.md): one the bridge forwards, never consumes. */
export function messageHook(accountId: string, messageId = 'msg-1') {
  return {
    account_id: accountId,
    time: 1639572261,
    message: {
      receiver: { id: 'r-1', client_id: 'u-7' },
      sender: { id: 'kommo-user-1' },
      conversation: { id: 'kommo-chat-1', client_id: 'c-1' },
      timestamp: 1639572260,
      msec_timestamp: 1639572260980,
      message: { id: messageId, type: 'text', text: 'Hello' },
    },
  };
}
