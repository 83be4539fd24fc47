import { DynamoLiveChannelStore } from '../core/adapters/dynamodb/live-channel-store';
import { DynamoPresenceStore } from '../core/adapters/dynamodb/presence-store';
import { DynamoReplayStore } from '../core/adapters/dynamodb/replay-store';
import { lambdaSecretReader } from '../core/adapters/secrets-manager/secrets-manager-reader';
import { lambdaLiveConnections } from '../core/lambda/live-connections';
import { lambdaQueues } from '../core/lambda/queues';
import { lambdaTable } from '../core/lambda/table';
import { lambdaEntry } from '../core/wiring';
import { createChatPresenceHandler } from './handler';

export const handler = lambdaEntry(
  createChatPresenceHandler,
  (base) => {
    const table = lambdaTable();
    return {
      ...base,
      replays: new DynamoReplayStore(table),
      presence: new DynamoPresenceStore(table),
      live: new DynamoLiveChannelStore(table),
      liveConnections: lambdaLiveConnections(),
      queues: lambdaQueues('timers'),
    };
  },
  lambdaSecretReader,
);
