import { DynamoReplayStore } from '../core/adapters/dynamodb/replay-store';
import { DynamoClientTypingStore } from '../core/adapters/dynamodb/typing-store';
import { lambdaSecretReader } from '../core/adapters/secrets-manager/secrets-manager-reader';
import { lambdaQueues } from '../core/lambda/queues';
import { lambdaTable } from '../core/lambda/table';
import { kommoChatApi } from '../core/outbound-clients';
import { lambdaEntry } from '../core/wiring';
import { createChatTypingHandler } from './handler';

export const handler = lambdaEntry(
  createChatTypingHandler,
  (base) => {
    const table = lambdaTable();
    return {
      ...base,
      replays: new DynamoReplayStore(table),
      clientTyping: new DynamoClientTypingStore(table),
      kommoChatApi: kommoChatApi(base.config, base.clock),
      queues: lambdaQueues('timers'),
    };
  },
  lambdaSecretReader,
);
