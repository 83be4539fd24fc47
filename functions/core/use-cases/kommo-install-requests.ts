import { createHash } from 'node:crypto';
import type { BridgeConfig } from '../config';
import type { BridgeDeps } from '../deps';
import { BridgeError, invalid, unauthenticated } from '../domain/errors';
import { kommoDisableHookSignatureMatches } from '../domain/kommo-disable-hook';
import { isKommoServiceHost, kommoAccountHost, platformOfDomain } from '../domain/kommo-origin';
import { KommoCodeRefused } from '../ports/kommo-account-api';
import { OutboundCallError } from '../ports/outbound';
import type { WebhookRequest } from '../ports/replay-store';
import {
  InstallLimitReached,
  installKommoAccount,
  uninstallKommoAccount,
  type KommoInstall,
  type KommoInstallationDeps,
} from './kommo-installation';
import type { AccountConnectionDeps } from './account-connection';
import { runOnce, type RunOnceDeps, type RunOnceRules } from './run-once';

/**
 * How long an install's code stays bound to its first answer: the 20 minutes Kommo's codes live, plus
 * margin. A repeat of the install within it (a reload of the page) gets that answer again and calls
 * no one; the code could not be exchanged twice anyway.
 */
export const INSTALL_RECORD_SECONDS = 30 * 60;

/**
 * Every outcome of an install request, with the status its page is answered with. The page itself is
 * fixed text per outcome (functions/kommo-install/install-pages.ts): nothing from the request or from
 * Kommo is shown; the detail is in the log, under the same code.
 */
export const INSTALL_OUTCOME_STATUS = {
  connected: 200,
  no_longer_connected: 200,
  access_denied: 200,
  duplicate_parameter: 400,
  kommo_error: 400,
  no_code: 400,
  bad_code: 400,
  no_referer: 400,
  not_an_account: 400,
  bad_platform: 400,
  too_many_installs: 429,
  in_progress: 409,
  code_used_elsewhere: 409,
  code_refused: 400,
  kommo_failed: 502,
  account_bound_elsewhere: 409,
  account_change_in_progress: 409,
  refused: 400,
  failed: 500,
  not_configured: 503,
} as const;

export type InstallOutcome = keyof typeof INSTALL_OUTCOME_STATUS;

/** Kommo's codes are a few hundred printable characters; anything longer or other is not one. */
const AUTHORIZATION_CODE = /^[\x21-\x7e]{1,4096}$/;

/** Kommo's numeric account id, as the disable hook's `account_id` spells it. */
const ACCOUNT_ID = /^[1-9][0-9]{0,15}$/;

const DUPLICATE = Symbol('duplicate');

/** A parameter that appears at most once: its value, undefined when absent, DUPLICATE when repeated. */
function single(query: URLSearchParams, name: string): string | undefined | typeof DUPLICATE {
  const values = query.getAll(name);
  if (values.length > 1) return DUPLICATE;
  return values[0];
}

/** The settings an install needs that are not set (none: installs are served). */
export function missingInstallSettings(config: BridgeConfig): string[] {
  const { KOMMO_CLIENT_ID, KOMMO_CLIENT_SECRET, KOMMO_REDIRECT_URI } = config;
  return missingOf({ KOMMO_CLIENT_ID, KOMMO_CLIENT_SECRET, KOMMO_REDIRECT_URI });
}

function missingOf(names: Partial<Record<string, unknown>>): string[] {
  return Object.entries(names)
    .filter(([, value]) => value === undefined)
    .map(([name]) => name);
}

/**
 * What Kommo's redirect carries (docs/kommo.md, "Installation (OAuth) and uninstall"): `code`,
 * `referer`, `platform`, optionally `state` and `from_widget`, or `error` when the user refused.
 * Other parameters are ignored; one Kommo reads appearing twice is refused, since which of the two
 * counts would be a guess. A `referer` naming one of Kommo's own services, or a `platform` that
 * contradicts its domain, is no account's install: refused before any call.
 */
function installOf(query: URLSearchParams, caller: string): KommoInstall | InstallOutcome {
  for (const name of ['code', 'referer', 'platform', 'state', 'from_widget', 'error']) {
    if (single(query, name) === DUPLICATE) return 'duplicate_parameter';
  }
  const error = single(query, 'error') as string | undefined;
  if (error === 'access_denied') return 'access_denied';
  if (error !== undefined) return 'kommo_error';
  const code = single(query, 'code') as string | undefined;
  const referer = single(query, 'referer') as string | undefined;
  const platform = single(query, 'platform') as string | undefined;
  if (code === undefined || code === '') return 'no_code';
  if (!AUTHORIZATION_CODE.test(code)) return 'bad_code';
  if (referer === undefined || referer === '') return 'no_referer';
  const account = kommoAccountHost(referer);
  if (!account || isKommoServiceHost(account)) return 'not_an_account';
  if (platform !== undefined && platform !== platformOfDomain(account.domain)) return 'bad_platform';
  return { account, code, caller };
}

