import { randomBytes, randomUUID } from 'node:crypto';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { Context } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createBridgeTable } from '../../functions/core/adapters/dynamodb/table';
import { InProcessQueue } from '../../functions/core/adapters/in-process-queue/in-process-queue';
import { SecretSettings } from '../../functions/core/adapters/secrets-manager/secret-settings';
import { secretsManagerReader } from '../../functions/core/adapters/secrets-manager/secrets-manager-reader';
import { CountingMetrics, RecordingLog } from '../../functions/core/adapters/telemetry/in-memory';
import { StandardWebhooksChatService } from '../../functions/core/adapters/chat-service/chat-service-client';
import { createDeps } from '../../functions/core/create-deps';
import { buildEvent } from '../../functions/core/domain/outbound-event';
import type { BridgeDeps, BridgeQueues } from '../../functions/core/deps';
import { signKommoHook } from '../../functions/core/domain/amojo-signature';
import { StandardWebhookVerifier } from '../../functions/core/domain/standard-webhooks';
import type { ApiEvent, ApiResult } from '../../functions/core/http/api';
import type { SecretGroup } from '../../functions/core/config';
import { createChatPresenceHandler } from '../../functions/chat-presence/handler';
import { createKommoHookHandler } from '../../functions/kommo-hook/handler';
import { createLambdaEntry } from '../../functions/core/wiring';
import { toApiGatewayEvent } from '../../local/api-gateway-event';
import { localDynamoClient } from '../../local/dynamodb-local';
import { ChatServiceSink } from '../../local/sandbox/chat-service-sink';
import { SecretsManagerStandIn } from '../bundle/aws-stand-ins';
import { ManualClock, TEST_START } from '../support/manual-clock';
import { messageHook, testSecrets } from '../support/test-bridge';

/**
 * A warm container picks up a rotated secret within the 5-minute cache, without a redeploy; during a
 * chat-service rotation both the previous and the new secret are accepted. The secrets come from a
 * Secrets Manager stand-in through the real SDK client, and the cache runs on a manual clock.
 */

const REGION = 'eu-central-1';
const ACCOUNT = '000000000000';
const credentials = { accessKeyId: 'ASIAROTATIONTEST0000', secretAccessKey: 'rotation-test-fake-key' };
const channelId = 'c0ffee00-0000-4000-8000-00000000a0a0';
const accountId = '52e591f7-c98f-4255-8495-827210138c81';
const scopeId = `${channelId}_${accountId}`;
const environment = { KOMMO_CHANNEL_ID: channelId, CHAT_SERVICE_URL: 'https://chat.example.com/kommo-events' };

const secretsManager = new SecretsManagerStandIn({ region: REGION, accessKeyId: credentials.accessKeyId });
const dynamo = localDynamoClient(inject('dynamoEndpoint'));
const tableName = `rotation-${randomUUID()}`;
let client: SecretsManagerClient;

beforeAll(async () => {
  const endpoint = await secretsManager.start();
  client = new SecretsManagerClient({ endpoint, region: REGION, credentials });
  await createBridgeTable(dynamo, tableName, { ttl: false });
});

afterAll(async () => {
  client.destroy();
  await secretsManager.close();
});

const context = {
  functionName: 'rotation-test',
  awsRequestId: 'r-1',
  getRemainingTimeInMillis: () => 10_000,
} as unknown as Context;

/** A warm container of one function: its handler factory, the secrets it holds, a manual clock. */
function givenContainer(
  factory: (deps: BridgeDeps) => (event: ApiEvent, context: Context) => Promise<ApiResult>,
  arns: Partial<Record<SecretGroup, string>>,
) {
  const clock = new ManualClock(TEST_START);
  const log = new RecordingLog({ level: 'silent' });
  const queue = () =>
    new InProcessQueue<never>({ name: 'q', clock, visibilityTimeoutSeconds: 60, maxReceiveCount: 5, batchSize: 10 });
  const queues: BridgeQueues = { hooks: queue(), events: queue(), kommoStatus: queue(), timers: queue() };
  const handler = createLambdaEntry(factory, {
    secrets: new SecretSettings({ arns, read: secretsManagerReader(client), clock }),
    environment,
    buildDeps: (config) =>
      createDeps({ config, clock, log, metrics: new CountingMetrics(), dynamo, tableName, queues }),
    log,
  });
  const call = async (method: string, url: string, headers: Record<string, string>, body = '') => {
    const { event } = toApiGatewayEvent({ method, url, headers, body: Buffer.from(body) }, clock.now());
    return (await handler(event, context)).statusCode;
  };
  return { clock, log, call };
}

const hookBody = JSON.stringify(messageHook(accountId));

describe('a rotated channel secret', () => {
  it('is refused until the cache expires, then the new value is accepted and the old one refused', async () => {
    // Prepare: a warm kommo-hook container that read secret A at init.
    const [a, b] = [testSecrets().channelSecret, testSecrets().channelSecret];
    const arn = secretsManager.putSecret(
      REGION,
      ACCOUNT,
      `channel-${randomUUID()}`,
      JSON.stringify({ KOMMO_CHANNEL_SECRET: a }),
    );
    const container = givenContainer(createKommoHookHandler, { 'kommo-channel': arn });
    const hookSignedWith = (secret: string) =>
      container.call(
        'POST',
        `/kommo/${scopeId}`,
        { 'content-type': 'application/json', 'x-signature': signKommoHook(Buffer.from(hookBody), secret) },
        hookBody,
      );
    expect(await hookSignedWith(a)).toBe(200);

    // Act: the operator puts B; a minute later the cached A still rules.
    secretsManager.updateSecret(arn, JSON.stringify({ KOMMO_CHANNEL_SECRET: b }));
    container.clock.advanceBy(60_000);
    const beforeExpiry = [await hookSignedWith(b), await hookSignedWith(a)];
    container.clock.advanceBy(5 * 60_000);
    const afterExpiry = [await hookSignedWith(b), await hookSignedWith(a)];

    // Assess
    expect(beforeExpiry).toEqual([401, 200]);
    expect(afterExpiry).toEqual([200, 401]);
    expect(secretsManager.requested.filter((id) => id === arn)).toHaveLength(2);
  });
});

