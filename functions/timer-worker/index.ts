import { DynamoKommoUserPresenceStore } from '../core/adapters/dynamodb/kommo-user-presence-store';
import { DynamoUserPresenceStore } from '../core/adapters/dynamodb/user-presence-store';
import { DynamoLiveChannelStore } from '../core/adapters/dynamodb/live-channel-store';
import { DynamoPresenceStore } from '../core/adapters/dynamodb/presence-store';
import { DynamoStatusPollStore } from '../core/adapters/dynamodb/status-poll-store';
import { DynamoStatusStore } from '../core/adapters/dynamodb/status-store';
import { DynamoClientTypingStore, DynamoKommoUserTypingStore } from '../core/adapters/dynamodb/typing-store';
import { lambdaSecretReader } from '../core/adapters/secrets-manager/secrets-manager-reader';
import { lambdaLiveConnections } from '../core/lambda/live-connections';
import { lambdaQueues } from '../core/lambda/queues';
import { lambdaTable } from '../core/lambda/table';
import { chatServiceClient, chatServiceStatusSource, kommoChatApi } from '../core/outbound-clients';
import { lambdaEntry } from '../core/wiring';
import { createTimerWorkerHandler } from './handler';

export const handler = lambdaEntry(
  createTimerWorkerHandler,
  (base) => {
    const table = lambdaTable();
    return {
      ...base,
      clientTyping: new DynamoClientTypingStore(table),
      kommoUserTyping: new DynamoKommoUserTypingStore(table),
      presence: new DynamoPresenceStore(table),
      kommoUserPresence: new DynamoKommoUserPresenceStore(table),
      userPresence: new DynamoUserPresenceStore(table),
      statusPolls: new DynamoStatusPollStore(table),
      statuses: new DynamoStatusStore(table),
      live: new DynamoLiveChannelStore(table),
      liveConnections: lambdaLiveConnections(),
      kommoChatApi: kommoChatApi(base.config, base.clock),
      chatService: chatServiceClient(base.config, base.clock),
      chatServiceStatuses: chatServiceStatusSource(base.config, base.clock),
      queues: lambdaQueues('timers', 'events', 'kommoStatus'),
    };
  },
  lambdaSecretReader,
);
