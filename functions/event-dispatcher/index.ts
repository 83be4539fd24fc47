import { lambdaSecretReader } from '../core/adapters/secrets-manager/secrets-manager-reader';
import { lambdaQueues } from '../core/lambda/queues';
import { chatServiceClient } from '../core/outbound-clients';
import { lambdaEntry } from '../core/wiring';
import { createEventDispatcherHandler } from './handler';

// Signs and delivers events to the chat service: no table.
export const handler = lambdaEntry(
  createEventDispatcherHandler,
  (base) => ({
    ...base,
    chatService: chatServiceClient(base.config, base.clock),
    queues: lambdaQueues('events'),
  }),
  lambdaSecretReader,
);
