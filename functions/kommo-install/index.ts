import { DynamoAccountBindingStore } from '../core/adapters/dynamodb/account-binding-store';
import { DynamoReplayStore } from '../core/adapters/dynamodb/replay-store';
import { DynamoInstallLimitStore } from '../core/adapters/dynamodb/install-limit-store';
import { DynamoLiveChannelStore } from '../core/adapters/dynamodb/live-channel-store';
import { lambdaLiveConnections } from '../core/lambda/live-connections';
import { lambdaSecretReader } from '../core/adapters/secrets-manager/secrets-manager-reader';
import { lambdaTable } from '../core/lambda/table';
import { kommoAccountApi, kommoChatApi } from '../core/outbound-clients';
import { lambdaEntry } from '../core/wiring';
import { createKommoInstallHandler } from './handler';

export const handler = lambdaEntry(
  createKommoInstallHandler,
  (base) => {
    const table = lambdaTable();
    return {
      ...base,
      replays: new DynamoReplayStore(table),
      installLimits: new DynamoInstallLimitStore(table),
      accountBindings: new DynamoAccountBindingStore(table),
      kommoChatApi: kommoChatApi(base.config, base.clock),
      kommoAccounts: kommoAccountApi(base.config, base.clock),
      // An uninstall closes the account's live connections.
      live: new DynamoLiveChannelStore(table),
      liveConnections: lambdaLiveConnections(),
    };
  },
  lambdaSecretReader,
);