/** What an install's record keeps: the outcome (and the account, to tell whether it is still connected when replayed). */
interface RecordedInstall {
  page: InstallOutcome;
  kommoAccountId?: number;
}

/** The record of an install made before pages were keyed by code held the page itself: it is shown as the generic outcome. */
function recordedInstallOf(body: string): RecordedInstall {
  try {
    const recorded = JSON.parse(body) as Partial<RecordedInstall>;
    if (typeof recorded.page === 'string' && Object.hasOwn(INSTALL_OUTCOME_STATUS, recorded.page))
      return {
        page: recorded.page,
        ...(typeof recorded.kommoAccountId === 'number' ? { kommoAccountId: recorded.kommoAccountId } : {}),
      };
  } catch {
    // Not a record of this kind.
  }
  return { page: 'refused' };
}

/**
 * Each code is answered once (`runOnce`): the first request with it claims it (as a chat-service
 * `webhook-id` is claimed, by a hash: the code itself is never stored), a repeat gets the first
 * answer, and a repeat while the first still runs gets 409 without calling anyone. A 5xx, or a
 * refusal for too many exchanges, gives the claim back.
 */
const INSTALL_ONCE: RunOnceRules<RecordedInstall> = {
  ttlSeconds: INSTALL_RECORD_SECONDS,
  keep: (outcome) => {
    const status = INSTALL_OUTCOME_STATUS[outcome.page];
    return status < 500 && outcome.page !== 'too_many_installs'
      ? { statusCode: status, body: JSON.stringify(outcome) }
      : 'release';
  },
  keepError: () => 'release',
  unrecorded: 'could not record the answer to an install',
};

export type KommoInstallRequestDeps = Pick<BridgeDeps, 'config'> & RunOnceDeps & KommoInstallationDeps;

/**
 * The integration's Redirect URI (`GET /kommo/install`, docs/contract.md, "Installation and uninstall
 * (Kommo OAuth)"): the redirect's parameters checked, the code claimed once, the account installed.
 * Answers with an outcome, never an error: a person reads it, as a page. Without KOMMO_CLIENT_ID,
 * the integration's secret or KOMMO_REDIRECT_URI, `not_configured`, calling no one.
 */
export async function answerKommoInstall(
  deps: KommoInstallRequestDeps,
  query: URLSearchParams,
  caller: string,
): Promise<InstallOutcome> {
  if (missingInstallSettings(deps.config).length > 0) return 'not_configured';
  const install = installOf(query, caller);
  if (typeof install === 'string') return install;
  try {
    const codeHash = createHash('sha256').update(install.code).digest('hex');
    const claim: WebhookRequest = {
      webhookId: `kommo-install:${codeHash}`,
      fingerprint: createHash('sha256')
        .update(JSON.stringify(['GET /kommo/install', install.account.host, codeHash]))
        .digest('hex'),
    };
    const outcome = await runOnce(deps, claim, INSTALL_ONCE, () => installOutcome(deps, install));
    if (outcome.state === 'answered') return outcomeNow(deps, recordedInstallOf(outcome.answer.body));
    if (outcome.state === 'in_progress') return 'in_progress';
    if (outcome.state === 'used_elsewhere') return 'code_used_elsewhere';
    return outcome.result.page;
  } catch (error) {
    deps.log.error('an install failed', {
      error: error instanceof Error ? { name: error.name, message: error.message, stack: error.stack } : String(error),
    });
    return 'failed';
  }
}

