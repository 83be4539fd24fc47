import { randomUUID } from 'node:crypto';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { StandardWebhooksChatService, HttpHookForwarder } from './adapters/chat-service/chat-service-client';
import { DynamoAccountBindingStore } from './adapters/dynamodb/account-binding-store';
import { DynamoWidgetTokenStore } from './adapters/dynamodb/widget-token-store';
import { DynamoKommoUserPresenceStore } from './adapters/dynamodb/kommo-user-presence-store';
import { DynamoPresenceStore } from './adapters/dynamodb/presence-store';
import { DynamoReplayStore } from './adapters/dynamodb/replay-store';
import { DynamoStatusStore } from './adapters/dynamodb/status-store';
import { documentClient, type TableRef } from './adapters/dynamodb/table';
import { DynamoClientTypingStore, DynamoManagerTypingStore } from './adapters/dynamodb/typing-store';
import { AmojoClient } from './adapters/kommo-amojo/amojo-client';
import { ConfigError, type BridgeConfig } from './config';
import type { BridgeDeps, BridgeQueues } from './deps';
import type { Clock } from './ports/clock';
import type { ChatServiceClient, KommoChatApi } from './ports/outbound';
import type { Log, Metrics } from './ports/telemetry';

export interface DepsParts {
  config: BridgeConfig;
  clock: Clock;
  log: Log;
  metrics: Metrics;
  dynamo: DynamoDBClient;
  tableName: string;
  queues: BridgeQueues;
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
    accountBindings: new DynamoAccountBindingStore(table),
    widgetTokens: new DynamoWidgetTokenStore(table),
    kommoUserPresence: new DynamoKommoUserPresenceStore(table),
    queues: parts.queues,
    kommo:
      config.KOMMO_CHANNEL_SECRET === undefined
        ? notHeld<KommoChatApi>('KOMMO_CHANNEL_SECRET', 'calls to Kommo')
        : new AmojoClient({
            baseUrl: config.KOMMO_API_URL,
            channelId: config.KOMMO_CHANNEL_ID,
            channelSecret: config.KOMMO_CHANNEL_SECRET,
            timeoutMs: config.KOMMO_TIMEOUT_MS,
            clock,
          }),
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
  };
}
