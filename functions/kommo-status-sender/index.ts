import { DynamoStatusStore } from '../core/adapters/dynamodb/status-store';
import { lambdaSecretReader } from '../core/adapters/secrets-manager/secrets-manager-reader';
import { lambdaQueues } from '../core/lambda/queues';
import { lambdaTable } from '../core/lambda/table';
import { kommoChatApi } from '../core/outbound-clients';
import { lambdaEntry } from '../core/wiring';
import { createKommoStatusSenderHandler } from './handler';

export const handler = lambdaEntry(
  createKommoStatusSenderHandler,
  (base) => ({
    ...base,
    statuses: new DynamoStatusStore(lambdaTable()),
    kommoChatApi: kommoChatApi(base.config, base.clock),
    queues: lambdaQueues('kommoStatus'),
  }),
  lambdaSecretReader,
);
