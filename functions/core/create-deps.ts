import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoAccountBindingStore } from './adapters/dynamodb/account-binding-store';
import { DynamoConversationDirectory } from './adapters/dynamodb/conversation-directory';
import { DynamoLiveChannelStore } from './adapters/dynamodb/live-channel-store';
import { ApiGatewayLiveConnections } from './adapters/api-gateway/live-connections';
import { DynamoUserPresenceStore } from './adapters/dynamodb/user-presence-store';
import { DynamoInstallLimitStore } from './adapters/dynamodb/install-limit-store';
import { DynamoKommoUserPresenceStore } from './adapters/dynamodb/kommo-user-presence-store';
import { DynamoPresenceStore } from './adapters/dynamodb/presence-store';
import { DynamoReplayStore } from './adapters/dynamodb/replay-store';
import { DynamoStatusStore } from './adapters/dynamodb/status-store';
import { DynamoStatusPollStore } from './adapters/dynamodb/status-poll-store';
import { documentClient, type TableRef } from './adapters/dynamodb/table';
import { DynamoClientTypingStore, DynamoKommoUserTypingStore } from './adapters/dynamodb/typing-store';
import type { BridgeConfig } from './config';
import type { BridgeDeps, BridgeQueues } from './deps';
import { newEventId } from './ids';
import {
  chatServiceClient,
  chatServiceStatusSource,
  hookForwarder,
  kommoAccountApi,
  kommoChatApi,
} from './outbound-clients';
import type { Clock } from './ports/clock';
import type { LiveConnections } from './ports/live-channel';
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
 * Builds every port from its parts, for the local runtime and the tests, which run all functions in
 * one process. Lambda functions build only what their handler needs (`functions/<name>/index.ts`).
 */
export function createDeps(parts: DepsParts): BridgeDeps {
  const table: TableRef = { doc: documentClient(parts.dynamo), tableName: parts.tableName };
  const { config, clock } = parts;
  return {
    config,
    clock,
    log: parts.log,
    metrics: parts.metrics,
    random: parts.random ?? Math.random,
    newId: parts.newId ?? newEventId,
    replays: new DynamoReplayStore(table),
    clientTyping: new DynamoClientTypingStore(table),
    kommoUserTyping: new DynamoKommoUserTypingStore(table),
    presence: new DynamoPresenceStore(table),
    statuses: new DynamoStatusStore(table),
    statusPolls: new DynamoStatusPollStore(table),
    accountBindings: new DynamoAccountBindingStore(table),
    installLimits: new DynamoInstallLimitStore(table),
    kommoUserPresence: new DynamoKommoUserPresenceStore(table),
    userPresence: new DynamoUserPresenceStore(table),
    conversations: new DynamoConversationDirectory(table, clock),
    live: new DynamoLiveChannelStore(table),
    liveConnections: parts.liveConnections ?? new ApiGatewayLiveConnections({}),
    queues: parts.queues,
    kommoChatApi: kommoChatApi(config, clock),
    kommoAccounts: kommoAccountApi(config, clock),
    chatService: chatServiceClient(config, clock),
    hookForwarder: hookForwarder(config),
    chatServiceStatuses: chatServiceStatusSource(config, clock),
  };
}
