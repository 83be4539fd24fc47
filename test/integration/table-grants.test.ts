import { randomUUID } from 'node:crypto';
import { GetCommand, PutCommand, QueryCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { createBridgeTable, documentClient, partitionKey } from '../../functions/core/adapters/dynamodb/table';
import { localDynamoClient } from '../../local/dynamodb-local';
import { enforceTableGrants, refusal, runningFunction } from '../../local/table-grants';

/**
 * The local runtime refuses what each function's IAM policy refuses in AWS: the item kinds its
 * manifest entry does not grant. The e2e suites run every route through this check, so passing them
 * shows the grants are enough; these tests show the check refuses what they must not allow.
 */

const client = localDynamoClient(inject('dynamoEndpoint'));
const doc = documentClient(client);
const TableName = `grants-${randomUUID()}`;

beforeAll(async () => {
  await createBridgeTable(client, TableName, { ttl: false });
  enforceTableGrants(client);
});

afterAll(() => client.destroy());

const bindingKey = { pk: 'ACCOUNT#30000001', sk: 'BINDING' };

describe('table grants of the local runtime', () => {
  it('lets the test itself (no function running) do anything', async () => {
    // Act
    await doc.send(new PutCommand({ TableName, Item: { ...bindingKey, scopeId: 's' } }));

    // Assess
    expect((await doc.send(new GetCommand({ TableName, Key: bindingKey }))).Item?.scopeId).toBe('s');
  });

  it('lets the widget read an account binding', async () => {
    // Act
    const answer = await runningFunction.run('widget', () => doc.send(new GetCommand({ TableName, Key: bindingKey })));

    // Assess
    expect(answer.Item?.scopeId).toBe('s');
  });

  it.each([
    ['widget', () => new PutCommand({ TableName, Item: { ...bindingKey, scopeId: 'stolen' } })],
    ['chat-status', () => new GetCommand({ TableName, Key: bindingKey })],
    [
      'kommo-hook',
      () => new GetCommand({ TableName, Key: { pk: partitionKey('status', 'scope', 'm-1'), sk: 'MESSAGE' } }),
    ],
    [
      'chat-presence',
      () =>
        new QueryCommand({
          TableName,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': 'ACCOUNT#30000001' },
        }),
    ],
    [
      'chat-typing',
      () =>
        new TransactWriteCommand({
          TransactItems: [
            { Put: { TableName, Item: { pk: partitionKey('clientTyping', 'scope', 'c', 's'), sk: 'WINDOW' } } },
            { Delete: { TableName, Key: bindingKey } },
          ],
        }),
    ],
  ] as const)(
    'refuses %s a call on items its manifest entry does not grant, and the item is unchanged',
    async (name, command) => {
      // Act
      const call = runningFunction.run(name, () => doc.send(command() as GetCommand));

      // Assess
      await expect(call).rejects.toMatchObject({
        name: 'AccessDeniedException',
        message: expect.stringContaining(`${name} may not`),
      });
      expect((await doc.send(new GetCommand({ TableName, Key: bindingKey }))).Item?.scopeId).toBe('s');
    },
  );

  it.each([
    ['kommo-status-sender', 'UpdateItemCommand', { Key: { pk: { S: 'STATUS#scope#m-1' } } }, undefined],
    [
      'widget',
      'UpdateItemCommand',
      { Key: { pk: { S: 'PRESENCE#scope#c' } } },
      'widget may not write PRESENCE items (presence) with UpdateItem:',
    ],
    [
      'widget',
      'QueryCommand',
      {
        KeyConditionExpression: '#k = :v',
        ExpressionAttributeNames: { '#k': 'pk' },
        ExpressionAttributeValues: { ':v': { S: 'PRESENCE#scope#c' } },
      },
      undefined,
    ],
    [
      'timer-worker',
      'ScanCommand',
      {},
      'timer-worker may not write an item without a known kind (no partition key) with Scan:',
    ],
    [
      'hook-worker',
      'PutItemCommand',
      { Item: { pk: { S: 'SOMETHING#new' } } },
      'hook-worker may not write an item without a known kind (SOMETHING#new)',
    ],
  ] as const)('%s %s on the wire: %s', (name, commandName, input, expected) => {
    const reason = refusal(name, commandName, input);

    if (expected === undefined) expect(reason).toBeUndefined();
    else expect(reason).toContain(expected);
  });
});
