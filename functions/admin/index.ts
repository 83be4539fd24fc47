import { DynamoAccountBindingStore } from '../core/adapters/dynamodb/account-binding-store';
import { DynamoLiveChannelStore } from '../core/adapters/dynamodb/live-channel-store';
import { lambdaLiveConnections } from '../core/lambda/live-connections';
import { lambdaSecretReader } from '../core/adapters/secrets-manager/secrets-manager-reader';
import { lambdaTable } from '../core/lambda/table';
import { kommoChatApi } from '../core/outbound-clients';
import { lambdaEntry } from '../core/wiring';
import { createAdminHandler } from './handler';

export const handler = lambdaEntry(
  createAdminHandler,
  (base) => {
    const table = lambdaTable();
    return {
      ...base,
      accountBindings: new DynamoAccountBindingStore(table),
      kommoChatApi: kommoChatApi(base.config, base.clock),
      // A disconnect closes the account's live connections.
      live: new DynamoLiveChannelStore(table),
      liveConnections: lambdaLiveConnections(),
    };
  },
  lambdaSecretReader,
);