/** The install's outcome: connected, or what failed (the detail goes to the log only). */
async function installOutcome(deps: KommoInstallRequestDeps, install: KommoInstall): Promise<RecordedInstall> {
  try {
    const binding = await installKommoAccount(deps, install);
    return { page: 'connected', kommoAccountId: binding.kommoAccountId };
  } catch (error) {
    if (error instanceof InstallLimitReached) {
      deps.log.warn('an install was refused: too many code exchanges', { account: install.account.host });
      return { page: 'too_many_installs' };
    }
    if (error instanceof KommoCodeRefused) {
      deps.log.warn('Kommo refused an install code', { account: install.account.host, error: error.message });
      return { page: 'code_refused' };
    }
    if (error instanceof OutboundCallError) {
      deps.log.warn('an install failed on a call to Kommo', {
        account: install.account.host,
        error: error.message,
        status: error.status,
      });
      return { page: 'kommo_failed' };
    }
    if (error instanceof BridgeError) {
      // Which other account holds the binding is for the operator's log, not for whoever holds a code.
      deps.log.warn('an install was refused', {
        account: install.account.host,
        code: error.code,
        error: error.message,
      });
      return {
        page:
          error.code === 'account_bound_elsewhere' || error.code === 'account_change_in_progress'
            ? error.code
            : 'refused',
      };
    }
    deps.log.error('an install failed', {
      error: error instanceof Error ? { name: error.name, message: error.message, stack: error.stack } : String(error),
    });
    return { page: 'failed' };
  }
}

/**
 * A recorded install's outcome as it is now: "connected" only while the account still is (after an
 * uninstall, a reload of the install's address says so instead of showing "Connected" again).
 */
async function outcomeNow(deps: KommoInstallRequestDeps, recorded: RecordedInstall): Promise<InstallOutcome> {
  if (recorded.page !== 'connected' || recorded.kommoAccountId === undefined) return recorded.page;
  return (await deps.accountBindings.byKommoAccount(recorded.kommoAccountId)) ? 'connected' : 'no_longer_connected';
}

export type KommoDisableHookDeps = Pick<BridgeDeps, 'config'> & AccountConnectionDeps;

export type KommoDisableHookOutcome =
  | { kommoAccountId: number; disconnected: boolean }
  /** Kommo refused or failed the disconnect: nothing was changed, and the hook can be sent again. */
  | { kommoAccountId: number; kommoFailed: true };

/**
 * The integration's disable hook (`GET /kommo/uninstall`): `account_id`, `client_uuid` and Kommo's
 * signature over them with the integration's secret key, each once, checked before anything else;
 * then the account is disconnected (`uninstallKommoAccount`). Without KOMMO_CLIENT_ID or the secret,
 * 503 `not_configured`.
 */
export async function answerKommoDisableHook(
  deps: KommoDisableHookDeps,
  query: URLSearchParams,
): Promise<KommoDisableHookOutcome> {
  const { KOMMO_CLIENT_ID, KOMMO_CLIENT_SECRET } = deps.config;
  const missing = missingOf({ KOMMO_CLIENT_ID, KOMMO_CLIENT_SECRET });
  if (missing.length > 0) {
    throw new BridgeError(
      'unavailable',
      'not_configured',
      `The disable hook is not served: ${missing.join(', ')} not set`,
    );
  }
  const [accountId, clientUuid, signature] = ['account_id', 'client_uuid', 'signature'].map((name) =>
    single(query, name),
  );
  if (signature === undefined || signature === '')
    throw unauthenticated(
      'missing_signature',
      "signature is required: Kommo signs the disable hook with the integration's secret key",
    );
  if (accountId === DUPLICATE || clientUuid === DUPLICATE || signature === DUPLICATE) {
    throw unauthenticated('invalid_signature', 'account_id, client_uuid and signature must each appear once');
  }
  if (clientUuid === undefined || clientUuid.toLowerCase() !== KOMMO_CLIENT_ID) {
    throw unauthenticated('invalid_client_uuid', "client_uuid must be this integration's id (KOMMO_CLIENT_ID)");
  }
  if (
    accountId === undefined ||
    KOMMO_CLIENT_SECRET === undefined ||
    !kommoDisableHookSignatureMatches(clientUuid, accountId, signature, KOMMO_CLIENT_SECRET)
  ) {
    throw unauthenticated(
      'invalid_signature',
      'signature must be the lowercase hex HMAC-SHA256 of "<client_uuid>|<account_id>" with the integration\'s secret key',
    );
  }
  if (!ACCOUNT_ID.test(accountId) || !Number.isSafeInteger(Number(accountId)))
    throw invalid('invalid_field', "account_id must be Kommo's numeric account id");
  const kommoAccountId = Number(accountId);
  try {
    const outcome = await uninstallKommoAccount(deps, kommoAccountId);
    return { kommoAccountId, disconnected: outcome.disconnected };
  } catch (error) {
    if (!(error instanceof OutboundCallError)) throw error;
    // Kommo's words stay in the log: the answer is fixed.
    deps.log.warn('Kommo refused a disconnect for the disable hook', {
      kommoAccountId,
      error: error.message,
      status: error.status,
      errorType: error.errorType,
    });
    return { kommoAccountId, kommoFailed: true };
  }
}
