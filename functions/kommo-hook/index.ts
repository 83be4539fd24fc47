import { lambdaSecretReader } from '../core/adapters/secrets-manager/secrets-manager-reader';
import { lambdaQueues } from '../core/lambda/queues';
import { lambdaEntry } from '../core/wiring';
import { createKommoHookHandler } from './handler';

// Checks Kommo's signature and queues the hook: no table, one queue.
export const handler = lambdaEntry(
  createKommoHookHandler,
  (base) => ({ ...base, queues: lambdaQueues('hooks') }),
  lambdaSecretReader,
);
