import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { randomBytes, randomUUID } from 'node:crypto';
import { createBridgeTable } from '../functions/core/adapters/dynamodb/table';
import { CountingMetrics, RecordingLog, type LogLevel } from '../functions/core/adapters/telemetry/in-memory';
import { loadConfig, type AllFunctionsConfig } from '../functions/core/config';
import { signKommoDisableHook } from '../functions/core/domain/kommo-disable-hook';
import { systemClock, type Clock } from '../functions/core/ports/clock';
import { startDynamoDbLocal, type RunningDynamoDb } from './dynamodb-local';
import { serveBridge, type RunningHttpServer } from './http-server';
import { signKommoWidgetToken } from './kommo-widget-token';
import { LocalBridge } from './local-bridge';
import { signedChatRequest } from './requests';
import { ChatServiceSink } from './sandbox/chat-service-sink';
import { KommoAccountStandIn } from './sandbox/kommo-account';
import { DEFAULT_TYPING_DURATION_MS, KommoSandbox } from './sandbox/kommo-sandbox';
import { MessengerPage } from './sandbox/messenger-page';

/** The channel id the sandbox uses; any value works, this one reads as what it is. */
export const SANDBOX_CHANNEL_ID = '5a4db0c5-0000-4000-8000-00000000c4a7';
export const SANDBOX_ACCOUNT_ID = '52e591f7-c98f-4255-8495-827210138c81';
/** The sandbox account's numeric Kommo id (what widget tokens carry) and its subdomain. */
export const SANDBOX_KOMMO_ACCOUNT_ID = 30_000_001;
export const SANDBOX_KOMMO_SUBDOMAIN = 'sandbox';
/** Where the sandbox account's pages live, and so the `Origin` of its widget's requests. */
export const SANDBOX_KOMMO_ORIGIN = `https://${SANDBOX_KOMMO_SUBDOMAIN}.kommo.com`;
/**
 * The sandbox integration's Redirect URI, as registered in the Kommo sandbox: installs send it with
 * their code, widget tokens carry its origin. Kommo only sends the admin's browser there, so it need
 * not be this server's own address.
 */
export const SANDBOX_REDIRECT_URI = 'https://bridge.example.com/kommo/install';
/** The sandbox integration's id (KOMMO_CLIENT_ID, the disable hook's client_uuid). */
export const SANDBOX_CLIENT_ID = '0b7a3c1e-5a4d-4000-8000-00000000c4a7';
/**
 * The sandbox Kommo account's page (`/sandbox/kommo`): one Kommo user, a lead whose contact has a
 * chat with client u-7, registered as conversation c-1 (the ids `npm run send` uses by default; Kommo's
 * chat id is the one `npm run send -- kommo-typing c-1` sends).
 */
export const SANDBOX_KOMMO_USER = {
  id: 7001,
  amojoId: 'b0bc49f0-ec21-4463-965f-1fe1d4cd5b89',
  name: 'Sandbox Kommo user',
};
export const SANDBOX_CHAT = { kommoConversationId: 'kommo-c-1', conversationId: 'c-1', clientId: 'u-7' };
export const SANDBOX_LEAD_ID = 1001;
const SANDBOX_CONTACT_ID = 2001;

export interface LocalRuntimeOptions {
  /** Settings as environment variables. Without `KOMMO_CHANNEL_ID` the runtime starts in sandbox mode. */
  env: Record<string, string | undefined>;
  port: number;
  clock?: Clock;
  print?: (line: string) => void;
  logLevel?: LogLevel;
  /** A DynamoDB Local already running (tests share one); by default the runtime starts its own. */
  dynamo?: DynamoDBClient;
  /** Consumer invocations per queue at once, as an event source mapping's pollers (`LocalBridgeOptions`). */
  pollersPerQueue?: number;
  /** Sandbox mode: `false` leaves CHAT_SERVICE_STATUS_URL unset, so outgoing messages are not polled (the bench's profile). */
  statusPolls?: boolean;
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
  /** Sandbox mode: the Kommo account's stand-in pages running the widget, and their URL. */
  kommoAccount?: KommoAccountStandIn;
  sandboxPageUrl?: string;
  /** Sandbox mode: the messenger page (the client's side), with the Kommo card beside it. */
  messengerPageUrl?: string;
  /**
   * Sandbox mode: Kommo's redirect after an admin of the sandbox account allowed the integration (a
   * fresh code each time, single use, valid 20 minutes): opening it connects the account.
   */
  installUrl?: () => string;
  /** Sandbox mode: Kommo's disable hook for the sandbox account, signed as Kommo signs it. */
  uninstallUrl?: string;
  stop(): Promise<void>;
}

