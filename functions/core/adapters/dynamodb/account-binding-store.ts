import { GetCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import type { AccountBinding, AccountBindingStore } from '../../ports/account-binding-store';
import type { TableRef } from './table';

/**
 * Two items per binding, each holding all of it, so either side is one read: `ACCOUNT#<Kommo
 * account id>` for widget requests and `AMOJO_ACCOUNT#<amojo id>` for a disconnect by amojo id.
 * They are written and removed together in one transaction. No TTL: a binding lasts until
 * `/admin/disconnect`.
 */
const byKommo = (kommoAccountId: number) => ({ pk: `ACCOUNT#${kommoAccountId}`, sk: 'BINDING' });
const byAmojo = (amojoAccountId: string) => ({ pk: `AMOJO_ACCOUNT#${amojoAccountId}`, sk: 'BINDING' });

function bindingOf(item: Record<string, unknown> | undefined): AccountBinding | undefined {
  if (!item) return undefined;
  return {
    kommoAccountId: Number(item.kommoAccountId),
    amojoAccountId: String(item.amojoAccountId),
    scopeId: String(item.scopeId),
    title: String(item.title),
    boundAtMs: Number(item.boundAtMs),
  };
}

/** A transaction refused by one of its conditions (rather than by throttling or a conflict with another transaction). */
function isConditionRefusal(error: unknown): boolean {
  if (!(error instanceof Error) || error.name !== 'TransactionCanceledException') return false;
  const reasons = (error as { CancellationReasons?: { Code?: string }[] }).CancellationReasons ?? [];
  return reasons.some((reason) => reason.Code === 'ConditionalCheckFailed');
}

export class DynamoAccountBindingStore implements AccountBindingStore {
  constructor(private readonly table: TableRef) {}

  async byKommoAccount(kommoAccountId: number): Promise<AccountBinding | undefined> {
    return this.get(byKommo(kommoAccountId));
  }

  async byAmojoAccount(amojoAccountId: string): Promise<AccountBinding | undefined> {
    return this.get(byAmojo(amojoAccountId));
  }

  async bind(binding: AccountBinding): Promise<boolean> {
    try {
      await this.table.doc.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Put: {
                TableName: this.table.tableName,
                Item: { ...byKommo(binding.kommoAccountId), ...binding },
                ConditionExpression: 'attribute_not_exists(pk) OR amojoAccountId = :amojo',
                ExpressionAttributeValues: { ':amojo': binding.amojoAccountId },
              },
            },
            {
              Put: {
                TableName: this.table.tableName,
                Item: { ...byAmojo(binding.amojoAccountId), ...binding },
                ConditionExpression: 'attribute_not_exists(pk) OR kommoAccountId = :kommo',
                ExpressionAttributeValues: { ':kommo': binding.kommoAccountId },
              },
            },
          ],
        }),
      );
      return true;
    } catch (error) {
      if (isConditionRefusal(error)) return false;
      throw error;
    }
  }

  async unbind(binding: AccountBinding): Promise<boolean> {
    try {
      await this.table.doc.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Delete: {
                TableName: this.table.tableName,
                Key: byKommo(binding.kommoAccountId),
                ConditionExpression: 'amojoAccountId = :amojo',
                ExpressionAttributeValues: { ':amojo': binding.amojoAccountId },
              },
            },
            {
              Delete: {
                TableName: this.table.tableName,
                Key: byAmojo(binding.amojoAccountId),
                ConditionExpression: 'kommoAccountId = :kommo',
                ExpressionAttributeValues: { ':kommo': binding.kommoAccountId },
              },
            },
          ],
        }),
      );
      return true;
    } catch (error) {
      if (isConditionRefusal(error)) return false;
      throw error;
    }
  }

  private async get(key: { pk: string; sk: string }): Promise<AccountBinding | undefined> {
    // Consistent: a disconnect takes effect for the very next widget request.
    const { Item } = await this.table.doc.send(new GetCommand({ TableName: this.table.tableName, Key: key, ConsistentRead: true }));
    return bindingOf(Item);
  }
}