describe('a chat-service secret rotation', () => {
  const whsec = () => `whsec_${randomBytes(32).toString('base64')}`;
  const presenceQuery = (container: ReturnType<typeof givenContainer>, secret: string) => {
    const webhookId = `msg_${randomUUID()}`;
    const timestamp = Math.floor(container.clock.now() / 1000);
    const signature = new StandardWebhookVerifier(secret).sign(webhookId, timestamp, '');
    return container.call('GET', `/chat/${scopeId}/presence/client-1`, {
      'webhook-id': webhookId,
      'webhook-timestamp': String(timestamp),
      'webhook-signature': signature,
    });
  };

  it('accepts the previous and the new secret while both are set, then only the new one', async () => {
    // Prepare
    const [old, fresh] = [whsec(), whsec()];
    const arn = secretsManager.putSecret(
      REGION,
      ACCOUNT,
      `chat-${randomUUID()}`,
      JSON.stringify({ CHAT_SERVICE_SECRET: old, CHAT_SERVICE_SECRET_PREVIOUS: '' }),
    );
    const container = givenContainer(createChatPresenceHandler, { 'chat-service': arn });
    const before = [await presenceQuery(container, old), await presenceQuery(container, fresh)];

    // Act: step 1 of the procedure, the new secret in, the old one kept as previous.
    secretsManager.updateSecret(arn, JSON.stringify({ CHAT_SERVICE_SECRET: fresh, CHAT_SERVICE_SECRET_PREVIOUS: old }));
    container.clock.advanceBy(6 * 60_000);
    const during = [await presenceQuery(container, old), await presenceQuery(container, fresh)];
    // Step 3: the chat service signs with the new secret; the previous one is removed.
    secretsManager.updateSecret(arn, JSON.stringify({ CHAT_SERVICE_SECRET: fresh, CHAT_SERVICE_SECRET_PREVIOUS: '' }));
    container.clock.advanceBy(6 * 60_000);
    const after = [await presenceQuery(container, old), await presenceQuery(container, fresh)];

    // Assess
    expect(before).toEqual([200, 401]);
    expect(during).toEqual([200, 200]);
    expect(after).toEqual([401, 200]);
  });

  it('fails closed once a malformed value is put, and logs one line naming the variable, never the value', async () => {
    // Prepare
    const good = whsec();
    const arn = secretsManager.putSecret(
      REGION,
      ACCOUNT,
      `chat-${randomUUID()}`,
      JSON.stringify({ CHAT_SERVICE_SECRET: good }),
    );
    const container = givenContainer(createChatPresenceHandler, { 'chat-service': arn });
    expect(await presenceQuery(container, good)).toBe(200);

    // Act: a malformed value is put by mistake.
    secretsManager.updateSecret(arn, JSON.stringify({ CHAT_SERVICE_SECRET: 'not-a-whsec-secret' }));
    container.clock.advanceBy(6 * 60_000);
    const refused = presenceQuery(container, good);

    // Assess: fail closed, with one line naming the variable.
    await expect(refused).rejects.toThrow(/CHAT_SERVICE_SECRET/);
    const lines = container.log.lines.filter((entry) => entry.level === 'error').map((entry) => JSON.stringify(entry));
    expect(lines.some((line) => line.includes('CHAT_SERVICE_SECRET must be'))).toBe(true);
    expect(lines.join('\n')).not.toContain('not-a-whsec-secret');
  });
});

describe('events during a chat-service secret rotation', () => {
  it('carry a signature with each secret, so the chat service accepts them whichever secret it holds', async () => {
    // Prepare: two sinks, one still on the old secret, one already on the new.
    const clock = new ManualClock(TEST_START);
    const [old, fresh] = [`whsec_${randomBytes(32).toString('base64')}`, `whsec_${randomBytes(32).toString('base64')}`];
    const sinks = [new ChatServiceSink({ secret: old, clock }), new ChatServiceSink({ secret: fresh, clock })];
    const urls = await Promise.all(sinks.map((sink) => sink.start()));
    const event = buildEvent(
      'conversation.read',
      { scope_id: scopeId, account_id: accountId, read_at: new Date(TEST_START).toISOString() },
      { id: 'rotation-1', nowMs: clock.now() },
    );

    try {
      // Act: the bridge's client as configured during the rotation (the new secret first, the previous one kept).
      for (const url of urls) {
        await new StandardWebhooksChatService({ url, secrets: [fresh, old], timeoutMs: 5_000, clock }).deliver(event);
      }

      // Assess
      expect(sinks.map((sink) => sink.events.map((received) => received.id))).toEqual([[event.id], [event.id]]);
      expect(sinks.flatMap((sink) => sink.rejected)).toEqual([]);
    } finally {
      await Promise.all(sinks.map((sink) => sink.close()));
    }
  });
});
