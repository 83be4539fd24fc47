import { randomUUID } from 'node:crypto';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { StandardWebhooksChatService, StandardWebhooksStatusSource, HttpHookForwarder } from './adapters/chat-service/chat-service-client';
import { DynamoAccountBindingStore } from './adapters/dynamodb/account-binding-store';
import { DynamoConversationDirectory } from './adapters/dynamodb/conversation-directory';
import { DynamoLiveChannelStore } from './adapters/dynamodb/live-channel-store';
import { ApiGatewayLiveConnections } from './adapters/api-gateway/live-connections';
import { DynamoWidgetTokenStore } from './adapters/dynamodb/widget-token-store';
import { DynamoKommoUserPresenceStore } from './adapters/dynamodb/kommo-user-presence-store';
import { DynamoPresenceStore } from './adapters/dynamodb/presence-store';
import { DynamoReplayStore } from './adapters/dynamodb/replay-store';
import { DynamoStatusStore } from './adapters/dynamodb/status-store';
import { DynamoStatusPollStore } from './adapters/dynamodb/status-poll-store';
import { documentClient, type TableRef } from './adapters/dynamodb/table';
import { DynamoClientTypingStore, DynamoManagerTypingStore } from './adapters/dynamodb/typing-store';
import { AmojoClient } from './adapters/kommo-amojo/amojo-client';
import { KommoAccountClient } from './adapters/kommo-account/kommo-account-client';
import { ConfigError, type BridgeConfig } from './config';
import type { BridgeDeps, BridgeQueues } from './deps';
import type { Clock } from './ports/clock';
import type { KommoAccountApi } from './ports/kommo-account-api';
import type { LiveConnections } from './ports/live-channel';
import type { ChatServiceClient, ChatServiceStatusSource, KommoChatApi } from './ports/outbound';
import type { Log, Metrics } from './ports/telemetry';

export interface DepsParts {
  config: BridgeConfig;
  clock: Clock;
  log: Log;
  metrics: Metrics;
  dynamo: DynamoDBClient;
  tableName: string;
  queues: BridgeQueues;
  /** The live channel's connections: API Gateway's Management API in Lambda, the local server's sockets locally. Default: no live channel. */
  liveConnections?: LiveConnections;
  random?: () => number;
  newId?: () => string;
}

/**
 * A client for a party whose secret this function does not hold (in AWS each function reads only
 * the secrets its manifest entry names). Every call fails with a `ConfigError` naming the setting, so
 * a function that starts calling a party it was not meant to fails loudly instead of unsigned.
 */
function notHeld<Client extends object>(setting: string, purpose: string): Client {
  return new Proxy({} as Client, {
    get: () => async () => {
      throw new ConfigError(`Configuration error: ${setting} is required for ${purpose}, and this function does not hold it`);
    },
  });
}

/** Polling is on when `CHAT_SERVICE_STATUS_URL` is set; its queries are signed with the chat-service secret(s), like the events. */
function chatServiceStatusSource(config: BridgeConfig, clock: Clock): ChatServiceStatusSource {
  if (config.CHAT_SERVICE_STATUS_URL === undefined) {
    return {
      enabled: false,
      query: async () => {
        throw new ConfigError('Configuration error: CHAT_SERVICE_STATUS_URL is not set, so no status is polled');
      },
    };
  }
  if (config.CHAT_SERVICE_SECRET === undefined) {
    const unheld = notHeld<ChatServiceStatusSource>('CHAT_SERVICE_SECRET', 'status queries to the chat service');
    return { enabled: true, query: (msgid, call) => unheld.query(msgid, call) };
  }
  return new StandardWebhooksStatusSource({
    urlTemplate: config.CHAT_SERVICE_STATUS_URL,
    secrets: [config.CHAT_SERVICE_SECRET, ...(config.CHAT_SERVICE_SECRET_PREVIOUS === undefined ? [] : [config.CHAT_SERVICE_SECRET_PREVIOUS])],
    timeoutMs: config.CHAT_SERVICE_TIMEOUT_MS,
    clock,
  });
}

