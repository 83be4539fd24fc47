import { GetCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import type {
  AccountBinding,
  AccountBindingStore,
  AccountChangeClaim,
  AccountClaimRefusal,
  AccountKeys,
} from '../../ports/account-binding-store';
import { epochSeconds, partitionKey, type TableRef } from './table';

/**
 * Two items per binding, each holding all of it, so either side is one read: `ACCOUNT#<Kommo
 * account id>` for widget requests and `AMOJO_ACCOUNT#<amojo id>` for a disconnect by amojo id.
 * They are written and removed together in one transaction. No TTL: a binding lasts until
 * `/admin/disconnect`.
 *
 * Next to each, sort key `CLAIM`: the connect or disconnect in progress on that account. A claim
 * carries `expiresAt` and counts only until then, so a change that died half-way blocks the account
 * for at most ACCOUNT_CLAIM_SECONDS; TTL removes it later.
 */
const BINDING = 'BINDING';
const CLAIM = 'CLAIM';
const kommoKey = (kommoAccountId: number, sk: string) => ({
  pk: partitionKey('accountByKommo', String(kommoAccountId)),
  sk,
});
const amojoKey = (amojoAccountId: string, sk: string) => ({ pk: partitionKey('accountByAmojo', amojoAccountId), sk });

/**
 * Longer than any request can hold a claim (HTTP functions stop after 10 s, API Gateway after 30 s),
 * so a live connect never loses its claim; short enough that a crashed one blocks a retry for a minute.
 */
export const ACCOUNT_CLAIM_SECONDS = 60;

/** A transaction cancelled because another transaction was writing the same items is tried again this often. */
const CONFLICT_ATTEMPTS = 5;
const CONFLICT_BACKOFF_MS = 25;

type TransactItem = NonNullable<ConstructorParameters<typeof TransactWriteCommand>[0]['TransactItems']>[number];

/** Why each item of a cancelled transaction refused, in the transaction's order (`None` for those that did not). */
interface Cancellation {
  codes: string[];
  /** Each item as it was when its condition failed (asked with ReturnValuesOnConditionCheckFailure). */
  items: (Record<string, unknown> | undefined)[];
}

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

/** An attribute of an item a cancelled transaction returned: DynamoDB's typed form (`{S}`, `{N}`). */
function attribute(item: Record<string, unknown> | undefined, name: string): string | undefined {
  const value = item?.[name] as { S?: string; N?: string } | string | number | undefined;
  if (value === undefined) return undefined;
  if (typeof value === 'object') return value.S ?? value.N;
  return String(value);
}

function cancellationOf(error: unknown): Cancellation | undefined {
  if (!(error instanceof Error) || error.name !== 'TransactionCanceledException') return undefined;
  const reasons =
    (error as { CancellationReasons?: { Code?: string; Item?: Record<string, unknown> }[] }).CancellationReasons ?? [];
  return { codes: reasons.map((reason) => reason.Code ?? 'None'), items: reasons.map((reason) => reason.Item) };
}

export class DynamoAccountBindingStore implements AccountBindingStore {
  constructor(private readonly table: TableRef) {}

  async byKommoAccount(kommoAccountId: number): Promise<AccountBinding | undefined> {
    return this.get(kommoKey(kommoAccountId, BINDING));
  }

  async byAmojoAccount(amojoAccountId: string): Promise<AccountBinding | undefined> {
    return this.get(amojoKey(amojoAccountId, BINDING));
  }

  async claimToConnect(
    accounts: Required<AccountKeys>,
    claim: AccountChangeClaim,
  ): Promise<AccountClaimRefusal | undefined> {
    const cancellation = await this.transact([
      this.bindingCheck(
        kommoKey(accounts.kommoAccountId, BINDING),
        'attribute_not_exists(pk) OR amojoAccountId = :amojo',
        { ':amojo': accounts.amojoAccountId },
      ),
      this.bindingCheck(
        amojoKey(accounts.amojoAccountId, BINDING),
        'attribute_not_exists(pk) OR kommoAccountId = :kommo',
        { ':kommo': accounts.kommoAccountId },
      ),
      ...this.claimPuts(accounts, claim),
    ]);
    if (!cancellation) return undefined;
    // A binding to another account is reported before a claim: it stays until a disconnect, a claim lapses.
    const [kommoSide, amojoSide] = cancellation.codes;
    const boundAmojo = attribute(cancellation.items[0], 'amojoAccountId');
    if (kommoSide === 'ConditionalCheckFailed' && boundAmojo !== undefined) {
      return { reason: 'kommo_account_bound_elsewhere', boundAmojoAccountId: boundAmojo };
    }
    const boundKommo = attribute(cancellation.items[1], 'kommoAccountId');
    if (amojoSide === 'ConditionalCheckFailed' && boundKommo !== undefined) {
      return { reason: 'amojo_account_bound_elsewhere', boundKommoAccountId: Number(boundKommo) };
    }
    return { reason: 'change_in_progress' };
  }

  async claimToDisconnect(
    target: AccountBinding | { amojoAccountId: string },
    claim: AccountChangeClaim,
  ): Promise<AccountClaimRefusal | undefined> {
    const checks =
      'kommoAccountId' in target
        ? [
            this.bindingCheck(kommoKey(target.kommoAccountId, BINDING), 'amojoAccountId = :amojo', {
              ':amojo': target.amojoAccountId,
            }),
            this.bindingCheck(amojoKey(target.amojoAccountId, BINDING), 'kommoAccountId = :kommo', {
              ':kommo': target.kommoAccountId,
            }),
          ]
        : // Unbound as read: a connect that bound it since then would be undone behind its back.
          [this.bindingCheck(amojoKey(target.amojoAccountId, BINDING), 'attribute_not_exists(pk)', undefined)];
    const cancellation = await this.transact([...checks, ...this.claimPuts(target, claim)]);
    // Its binding changed since it was read, or another change holds it: either way a concurrent change.
    return cancellation ? { reason: 'change_in_progress' } : undefined;
  }

  async bindClaimed(binding: AccountBinding, claimId: string): Promise<boolean> {
    const cancellation = await this.transact([
      { Put: { TableName: this.table.tableName, Item: { ...kommoKey(binding.kommoAccountId, BINDING), ...binding } } },
      { Put: { TableName: this.table.tableName, Item: { ...amojoKey(binding.amojoAccountId, BINDING), ...binding } } },
      ...this.claimDeletes(binding, claimId),
    ]);
    return cancellation === undefined;
  }

  async unbindClaimed(accounts: AccountKeys, claimId: string): Promise<boolean> {
    const bindingDeletes: TransactItem[] =
      accounts.kommoAccountId === undefined
        ? []
        : [
            { Delete: { TableName: this.table.tableName, Key: kommoKey(accounts.kommoAccountId, BINDING) } },
            { Delete: { TableName: this.table.tableName, Key: amojoKey(accounts.amojoAccountId, BINDING) } },
          ];
    const cancellation = await this.transact([...bindingDeletes, ...this.claimDeletes(accounts, claimId)]);
    return cancellation === undefined;
  }

  async releaseClaim(accounts: AccountKeys, claimId: string): Promise<void> {
    await this.transact(this.claimDeletes(accounts, claimId));
  }

  private claimKeys(accounts: AccountKeys) {
    return [
      ...(accounts.kommoAccountId === undefined ? [] : [kommoKey(accounts.kommoAccountId, CLAIM)]),
      amojoKey(accounts.amojoAccountId, CLAIM),
    ];
  }

  private claimPuts(accounts: AccountKeys, claim: AccountChangeClaim): TransactItem[] {
    const expiresAt = epochSeconds(claim.nowMs) + ACCOUNT_CLAIM_SECONDS;
    return this.claimKeys(accounts).map((key) => ({
      Put: {
        TableName: this.table.tableName,
        Item: {
          ...key,
          claimId: claim.claimId,
          amojoAccountId: accounts.amojoAccountId,
          kommoAccountId: accounts.kommoAccountId,
          expiresAt,
        },
        // A lapsed claim that TTL has not deleted yet does not count.
        ConditionExpression: 'attribute_not_exists(pk) OR expiresAt <= :now',
        ExpressionAttributeValues: { ':now': epochSeconds(claim.nowMs) },
      },
    }));
  }

  /** Deletes this change's claims, each only while it is still this change's (not one that took over a lapsed claim). */
  private claimDeletes(accounts: AccountKeys, claimId: string): TransactItem[] {
    return this.claimKeys(accounts).map((key) => ({
      Delete: {
        TableName: this.table.tableName,
        Key: key,
        ConditionExpression: 'claimId = :claim',
        ExpressionAttributeValues: { ':claim': claimId },
      },
    }));
  }

  private bindingCheck(
    key: { pk: string; sk: string },
    condition: string,
    values: Record<string, unknown> | undefined,
  ): TransactItem {
    return {
      ConditionCheck: {
        TableName: this.table.tableName,
        Key: key,
        ConditionExpression: condition,
        ...(values ? { ExpressionAttributeValues: values } : {}),
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      },
    };
  }

  /**
   * Runs the transaction; the reasons when its conditions refused it, undefined when it was written.
   * DynamoDB cancels a transaction that meets another one writing the same items (`TransactionConflict`),
   * and the SDK does not retry that, so it is tried again here: the competing change then either holds
   * its claim (a refusal) or has finished.
   */
  private async transact(items: TransactItem[]): Promise<Cancellation | undefined> {
    for (let attempt = 1; ; attempt += 1) {
      try {
        await this.table.doc.send(new TransactWriteCommand({ TransactItems: items }));
        return undefined;
      } catch (error) {
        const cancellation = cancellationOf(error);
        if (!cancellation) throw error;
        const conflictOnly =
          cancellation.codes.includes('TransactionConflict') && !cancellation.codes.includes('ConditionalCheckFailed');
        if (!conflictOnly) return cancellation;
        if (attempt >= CONFLICT_ATTEMPTS) throw error;
        await new Promise((resolve) => setTimeout(resolve, CONFLICT_BACKOFF_MS * 2 ** (attempt - 1)));
      }
    }
  }

  private async get(key: { pk: string; sk: string }): Promise<AccountBinding | undefined> {
    // Consistent: a disconnect takes effect for the very next widget request.
    const { Item } = await this.table.doc.send(
      new GetCommand({ TableName: this.table.tableName, Key: key, ConsistentRead: true }),
    );
    return bindingOf(Item);
  }
}
