import { DynamoAccountBindingStore } from '../core/adapters/dynamodb/account-binding-store';
import { DynamoConversationDirectory } from '../core/adapters/dynamodb/conversation-directory';
import { DynamoKommoUserPresenceStore } from '../core/adapters/dynamodb/kommo-user-presence-store';
import { DynamoUserPresenceStore } from '../core/adapters/dynamodb/user-presence-store';
import { DynamoLiveChannelStore } from '../core/adapters/dynamodb/live-channel-store';
import { DynamoPresenceStore } from '../core/adapters/dynamodb/presence-store';
import { lambdaLiveConnections } from '../core/lambda/live-connections';
import { lambdaQueues } from '../core/lambda/queues';
import { lambdaTable } from '../core/lambda/table';
import { lambdaEntry } from '../core/wiring';
import { createLiveHandler } from './handler';

export const handler = lambdaEntry(createLiveHandler, (base) => {
  const table = lambdaTable();
  return {
    ...base,
    live: new DynamoLiveChannelStore(table),
    accountBindings: new DynamoAccountBindingStore(table),
    presence: new DynamoPresenceStore(table),
    kommoUserPresence: new DynamoKommoUserPresenceStore(table),
    userPresence: new DynamoUserPresenceStore(table),
    conversations: new DynamoConversationDirectory(table, base.clock),
    liveConnections: lambdaLiveConnections(),
    queues: lambdaQueues('timers', 'events'),
  };
});
