import { conflict, notFound } from '../domain/errors';
import type { BridgeDeps } from '../deps';
import type { AccountBinding } from '../ports/account-binding-store';
import { OutboundCallError } from '../ports/outbound';

export type AccountConnectionDeps = Pick<BridgeDeps, 'config' | 'clock' | 'log' | 'kommo' | 'accountBindings'>;

export interface AccountToConnect {
  amojoAccountId: string;
  kommoAccountId: number;
  title: string;
}

/**
 * `/admin/connect`: Kommo's `connect` for the account (required after every installation of the
 * integration, kommo-chat-api.md), then the binding of the returned scope to the numeric account
 * that widget tokens name. A Kommo failure (`OutboundCallError`) leaves nothing stored.
 */
export async function connectAccount(deps: AccountConnectionDeps, account: AccountToConnect): Promise<AccountBinding> {
  // Refused before Kommo is called: an account id typed wrong must not connect a stranger's account.
  await refuseOtherBindings(deps, account);
  const { scopeId } = await deps.kommo.connect(account.amojoAccountId, account.title);
  // Every route under a scope requires this channel's prefix (CONTRACT.md, "Identifiers").
  if (!scopeId.startsWith(`${deps.config.KOMMO_CHANNEL_ID}_`)) {
    throw new OutboundCallError('kommo', `Kommo connect answered scope_id ${scopeId}, which is not a scope of this channel`, 502);
  }
  const binding: AccountBinding = { ...account, scopeId, boundAtMs: deps.clock.now() };
  // Conditional: a concurrent connect of either account to another one is refused here, not overwritten.
  if (!(await deps.accountBindings.bind(binding))) {
    await refuseOtherBindings(deps, account);
    throw conflict('account_bound_elsewhere', 'A concurrent connect bound one of these accounts to another account; retry');
  }
  deps.log.info('Kommo account connected', { kommoAccountId: account.kommoAccountId, scopeId });
  return binding;
}

export type AccountToDisconnect = { kommoAccountId: number } | { amojoAccountId: string };

/**
 * `/admin/disconnect`: Kommo's `disconnect`, then the binding is removed. By amojo id it works
 * without a binding too (an account connected with the operator command); by Kommo account id the
 * binding is the only way to the amojo id, so an unknown one is 404.
 */
export async function disconnectAccount(deps: AccountConnectionDeps, account: AccountToDisconnect): Promise<{ amojoAccountId: string; binding?: AccountBinding }> {
  const binding =
    'kommoAccountId' in account ? await deps.accountBindings.byKommoAccount(account.kommoAccountId) : await deps.accountBindings.byAmojoAccount(account.amojoAccountId);
  if (!binding && 'kommoAccountId' in account) {
    throw notFound('account_not_connected', `Kommo account ${account.kommoAccountId} is not connected to this bridge`);
  }
  const amojoAccountId = binding?.amojoAccountId ?? (account as { amojoAccountId: string }).amojoAccountId;
  await deps.kommo.disconnect(amojoAccountId);
  if (binding) await deps.accountBindings.unbind(binding);
  deps.log.info('Kommo account disconnected', { amojoAccountId, kommoAccountId: binding?.kommoAccountId });
  return binding ? { amojoAccountId, binding } : { amojoAccountId };
}

async function refuseOtherBindings(deps: AccountConnectionDeps, account: AccountToConnect): Promise<void> {
  const [sameKommo, sameAmojo] = await Promise.all([
    deps.accountBindings.byKommoAccount(account.kommoAccountId),
    deps.accountBindings.byAmojoAccount(account.amojoAccountId),
  ]);
  if (sameKommo && sameKommo.amojoAccountId !== account.amojoAccountId) {
    throw conflict('account_bound_elsewhere', `kommo_account_id ${account.kommoAccountId} is connected with another amojo_account_id; disconnect it first`);
  }
  if (sameAmojo && sameAmojo.kommoAccountId !== account.kommoAccountId) {
    throw conflict('account_bound_elsewhere', `amojo_account_id ${account.amojoAccountId} is connected with kommo_account_id ${sameAmojo.kommoAccountId}; disconnect it first`);
  }
}
