import { LiveChannelAddress } from '../core/adapters/api-gateway/live-address';
import { DynamoAccountBindingStore } from '../core/adapters/dynamodb/account-binding-store';
import { DynamoConversationDirectory } from '../core/adapters/dynamodb/conversation-directory';
import { DynamoKommoUserPresenceStore } from '../core/adapters/dynamodb/kommo-user-presence-store';
import { DynamoLiveChannelStore } from '../core/adapters/dynamodb/live-channel-store';
import { DynamoPresenceStore } from '../core/adapters/dynamodb/presence-store';
import { lambdaSecretReader } from '../core/adapters/secrets-manager/secrets-manager-reader';
import { lambdaQueues } from '../core/lambda/queues';
import { lambdaTable } from '../core/lambda/table';
import { lambdaEntry } from '../core/wiring';
import { liveChannelVariables } from '../manifest';
import { createWidgetHandler } from './handler';

export const handler = lambdaEntry(
  createWidgetHandler,
  (base) => {
    const table = lambdaTable();
    return {
      ...base,
      accountBindings: new DynamoAccountBindingStore(table),
      kommoUserPresence: new DynamoKommoUserPresenceStore(table),
      presence: new DynamoPresenceStore(table),
      conversations: new DynamoConversationDirectory(table, base.clock),
      live: new DynamoLiveChannelStore(table),
      // Hands out the live channel's address; pushes are other functions' work.
      liveConnections: new LiveChannelAddress(process.env[liveChannelVariables.address] || undefined),
      queues: lambdaQueues('timers', 'events'),
    };
  },
  lambdaSecretReader,
);
