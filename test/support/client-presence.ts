import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { documentClient, partitionKey } from '../../functions/core/adapters/dynamodb/table';
import { TEST_START } from './manual-clock';
import type { TestBridge } from './test-bridge';

/**
 * The client presence transitions a bridge announced, oldest first: its `presence changed` log lines
 * (each with the metric `PresenceTransition` and a push to the live connections watching the client),
 * as [state, ms after TEST_START].
 */
export function announcedPresence(bridge: Pick<TestBridge, 'log' | 'scopeId'>, clientId: string): [string, number][] {
  return bridge.log.lines
    .filter(
      (line) =>
        line.message === 'presence changed' &&
        line.attributes?.scopeId === bridge.scopeId &&
        line.attributes?.clientId === clientId,
    )
    .map((line) => [String(line.attributes!.state), Date.parse(String(line.attributes!.at)) - TEST_START]);
}

/** A client's presence item as stored: its open window, last sign of life and last transition (undefined when none). */
export async function storedPresence(
  bridge: Pick<TestBridge, 'dynamo' | 'tableName' | 'scopeId'>,
  clientId: string,
): Promise<Record<string, unknown> | undefined> {
  const { Item } = await documentClient(bridge.dynamo).send(
    new GetCommand({
      TableName: bridge.tableName,
      Key: { pk: partitionKey('presence', bridge.scopeId, clientId), sk: 'STATE#SEEN' },
      ConsistentRead: true,
    }),
  );
  return Item;
}
