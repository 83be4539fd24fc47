import { randomBytes, randomUUID } from 'node:crypto';
import { inject } from 'vitest';
import { createBridgeTable } from '../../functions/core/adapters/dynamodb/table';
import { CountingMetrics, RecordingLog } from '../../functions/core/adapters/telemetry/in-memory';
import { signKommoHook } from '../../functions/core/domain/amojo-signature';
import { StandardWebhookVerifier } from '../../functions/core/domain/standard-webhooks';
import { loadConfig, type BridgeConfig } from '../../functions/core/config';
import { localDynamoClient } from '../../local/dynamodb-local';
import { LocalBridge } from '../../local/local-bridge';
import { ChatServiceSink } from '../../local/sandbox/chat-service-sink';
import { KommoSandbox } from '../../local/sandbox/kommo-sandbox';
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
  };
}

/**
 * Given: the whole bridge in-process (real handlers, DynamoDB Local, in-process queues), a Kommo
 * sandbox and a chat-service sink that verify signatures like the real parties, and a manual clock.
 */
export async function givenBridge(settings: Partial<Record<keyof BridgeConfig, string>> = {}) {
  const clock = new ManualClock(TEST_START);
  const secrets = testSecrets();
  const channelId = 'c0ffee00-0000-4000-8000-000000000001';
  const accountId = '52e591f7-c98f-4255-8495-827210138c81';
  const scopeId = `${channelId}_${accountId}`;
  const kommo = new KommoSandbox({ channelId, channelSecret: secrets.channelSecret, clock });
  const sink = new ChatServiceSink({ secret: secrets.chatServiceSecret, clock });
  const [kommoUrl, sinkUrl] = await Promise.all([kommo.start(), sink.start()]);
  const config = loadConfig({
    KOMMO_CHANNEL_ID: channelId,
    KOMMO_CHANNEL_SECRET: secrets.channelSecret,
    KOMMO_API_URL: kommoUrl,
    CHAT_SERVICE_URL: sinkUrl,
    CHAT_SERVICE_SECRET: secrets.chatServiceSecret,
    ...settings,
  });
  const dynamo = localDynamoClient(inject('dynamoEndpoint'));
  const tableName = `bridge-${randomUUID()}`;
  // No TTL deletion: DynamoDB Local would reap by the wall clock, and this bridge runs on a manual one.
  await createBridgeTable(dynamo, tableName, { ttl: false });
  const metrics = new CountingMetrics();
  const log = new RecordingLog({ level: 'silent' });
  let ids = 0;
  const bridge = new LocalBridge({
    config,
    clock,
    dynamo,
    tableName,
    log,
    metrics,
    scheduling: 'manual',
    // Mid-range jitter: retries land at half their ceiling, so schedules are reproducible.
    random: () => 0.5,
    newId: () => `test${String((ids += 1)).padStart(6, '0')}`,
  });
  const verifier = new StandardWebhookVerifier(secrets.chatServiceSecret);
  let webhookIds = 0;

  async function send(method: string, url: string, headers: Record<string, string>, body: Buffer): Promise<TestResponse> {
    const result = await bridge.invoke({ method, url, headers, body });
    return { status: result.statusCode, body: result.body ? JSON.parse(result.body) : undefined, headers: result.headers ?? {} };
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
    async chat(method: 'GET' | 'POST', path: string, body?: unknown, options: ChatRequestOptions = {}): Promise<TestResponse> {
      const raw = options.rawBody !== undefined ? Buffer.from(options.rawBody) : Buffer.from(body === undefined ? '' : JSON.stringify(body));
      const webhookId = options.webhookId ?? `msg_${(webhookIds += 1)}`;
      const timestamp = options.timestampSeconds ?? Math.floor(clock.now() / 1000);
      const signer = options.secret ? new StandardWebhookVerifier(options.secret) : verifier;
      const headers: Record<string, string> = {
        'content-type': 'application/json',
        'webhook-id': webhookId,
        'webhook-timestamp': String(timestamp),
        'webhook-signature': signer.sign(webhookId, timestamp, raw.toString('utf8')),
        ...options.headers,
      };
      return send(method, path, headers, raw);
    },

    /** A Kommo hook, signed with the channel secret unless a signature is given. */
    async kommoHook(body: unknown, options: { signature?: string | null; scope?: string; rawBody?: string | Buffer } = {}): Promise<TestResponse> {
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
      dynamo.destroy();
    },
  };
}

export type TestBridge = Awaited<ReturnType<typeof givenBridge>>;

/** A manager-typing hook as Kommo sends it (shared/kommo-chat-api.md), for the bridge's test account. */
export function typingHook(bridge: Pick<TestBridge, 'accountId' | 'clock'>, overrides: { userId?: string; conversationId?: string; clientId?: string | null; expiredAtSeconds?: number } = {}) {
  const nowSeconds = Math.floor(bridge.clock.now() / 1000);
  const conversation: Record<string, string> = { id: overrides.conversationId ?? '30477717-9f3c-4d3f-8101-60327e14dc48' };
  if (overrides.clientId !== null) conversation.client_id = overrides.clientId ?? 'c-1';
  return {
    account_id: bridge.accountId,
    time: nowSeconds,
    action: {
      typing: {
        user: { id: overrides.userId ?? 'b0bc49f0-ec21-4463-965f-1fe1d4cd5b89' },
        conversation,
        expired_at: overrides.expiredAtSeconds ?? nowSeconds + 5,
      },
    },
  };
}
