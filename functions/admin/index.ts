import { DynamoAccountBindingStore } from '../core/adapters/dynamodb/account-binding-store';
import { lambdaSecretReader } from '../core/adapters/secrets-manager/secrets-manager-reader';
import { lambdaTable } from '../core/lambda/table';
import { kommoChatApi } from '../core/outbound-clients';
import { lambdaEntry } from '../core/wiring';
import { createAdminHandler } from './handler';

export const handler = lambdaEntry(
  createAdminHandler,
  (base) => ({
    ...base,
    accountBindings: new DynamoAccountBindingStore(lambdaTable()),
    kommo: kommoChatApi(base.config, base.clock),
  }),
  lambdaSecretReader,
);