/** True when the environment configures a real Kommo channel (anything else starts the sandbox). */
export function isConfigured(env: Record<string, string | undefined>): boolean {
  return Boolean(env.KOMMO_CHANNEL_ID);
}

/** How a printed line is made: the runtime clock's time, the source in brackets, the text. */
export function printedLine(atMs: number, source: string, text: string): string {
  return `${new Date(atMs).toISOString()} [${source}] ${text}`;
}

/** The source of a line `printedLine` made (`kommo sandbox`, `chat service`, `bridge`, …), or undefined for any other line. */
export function sourceOfPrintedLine(line: string): string | undefined {
  return /^\S+ \[([^\]]+)\] /.exec(line)?.[1];
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
  // Log lines carry the runtime clock's time, so a session's lines read as a timeline.
  const printFrom = (source: string) => (line: string) => print(printedLine(clock.now(), source, line));
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
      const integrationSecret = randomBytes(32).toString('base64url');
      kommo = new KommoSandbox({
        channelId: SANDBOX_CHANNEL_ID,
        channelSecret,
        clock,
        log: printFrom('kommo sandbox'),
        // The sandbox account's own host, where installs exchange their code.
        integration: {
          clientId: SANDBOX_CLIENT_ID,
          clientSecret: integrationSecret,
          redirectUri: SANDBOX_REDIRECT_URI,
        },
        accounts: [
          {
            id: SANDBOX_KOMMO_ACCOUNT_ID,
            subdomain: SANDBOX_KOMMO_SUBDOMAIN,
            amojoId: SANDBOX_ACCOUNT_ID,
            name: 'Sandbox account',
          },
        ],
      });
      sink = new ChatServiceSink({ secret: chatServiceSecret, clock, log: printFrom('chat service') });
      const [kommoUrl, sinkUrl] = await Promise.all([kommo.start(), sink.start()]);
      cleanups.push(
        () => kommo!.close(),
        () => sink!.close(),
      );
      env = {
        ...env,
        KOMMO_CHANNEL_ID: SANDBOX_CHANNEL_ID,
        KOMMO_CHANNEL_SECRET: channelSecret,
        KOMMO_API_URL: kommoUrl,
        CHAT_SERVICE_URL: sinkUrl,
        CHAT_SERVICE_SECRET: chatServiceSecret,
        // The sink keeps message statuses too (`npm run send -- chat-status`), so the bridge polls them as it would the chat service's.
        ...(options.statusPolls === false ? {} : { CHAT_SERVICE_STATUS_URL: sink.statusUrlTemplate }),
        KOMMO_CLIENT_SECRET: integrationSecret,
        KOMMO_REDIRECT_URI: SANDBOX_REDIRECT_URI,
        KOMMO_CLIENT_ID: SANDBOX_CLIENT_ID,
        KOMMO_ACCOUNT_URL: kommo.accountUrlTemplate,
        ADMIN_TOKEN: randomBytes(32).toString('base64url'),
      };
    }
    const config = loadConfig(env);
    let dynamoClient = options.dynamo;
    if (!dynamoClient) {
      const dynamo: RunningDynamoDb = await startDynamoDbLocal();
      cleanups.push(() => dynamo.stop());
      dynamoClient = dynamo.client;
    }
    const tableName = `kommo-live-bridge-${randomUUID().slice(0, 8)}`;
    await createBridgeTable(dynamoClient, tableName);
    const metrics = new CountingMetrics();
    const log = new RecordingLog({ level: options.logLevel ?? 'info', print: printFrom('bridge') });
    const bridge = new LocalBridge({
      config,
      clock,
      dynamo: dynamoClient,
      tableName,
      log,
      metrics,
      scheduling: 'realtime',
      ...(options.pollersPerQueue === undefined ? {} : { pollersPerQueue: options.pollersPerQueue }),
    });
    cleanups.push(() => bridge.stop());
    // The sandbox's Kommo account page is served by this local server only, under a prefix of its own.
    let kommoAccount: KommoAccountStandIn | undefined;
    // The client's side beside it: a messenger page built on the chat-service client (local/sandbox/messenger-page.ts).
    let messenger: MessengerPage | undefined;
    const localPages = kommo
      ? {
          prefixes: [...KommoAccountStandIn.prefixes, ...MessengerPage.prefixes],
          handle: async (request: { method: string; url: string; body: Buffer }) =>
            (await messenger?.handle(request)) ?? kommoAccount?.handle(request),
        }
      : undefined;
    const server: RunningHttpServer = await serveBridge(bridge, {
      port: options.port,
      onAnswer: printFrom('request'),
      ...(localPages ? { localPages } : {}),
    });
    cleanups.push(() => server.close());
    if (kommo && sink) {
      await connectSandboxAccount(bridge, config);
      await registerSandboxChat(bridge, config, clock);
      kommoAccount = sandboxKommoAccount(config, clock, server.url, kommo, sink);
      cleanups.push(async () => kommoAccount?.close());
      messenger = new MessengerPage({
        bridgeUrl: server.url,
        scopeId: `${SANDBOX_CHANNEL_ID}_${SANDBOX_ACCOUNT_ID}`,
        chatServiceSecret: config.CHAT_SERVICE_SECRET,
        chat: SANDBOX_CHAT,
        sink,
        nowMs: () => clock.now(),
        kommoCardPath: kommoAccount.cardPath('leads', SANDBOX_LEAD_ID),
      });
    }
    return {
      mode: kommo ? 'sandbox' : 'configured',
      url: server.url,
      config,
      bridge,
      metrics,
      ...(kommo ? { kommo } : {}),
      ...(sink ? { sink } : {}),
      ...(kommo
        ? { scopeId: `${SANDBOX_CHANNEL_ID}_${SANDBOX_ACCOUNT_ID}`, kommoAccountId: SANDBOX_KOMMO_ACCOUNT_ID }
        : {}),
      ...(kommoAccount
        ? { kommoAccount, sandboxPageUrl: `${server.url}${kommoAccount.cardPath('leads', SANDBOX_LEAD_ID)}` }
        : {}),
      ...(messenger ? { messengerPageUrl: `${server.url}${MessengerPage.path}?beside` } : {}),
      ...(kommo ? sandboxInstallUrls(server.url, config, kommo) : {}),
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
/**
 * A widget token as Kommo mints it for the sandbox account (its Kommo user unless another is named),
 * signed with the runtime's integration secret: for the stand-in pages, the printed requests, the
 * bench and tests.
 */
export function sandboxWidgetToken(
  config: Pick<AllFunctionsConfig, 'KOMMO_CLIENT_SECRET' | 'KOMMO_REDIRECT_URI'>,
  options: { nowMs: number; kommoUserId?: number; ttlSeconds?: number },
): Promise<string> {
  if (!config.KOMMO_CLIENT_SECRET || !config.KOMMO_REDIRECT_URI)
    throw new Error('Sandbox widget tokens need KOMMO_CLIENT_SECRET and KOMMO_REDIRECT_URI (set in sandbox mode)');
  return signKommoWidgetToken({
    clientSecret: config.KOMMO_CLIENT_SECRET,
    redirectUri: config.KOMMO_REDIRECT_URI,
    kommoAccountId: SANDBOX_KOMMO_ACCOUNT_ID,
    kommoUserId: options.kommoUserId ?? SANDBOX_KOMMO_USER.id,
    subdomain: SANDBOX_KOMMO_SUBDOMAIN,
    nowMs: options.nowMs,
    ...(options.ttlSeconds === undefined ? {} : { ttlSeconds: options.ttlSeconds }),
  });
}

async function connectSandboxAccount(bridge: LocalBridge, config: AllFunctionsConfig): Promise<void> {
  const answer = await bridge.invoke({
    method: 'POST',
    url: '/admin/connect',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${config.ADMIN_TOKEN}` },
    body: Buffer.from(
      JSON.stringify({
        amojo_account_id: SANDBOX_ACCOUNT_ID,
        kommo_account_id: SANDBOX_KOMMO_ACCOUNT_ID,
        title: 'Kommo Live Bridge sandbox',
      }),
    ),
  });
  if (answer.statusCode !== 200)
    throw new Error(`the sandbox account could not be connected: ${answer.statusCode} ${answer.body}`);
}

/**
 * What Kommo sends for the sandbox account: the redirect after an install (the account's referer, a
 * code the Kommo sandbox issues, platform 2 = kommo.com) and the signed disable hook.
 */
function sandboxInstallUrls(
  bridgeUrl: string,
  config: AllFunctionsConfig,
  kommo: KommoSandbox,
): Pick<LocalRuntime, 'installUrl' | 'uninstallUrl'> {
  const accountId = String(SANDBOX_KOMMO_ACCOUNT_ID);
  const signature = signKommoDisableHook(SANDBOX_CLIENT_ID, accountId, config.KOMMO_CLIENT_SECRET!);
  return {
    installUrl: () =>
      `${bridgeUrl}/kommo/install?${new URLSearchParams({ code: kommo.issueAuthorizationCode(SANDBOX_KOMMO_SUBDOMAIN), referer: `${SANDBOX_KOMMO_SUBDOMAIN}.kommo.com`, platform: '2' })}`,
    uninstallUrl: `${bridgeUrl}/kommo/uninstall?${new URLSearchParams({ account_id: accountId, client_uuid: SANDBOX_CLIENT_ID, signature })}`,
  };
}

/** The chat service's part for the sandbox chat: it registers which Kommo chat its conversation c-1 is. */
async function registerSandboxChat(bridge: LocalBridge, config: AllFunctionsConfig, clock: Clock): Promise<void> {
  const body = JSON.stringify({
    kommo_conversation_id: SANDBOX_CHAT.kommoConversationId,
    client_id: SANDBOX_CHAT.clientId,
  });
  const answer = await bridge.invoke({
    method: 'PUT',
    url: `/chat/${SANDBOX_CHANNEL_ID}_${SANDBOX_ACCOUNT_ID}/conversations/${SANDBOX_CHAT.conversationId}`,
    headers: signedChatRequest(config.CHAT_SERVICE_SECRET, body, clock.now()),
    body: Buffer.from(body),
  });
  if (answer.statusCode !== 200)
    throw new Error(`the sandbox chat could not be registered: ${answer.statusCode} ${answer.body}`);
}

/**
 * The sandbox account's pages with the real widget: its Bridge URL is this server (same origin), its
 * one-time tokens are minted here with the dev integration secret, and the page also shows Kommo's
 * typing indicator (the Kommo sandbox's typing calls) and the events the chat-service sink received.
 */
function sandboxKommoAccount(
  config: AllFunctionsConfig,
  clock: Clock,
  bridgeUrl: string,
  kommo: KommoSandbox,
  sink: ChatServiceSink,
): KommoAccountStandIn {
  return new KommoAccountStandIn({
    account: { id: SANDBOX_KOMMO_ACCOUNT_ID, subdomain: SANDBOX_KOMMO_SUBDOMAIN, amojoId: SANDBOX_ACCOUNT_ID },
    user: SANDBOX_KOMMO_USER,
    leads: [
      {
        id: SANDBOX_LEAD_ID,
        name: `Order #${SANDBOX_LEAD_ID} (client ${SANDBOX_CHAT.clientId})`,
        contactIds: [SANDBOX_CONTACT_ID],
      },
    ],
    contacts: [{ id: SANDBOX_CONTACT_ID, name: `Client ${SANDBOX_CHAT.clientId}` }],
    chats: [
      {
        chatId: SANDBOX_CHAT.kommoConversationId,
        contactId: SANDBOX_CONTACT_ID,
        clientConversationId: SANDBOX_CHAT.conversationId,
      },
    ],
    settings: { bridge_url: bridgeUrl },
    mintToken: () => sandboxWidgetToken(config, { nowMs: clock.now() }),
    nowMs: () => clock.now(),
    observe: {
      typing: () =>
        kommo.typingCalls().map((call) => ({
          conversationId: call.body.conversation_id,
          untilMs: call.at + (call.body.duration_ms ?? DEFAULT_TYPING_DURATION_MS),
        })),
      chatServiceEvents: () =>
        sink.events.map((event) => ({ type: event.type, data: event.data as Record<string, unknown> })),
    },
  });
}
