import { randomUUID } from 'node:crypto';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { DynamoAccountBindingStore } from '../../functions/core/adapters/dynamodb/account-binding-store';
import { createBridgeTable, documentClient, type TableRef } from '../../functions/core/adapters/dynamodb/table';
import { localDynamoClient } from '../../local/dynamodb-local';
import { TEST_START } from '../support/manual-clock';

let dynamo: DynamoDBClient;
let table: TableRef;

/** Every test works on its own accounts, so tests share one table without seeing each other. */
let nextKommoAccountId = 41_000_000;
const someAccounts = () => ({ kommoAccountId: (nextKommoAccountId += 1), amojoAccountId: randomUUID() });

beforeAll(async () => {
  dynamo = localDynamoClient(inject('dynamoEndpoint'));
  table = { doc: documentClient(dynamo), tableName: `account-bindings-${randomUUID()}` };
  // No TTL deletion: DynamoDB Local reaps by the wall clock, and these tests set their own times.
  await createBridgeTable(dynamo, table.tableName, { ttl: false });
});

afterAll(() => {
  dynamo.destroy();
});

/** What DynamoDB answers a transaction that met another one writing the same items. */
function transactionConflict(items: number): Error {
  return Object.assign(
    new Error(
      'Transaction cancelled, please refer cancellation reasons for specific reasons [None, TransactionConflict]',
    ),
    {
      name: 'TransactionCanceledException',
      CancellationReasons: Array.from({ length: items }, (_, index) => ({
        Code: index === 1 ? 'TransactionConflict' : 'None',
      })),
    },
  );
}

/** The store on the real table, its first `conflicts` transactions cancelled as DynamoDB cancels conflicting ones. */
function storeWithConflicts(conflicts: number) {
  let transactions = 0;
  const doc = new Proxy(table.doc, {
    get(target, property, receiver) {
      if (property !== 'send') return Reflect.get(target, property, receiver);
      return async (command: unknown) => {
        if (command instanceof TransactWriteCommand) {
          transactions += 1;
          if (transactions <= conflicts) throw transactionConflict(command.input.TransactItems?.length ?? 0);
        }
        return (target.send as (command: unknown) => Promise<unknown>)(command);
      };
    },
  });
  return {
    store: new DynamoAccountBindingStore({ doc, tableName: table.tableName }),
    transactions: () => transactions,
  };
}

describe('account claims', () => {
  it('a claim cancelled by a conflicting transaction is tried again, and made', async () => {
    // Prepare
    const accounts = someAccounts();
    const { store, transactions } = storeWithConflicts(2);

    // Act
    const refusal = await store.claimToConnect(accounts, { claimId: 'claim-1', nowMs: TEST_START });
    const second = await new DynamoAccountBindingStore(table).claimToConnect(accounts, {
      claimId: 'claim-2',
      nowMs: TEST_START,
    });

    // Assess
    expect(refusal).toBeUndefined();
    expect(transactions()).toBe(3);
    expect(second).toEqual({ reason: 'change_in_progress' });
  });

  it('a conflict that does not clear is an error, not a refusal', async () => {
    const { store, transactions } = storeWithConflicts(Number.POSITIVE_INFINITY);

    const outcome = await store
      .claimToConnect(someAccounts(), { claimId: 'claim-1', nowMs: TEST_START })
      .catch((error: Error) => error);

    expect(outcome).toMatchObject({ name: 'TransactionCanceledException' });
    expect(transactions()).toBe(5);
  });

  it('names the account a refused side is bound to', async () => {
    // Prepare
    const store = new DynamoAccountBindingStore(table);
    const bound = someAccounts();
    await store.claimToConnect(bound, { claimId: 'claim-1', nowMs: TEST_START });
    await store.bindClaimed(
      { ...bound, scopeId: `channel_${bound.amojoAccountId}`, title: 't', boundAtMs: TEST_START },
      'claim-1',
    );

    // Act
    const sameKommo = await store.claimToConnect(
      { ...someAccounts(), kommoAccountId: bound.kommoAccountId },
      { claimId: 'claim-2', nowMs: TEST_START },
    );
    const sameAmojo = await store.claimToConnect(
      { ...someAccounts(), amojoAccountId: bound.amojoAccountId },
      { claimId: 'claim-3', nowMs: TEST_START },
    );

    // Assess
    expect(sameKommo).toEqual({ reason: 'kommo_account_bound_elsewhere', boundAmojoAccountId: bound.amojoAccountId });
    expect(sameAmojo).toEqual({ reason: 'amojo_account_bound_elsewhere', boundKommoAccountId: bound.kommoAccountId });
  });
});
