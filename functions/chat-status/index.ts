import { DynamoReplayStore } from '../core/adapters/dynamodb/replay-store';
import { DynamoStatusStore } from '../core/adapters/dynamodb/status-store';
import { lambdaSecretReader } from '../core/adapters/secrets-manager/secrets-manager-reader';
import { lambdaQueues } from '../core/lambda/queues';
import { lambdaTable } from '../core/lambda/table';
import { kommoChatApi } from '../core/outbound-clients';
import { lambdaEntry } from '../core/wiring';
import { createChatStatusHandler } from './handler';

export const handler = lambdaEntry(
  createChatStatusHandler,
  (base) => {
    const table = lambdaTable();
    return {
      ...base,
      replays: new DynamoReplayStore(table),
      statuses: new DynamoStatusStore(table),
      kommoChatApi: kommoChatApi(base.config, base.clock),
      queues: lambdaQueues('kommoStatus'),
    };
  },
  lambdaSecretReader,
);
