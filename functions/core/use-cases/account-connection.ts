import { ConfigError, type BridgeConfig } from '../config';
import { conflict, notFound } from '../domain/errors';
import type { BridgeDeps } from '../deps';
import type { AccountBinding, AccountClaimRefusal, AccountKeys } from '../ports/account-binding-store';
import { OutboundCallError, type KommoChatApi } from '../ports/outbound';
import { endAccountLiveChannel } from './live-channel';

export type AccountConnectionDeps = Pick<
  BridgeDeps,
  'config' | 'clock' | 'log' | 'kommoChatApi' | 'accountBindings' | 'newId' | 'live' | 'liveConnections'
>;

export interface AccountToConnect {
  amojoAccountId: string;
  kommoAccountId: number;
  title: string;
}

/**
 * Kommo's `connect` for the account (required after every installation of the integration,
 * docs/kommo.md), checked to answer a scope of this channel. The operator command uses it alone;
 * `connectAccount` wraps it in a claim.
 */
export async function connectKommoChannel(
  deps: { config: Pick<BridgeConfig, 'KOMMO_CHANNEL_ID'>; kommoChatApi: Pick<KommoChatApi, 'connect'> },
  amojoAccountId: string,
  title: string,
): Promise<{ scopeId: string }> {
  const { scopeId } = await deps.kommoChatApi.connect(amojoAccountId, title);
  // Every route under a scope requires this channel's prefix (docs/contract.md, "Identifiers").
  const { KOMMO_CHANNEL_ID } = deps.config;
  if (KOMMO_CHANNEL_ID === undefined)
    throw new ConfigError('Configuration error: KOMMO_CHANNEL_ID is required for connecting a Kommo account');
  if (!scopeId.startsWith(`${KOMMO_CHANNEL_ID}_`)) {
    throw new OutboundCallError(
      'kommo',
      `Kommo connect answered scope_id ${scopeId}, which is not a scope of this channel`,
      502,
    );
  }
  return { scopeId };
}

/**
 * `/admin/connect`: claims both accounts (refused with 409 when either is bound to another account or
 * another connect or disconnect holds it), calls Kommo's `connect`, then turns the claim into the
 * binding. The claim comes first so that of two conflicting connects only one reaches Kommo. A Kommo
 * failure (`OutboundCallError`) releases the claim and leaves nothing stored.
 */
export async function connectAccount(deps: AccountConnectionDeps, account: AccountToConnect): Promise<AccountBinding> {
  const claimId = deps.newId();
  const refusal = await deps.accountBindings.claimToConnect(account, { claimId, nowMs: deps.clock.now() });
  if (refusal) throw claimRefusal(refusal, account);
  const binding = await underClaim(deps, account, claimId, async () => {
    const { scopeId } = await connectKommoChannel(deps, account.amojoAccountId, account.title);
    const connected: AccountBinding = { ...account, scopeId, boundAtMs: deps.clock.now() };
    if (!(await deps.accountBindings.bindClaimed(connected, claimId))) throw claimLost('connect');
    return connected;
  });
  deps.log.info('Kommo account connected', { kommoAccountId: account.kommoAccountId, scopeId: binding.scopeId });
  return binding;
}

export type AccountToDisconnect = { kommoAccountId: number } | { amojoAccountId: string };

/**
 * `/admin/disconnect`: claims the accounts like a connect does, calls Kommo's `disconnect`, then the
 * binding is removed with the claim, and the account's live connections are closed. So a disconnect and a connect of the same account never both
 * reach Kommo, and neither can leave a binding without Kommo's connect or the other way round. By
 * amojo id it works without a binding too (an account connected with the operator command); by Kommo
 * account id the binding is the only way to the amojo id, so an unknown one is 404.
 */
export async function disconnectAccount(
  deps: AccountConnectionDeps,
  account: AccountToDisconnect,
): Promise<{ amojoAccountId: string; binding?: AccountBinding }> {
  const binding =
    'kommoAccountId' in account
      ? await deps.accountBindings.byKommoAccount(account.kommoAccountId)
      : await deps.accountBindings.byAmojoAccount(account.amojoAccountId);
  if (!binding && 'kommoAccountId' in account) {
    throw notFound('account_not_connected', `Kommo account ${account.kommoAccountId} is not connected to this bridge`);
  }
  const amojoAccountId = binding?.amojoAccountId ?? (account as { amojoAccountId: string }).amojoAccountId;
  const target: AccountBinding | { amojoAccountId: string } = binding ?? { amojoAccountId };
  const claimId = deps.newId();
  if (await deps.accountBindings.claimToDisconnect(target, { claimId, nowMs: deps.clock.now() })) {
    throw changeInProgress(amojoAccountId);
  }
  await underClaim(deps, target, claimId, async () => {
    await deps.kommoChatApi.disconnect(amojoAccountId);
    if (!(await deps.accountBindings.unbindClaimed(target, claimId))) throw claimLost('disconnect');
  });
  deps.log.info('Kommo account disconnected', { amojoAccountId, kommoAccountId: binding?.kommoAccountId });
  // The binding is gone, so nothing of the account's live channel can act any more; its sockets close now.
  await endAccountLiveChannel(deps, amojoAccountId);
  return binding ? { amojoAccountId, binding } : { amojoAccountId };
}

/** Runs the change; when it fails (Kommo refused, or a write failed), the claim is given back so a retry can start at once. */
async function underClaim<T>(
  deps: AccountConnectionDeps,
  accounts: AccountKeys,
  claimId: string,
  change: () => Promise<T>,
): Promise<T> {
  try {
    return await change();
  } catch (error) {
    // Best effort: a claim that cannot be released lapses on its own.
    await deps.accountBindings.releaseClaim(accounts, claimId).catch((releaseError: unknown) => {
      deps.log.warn('could not release an account claim; it lapses on its own', {
        error: releaseError instanceof Error ? releaseError.message : String(releaseError),
      });
    });
    throw error;
  }
}

function claimRefusal(refusal: AccountClaimRefusal, account: AccountToConnect) {
  switch (refusal.reason) {
    case 'kommo_account_bound_elsewhere':
      return conflict(
        'account_bound_elsewhere',
        `kommo_account_id ${account.kommoAccountId} is connected with another amojo_account_id; disconnect it first`,
      );
    case 'amojo_account_bound_elsewhere':
      return conflict(
        'account_bound_elsewhere',
        `amojo_account_id ${account.amojoAccountId} is connected with kommo_account_id ${refusal.boundKommoAccountId}; disconnect it first`,
      );
    case 'change_in_progress':
      return changeInProgress(account.amojoAccountId, account.kommoAccountId);
  }
}

function changeInProgress(amojoAccountId: string, kommoAccountId?: number) {
  const accounts =
    kommoAccountId === undefined
      ? `amojo_account_id ${amojoAccountId}`
      : `kommo_account_id ${kommoAccountId} or amojo_account_id ${amojoAccountId}`;
  return conflict(
    'account_change_in_progress',
    `Another connect or disconnect of ${accounts} is in progress; retry when it has finished`,
  );
}

/** Only when the change outlasted its claim (which is far longer than a request may run) and another change took the accounts over. */
function claimLost(change: 'connect' | 'disconnect') {
  return conflict(
    'account_change_in_progress',
    `This ${change} took longer than its claim on the accounts and another change took them over; Kommo's ${change} was made, check the accounts and retry`,
  );
}
