import { DynamoConversationDirectory } from '../core/adapters/dynamodb/conversation-directory';
import { DynamoStatusPollStore } from '../core/adapters/dynamodb/status-poll-store';
import { DynamoKommoUserTypingStore } from '../core/adapters/dynamodb/typing-store';
import { lambdaSecretReader } from '../core/adapters/secrets-manager/secrets-manager-reader';
import { lambdaQueues } from '../core/lambda/queues';
import { lambdaTable } from '../core/lambda/table';
import { chatServiceClient, chatServiceStatusSource, hookForwarder } from '../core/outbound-clients';
import { lambdaEntry } from '../core/wiring';
import { createHookWorkerHandler } from './handler';

export const handler = lambdaEntry(
  createHookWorkerHandler,
  (base) => {
    const table = lambdaTable();
    return {
      ...base,
      kommoUserTyping: new DynamoKommoUserTypingStore(table),
      conversations: new DynamoConversationDirectory(table, base.clock),
      statusPolls: new DynamoStatusPollStore(table),
      chatService: chatServiceClient(base.config, base.clock),
      hookForwarder: hookForwarder(base.config),
      chatServiceStatuses: chatServiceStatusSource(base.config, base.clock),
      queues: lambdaQueues('hooks', 'events', 'timers'),
    };
  },
  lambdaSecretReader,
);
