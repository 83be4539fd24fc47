import { DynamoConversationDirectory } from '../core/adapters/dynamodb/conversation-directory';
import { DynamoReplayStore } from '../core/adapters/dynamodb/replay-store';
import { lambdaSecretReader } from '../core/adapters/secrets-manager/secrets-manager-reader';
import { lambdaTable } from '../core/lambda/table';
import { lambdaEntry } from '../core/wiring';
import { createChatConversationsHandler } from './handler';

export const handler = lambdaEntry(
  createChatConversationsHandler,
  (base) => {
    const table = lambdaTable();
    return {
      ...base,
      replays: new DynamoReplayStore(table),
      conversations: new DynamoConversationDirectory(table, base.clock),
    };
  },
  lambdaSecretReader,
);