/**
 * The integration's credentials make the client; without all three (or without the secret, which only
 * the install function holds) every call fails with a `ConfigError` naming what is missing.
 */
function kommoAccountApi(config: BridgeConfig, clock: Clock): KommoAccountApi {
  const { KOMMO_CLIENT_ID, KOMMO_CLIENT_SECRET, KOMMO_REDIRECT_URI } = config;
  if (KOMMO_CLIENT_ID === undefined || KOMMO_CLIENT_SECRET === undefined || KOMMO_REDIRECT_URI === undefined) {
    const missing = KOMMO_CLIENT_ID === undefined ? 'KOMMO_CLIENT_ID' : KOMMO_CLIENT_SECRET === undefined ? 'KOMMO_CLIENT_SECRET' : 'KOMMO_REDIRECT_URI';
    return notHeld<KommoAccountApi>(missing, 'installs from Kommo');
  }
  return new KommoAccountClient({
    clientId: KOMMO_CLIENT_ID,
    clientSecret: KOMMO_CLIENT_SECRET,
    redirectUri: KOMMO_REDIRECT_URI,
    accountUrlTemplate: config.KOMMO_ACCOUNT_URL,
    timeoutMs: config.KOMMO_TIMEOUT_MS,
    clock,
  });
}

/** Builds the ports from their parts; the one place that knows which adapter serves which port. */
export function createDeps(parts: DepsParts): BridgeDeps {
  const table: TableRef = { doc: documentClient(parts.dynamo), tableName: parts.tableName };
  const { config, clock } = parts;
  return {
    config,
    clock,
    log: parts.log,
    metrics: parts.metrics,
    random: parts.random ?? Math.random,
    newId: parts.newId ?? (() => randomUUID().replaceAll('-', '')),
    replays: new DynamoReplayStore(table),
    clientTyping: new DynamoClientTypingStore(table),
    managerTyping: new DynamoManagerTypingStore(table),
    presence: new DynamoPresenceStore(table),
    statuses: new DynamoStatusStore(table),
    statusPolls: new DynamoStatusPollStore(table),
    accountBindings: new DynamoAccountBindingStore(table),
    widgetTokens: new DynamoWidgetTokenStore(table),
    kommoUserPresence: new DynamoKommoUserPresenceStore(table),
    conversations: new DynamoConversationDirectory(table, clock),
    live: new DynamoLiveChannelStore(table),
    liveConnections: parts.liveConnections ?? new ApiGatewayLiveConnections({}),
    queues: parts.queues,
    kommo:
      config.KOMMO_CHANNEL_SECRET === undefined || config.KOMMO_CHANNEL_ID === undefined
        ? notHeld<KommoChatApi>(config.KOMMO_CHANNEL_ID === undefined ? 'KOMMO_CHANNEL_ID' : 'KOMMO_CHANNEL_SECRET', 'calls to Kommo')
        : new AmojoClient({
            baseUrl: config.KOMMO_API_URL,
            channelId: config.KOMMO_CHANNEL_ID,
            channelSecret: config.KOMMO_CHANNEL_SECRET,
            timeoutMs: config.KOMMO_TIMEOUT_MS,
            clock,
          }),
    kommoAccounts: kommoAccountApi(config, clock),
    chatService:
      config.CHAT_SERVICE_SECRET === undefined
        ? notHeld<ChatServiceClient>('CHAT_SERVICE_SECRET', 'events to the chat service')
        : new StandardWebhooksChatService({
            url: config.CHAT_SERVICE_URL,
            // During a rotation events carry a signature with each secret, so the chat service accepts them whichever it holds.
            secrets: [config.CHAT_SERVICE_SECRET, ...(config.CHAT_SERVICE_SECRET_PREVIOUS === undefined ? [] : [config.CHAT_SERVICE_SECRET_PREVIOUS])],
            timeoutMs: config.CHAT_SERVICE_TIMEOUT_MS,
            clock,
          }),
    hookForwarder: new HttpHookForwarder({ url: config.KOMMO_HOOK_FORWARD_URL, timeoutMs: config.CHAT_SERVICE_TIMEOUT_MS }),
    chatServiceStatuses: chatServiceStatusSource(config, clock),
  };
}
