import type { BridgeDeps } from '../deps';
import { BridgeError } from '../domain/errors';
import type { KommoAccountHost } from '../domain/kommo-origin';
import type { AccountBinding } from '../ports/account-binding-store';
import { OutboundCallError } from '../ports/outbound';
import { connectAccount, disconnectAccount, type AccountConnectionDeps } from './account-connection';

export type KommoInstallationDeps = AccountConnectionDeps & Pick<BridgeDeps, 'kommoAccounts' | 'installLimits'>;

/**
 * Code exchanges allowed per account host, and per caller (the source address), in each window. A
 * real install is one exchange (a reload replays its answer), so these only stop someone making the
 * bridge send its secret to Kommo over and over.
 */
export const INSTALL_EXCHANGE_LIMITS = { perAccountHost: 5, perCaller: 20, windowMs: 10 * 60_000 } as const;

/** The install was refused before any call: its account host or its caller made too many exchanges in the window. */
export class InstallLimitReached extends Error {
  override readonly name = 'InstallLimitReached';
}

/** The channel title Kommo's `connect` gets for an account first connected by its install (a reinstall keeps the one it had). */
export const INSTALLED_CHANNEL_TITLE = 'Kommo Live Bridge';

/**
 * How long the calls to the account's host (code exchange, then account read) may take together,
 * each also within KOMMO_TIMEOUT_MS: with Kommo's `connect` after them, the install stays well inside
 * its function's timeout and the account claim (functions/manifest.ts, `kommo-install`).
 */
export const INSTALL_ACCOUNT_CALLS_BUDGET_MS = 10_000;

export interface KommoInstall {
  /** The account host the install's `referer` named, already checked to be a Kommo account host. */
  account: KommoAccountHost;
  /** The authorization code (single use, valid 20 minutes at Kommo). */
  code: string;
  /** Who asked (the request's source address), counted against `INSTALL_EXCHANGE_LIMITS.perCaller`. */
  caller: string;
}

/**
 * An install from Kommo (the integration's redirect URI): exchanges the code at the account's own
 * host, reads which account the token belongs to, then connects it exactly as `/admin/connect` does
 * (claim, Kommo `connect`, binding), so a reinstall reconnects and an account bound elsewhere is a 409.
 * The access and refresh tokens are used for the one account read and dropped: the bridge calls no
 * account API after the install.
 */
export async function installKommoAccount(deps: KommoInstallationDeps, install: KommoInstall): Promise<AccountBinding> {
  const now = deps.clock.now();
  const { perAccountHost, perCaller, windowMs } = INSTALL_EXCHANGE_LIMITS;
  const startMs = now - (now % windowMs);
  const window = { startMs, endMs: startMs + windowMs };
  // Per caller first: a flood from one address then never uses up an account's own allowance.
  if (
    !(await deps.installLimits.take([`caller#${install.caller}`], perCaller, window)) ||
    !(await deps.installLimits.take([`host#${install.account.host}`], perAccountHost, window))
  ) {
    throw new InstallLimitReached(`too many code exchanges for ${install.account.host} or from its caller`);
  }
  const deadlineAtMs = now + INSTALL_ACCOUNT_CALLS_BUDGET_MS;
  const { accessToken } = await deps.kommoAccounts.exchangeAuthorizationCode(install.account, install.code, {
    deadlineAtMs,
  });
  const account = await deps.kommoAccounts.account(install.account, accessToken, { deadlineAtMs });
  if (account.subdomain.toLowerCase() !== install.account.subdomain) {
    throw new OutboundCallError(
      'kommo',
      `Kommo's account API at ${install.account.host} answered for the account "${account.subdomain}"`,
      502,
    );
  }
  const previous = await deps.accountBindings.byKommoAccount(account.id);
  const binding = await connectAccount(deps, {
    amojoAccountId: account.amojoId,
    kommoAccountId: account.id,
    title: previous?.title ?? INSTALLED_CHANNEL_TITLE,
  });
  deps.log.info('Kommo account installed the integration', {
    kommoAccountId: account.id,
    subdomain: account.subdomain,
    reinstall: previous !== undefined,
  });
  return binding;
}

/**
 * Kommo's disable hook for an account (already verified): Kommo `disconnect` and the binding removed,
 * as `/admin/disconnect` does. Kommo may call the hook more than once, and for an account that was
 * never connected here: those change nothing and are not failures.
 */
export async function uninstallKommoAccount(
  deps: AccountConnectionDeps,
  kommoAccountId: number,
): Promise<{ disconnected: boolean }> {
  try {
    await disconnectAccount(deps, { kommoAccountId });
    return { disconnected: true };
  } catch (error) {
    if (error instanceof BridgeError && error.code === 'account_not_connected') {
      deps.log.info('Kommo disable hook for an account that is not connected; nothing to do', { kommoAccountId });
      return { disconnected: false };
    }
    throw error;
  }
}
