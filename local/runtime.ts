import { randomBytes, randomUUID } from 'node:crypto';
import { createBridgeTable } from '../functions/core/adapters/dynamodb/table';
import { CountingMetrics, RecordingLog, type LogLevel } from '../functions/core/adapters/telemetry/in-memory';
import { loadConfig, type AllFunctionsConfig } from '../functions/core/config';
import { systemClock, type Clock } from '../functions/core/ports/clock';
import { startDynamoDbLocal, type RunningDynamoDb } from './dynamodb-local';
import { serveBridge, type RunningHttpServer } from './http-server';
import { LocalBridge } from './local-bridge';
import { ChatServiceSink } from './sandbox/chat-service-sink';
import { KommoSandbox } from './sandbox/kommo-sandbox';

/** The channel id the sandbox uses; any value works, this one reads as what it is. */
export const SANDBOX_CHANNEL_ID = '5a4db0c5-0000-4000-8000-00000000c4a7';
export const SANDBOX_ACCOUNT_ID = '52e591f7-c98f-4255-8495-827210138c81';
/** The sandbox account's numeric Kommo id (what widget tokens carry) and its subdomain. */
export const SANDBOX_KOMMO_ACCOUNT_ID = 30_000_001;
export const SANDBOX_KOMMO_SUBDOMAIN = 'sandbox';
/** A redirect URI for the sandbox integration: only its origin matters (the `aud` of widget tokens). */
export const SANDBOX_REDIRECT_URI = 'https://bridge.example.com/kommo/oauth';

export interface LocalRuntimeOptions {
  /** Settings as environment variables. Without `KOMMO_CHANNEL_ID` the runtime starts in sandbox mode. */
  env: Record<string, string | undefined>;
  port: number;
  clock?: Clock;
  print?: (line: string) => void;
  logLevel?: LogLevel;
}

export interface LocalRuntime {
  mode: 'sandbox' | 'configured';
  url: string;
  config: AllFunctionsConfig;
  bridge: LocalBridge;
  metrics: CountingMetrics;
  kommo?: KommoSandbox;
  sink?: ChatServiceSink;
  scopeId?: string;
  /** Sandbox mode: the Kommo account `/admin/connect` bound to `scopeId` at start. */
  kommoAccountId?: number;
  stop(): Promise<void>;
}

/** True when the environment configures a real Kommo channel (anything else starts the sandbox). */
export function isConfigured(env: Record<string, string | undefined>): boolean {
  return Boolean(env.KOMMO_CHANNEL_ID);
}

/**
 * `npm start`: DynamoDB Local, the table, every handler in this process behind an HTTP server, and
 * the queue consumers. With no configuration it also starts a Kommo sandbox and a chat-service sink
 * and makes fresh dev secrets for them.
 */
export async function startLocalRuntime(options: LocalRuntimeOptions): Promise<LocalRuntime> {
  const print = options.print ?? (() => undefined);
  const clock = options.clock ?? systemClock;
  const cleanups: (() => Promise<void>)[] = [];
  const stop = async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  };
  try {
    let kommo: KommoSandbox | undefined;
    let sink: ChatServiceSink | undefined;
    let env = options.env;
    if (!isConfigured(env)) {
      const channelSecret = randomBytes(20).toString('hex');
      const chatServiceSecret = `whsec_${randomBytes(32).toString('base64')}`;
      kommo = new KommoSandbox({ channelId: SANDBOX_CHANNEL_ID, channelSecret, clock, log: (line) => print(`[kommo sandbox] ${line}`) });
      sink = new ChatServiceSink({ secret: chatServiceSecret, clock, log: (line) => print(`[chat service] ${line}`) });
      const [kommoUrl, sinkUrl] = await Promise.all([kommo.start(), sink.start()]);
      cleanups.push(() => kommo!.close(), () => sink!.close());
      env = {
        ...env,
        KOMMO_CHANNEL_ID: SANDBOX_CHANNEL_ID,
        KOMMO_CHANNEL_SECRET: channelSecret,
        KOMMO_API_URL: kommoUrl,
        CHAT_SERVICE_URL: sinkUrl,
        CHAT_SERVICE_SECRET: chatServiceSecret,
        KOMMO_CLIENT_SECRET: randomBytes(32).toString('base64url'),
        KOMMO_REDIRECT_URI: SANDBOX_REDIRECT_URI,
        ADMIN_TOKEN: randomBytes(32).toString('base64url'),
      };
    }
    const config = loadConfig(env);
    const dynamo: RunningDynamoDb = await startDynamoDbLocal();
    cleanups.push(() => dynamo.stop());
    const tableName = `kommo-live-bridge-${randomUUID().slice(0, 8)}`;
    await createBridgeTable(dynamo.client, tableName);
    const metrics = new CountingMetrics();
    const log = new RecordingLog({ level: options.logLevel ?? 'info', print: (line) => print(`[bridge] ${line}`) });
    const bridge = new LocalBridge({ config, clock, dynamo: dynamo.client, tableName, log, metrics, scheduling: 'realtime' });
    cleanups.push(() => bridge.stop());
    const server: RunningHttpServer = await serveBridge(bridge, { port: options.port });
    cleanups.push(() => server.close());
    if (kommo) await connectSandboxAccount(bridge, config);
    return {
      mode: kommo ? 'sandbox' : 'configured',
      url: server.url,
      config,
      bridge,
      metrics,
      ...(kommo ? { kommo } : {}),
      ...(sink ? { sink } : {}),
      ...(kommo ? { scopeId: `${SANDBOX_CHANNEL_ID}_${SANDBOX_ACCOUNT_ID}`, kommoAccountId: SANDBOX_KOMMO_ACCOUNT_ID } : {}),
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/**
 * The operator step, done for the sandbox account through the real route: Kommo's `connect` (the
 * sandbox records it) and the binding of the numeric account id that widget tokens carry.
 */
async function connectSandboxAccount(bridge: LocalBridge, config: AllFunctionsConfig): Promise<void> {
  const answer = await bridge.invoke({
    method: 'POST',
    url: '/admin/connect',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${config.ADMIN_TOKEN}` },
    body: Buffer.from(JSON.stringify({ amojo_account_id: SANDBOX_ACCOUNT_ID, kommo_account_id: SANDBOX_KOMMO_ACCOUNT_ID, title: 'Kommo Live Bridge sandbox' })),
  });
  if (answer.statusCode !== 200) throw new Error(`the sandbox account could not be connected: ${answer.statusCode} ${answer.body}`);
}
