import { createHash } from 'node:crypto';
import type { BridgeDeps, DepsOf } from '../core/deps';
import { BridgeError, invalid, unauthenticated } from '../core/domain/errors';
import {
  isKommoServiceHost,
  kommoAccountHost,
  platformOfDomain,
  type KommoAccountHost,
} from '../core/domain/kommo-origin';
import { kommoDisableHookSignatureMatches } from '../core/domain/kommo-disable-hook';
import { json, type ApiEvent, type ApiResult } from '../core/http/api';
import { html, htmlPage, type Html } from '../core/http/html-page';
import { httpHandler, routeFor, type HttpHandlerDeps, type RouteTable } from '../core/http/route';
import { KommoCodeRefused } from '../core/ports/kommo-account-api';
import { OutboundCallError } from '../core/ports/outbound';
import type { WebhookRequest } from '../core/ports/replay-store';
import {
  InstallLimitReached,
  installKommoAccount,
  uninstallKommoAccount,
  type KommoInstall,
} from '../core/use-cases/kommo-installation';

/**
 * How long an install's code stays bound to its first answer: the 20 minutes Kommo's codes live, plus
 * margin. A repeat of the install within it (a reload of the page) gets that answer again and calls
 * no one; the code could not be exchanged twice anyway.
 */
export const INSTALL_RECORD_SECONDS = 30 * 60;

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

const installAgain = html`Install the integration again from the Kommo account's settings (Settings → Integrations).`;
const nothingConnected = html`The bridge connected nothing and contacted no one.`;

/**
 * Every page the install and uninstall routes show, by code: fixed text, so nothing from the request
 * (its parameters) or from another host (Kommo's error text) ever appears on the bridge's own domain.
 * What went wrong in detail is in the bridge's log, under the same code.
 */
const INSTALL_PAGES = {
  connected: {
    status: 200,
    title: 'Connected',
    paragraphs: [
      html`The Kommo account is connected to Kommo Live Bridge: its chats get typing, presence and read status through the bridge.`,
      html`You can close this page.`,
    ],
  },
  no_longer_connected: {
    status: 200,
    title: 'Not connected',
    paragraphs: [
      html`This installation was made, but the account has been disconnected since (the integration was uninstalled, or an operator disconnected it).`,
      installAgain,
    ],
  },
  access_denied: {
    status: 200,
    title: 'Not connected',
    paragraphs: [
      html`Access was not allowed in Kommo, so the bridge connected nothing.`,
      html`To connect the account, install the integration again and allow access.`,
    ],
  },
  duplicate_parameter: {
    status: 400,
    title: 'Not connected',
    paragraphs: [html`The address carries a parameter more than once, which Kommo never does.`, installAgain],
  },
  kommo_error: {
    status: 400,
    title: 'Not connected',
    paragraphs: [
      html`Kommo reported an error instead of an authorization code; the bridge connected nothing.`,
      installAgain,
    ],
  },
  no_code: {
    status: 400,
    title: 'Not connected',
    paragraphs: [
      html`The address carries no authorization code (<code>code</code>). This page is opened by Kommo when the integration is installed.`,
      installAgain,
    ],
  },
  bad_code: {
    status: 400,
    title: 'Not connected',
    paragraphs: [html`The authorization code (<code>code</code>) is not one Kommo issues.`, installAgain],
  },
  no_referer: {
    status: 400,
    title: 'Not connected',
    paragraphs: [html`The address names no Kommo account (<code>referer</code>).`, installAgain],
  },
  not_an_account: {
    status: 400,
    title: 'Not connected',
    paragraphs: [
      html`<code>referer</code> is not a Kommo account address: it must be <code>&lt;account&gt;.kommo.com</code>, <code>&lt;account&gt;.amocrm.com</code> or <code>&lt;account&gt;.amocrm.ru</code>, and not one of Kommo's own services (www, help, status, api…).`,
      nothingConnected,
    ],
  },
  bad_platform: {
    status: 400,
    title: 'Not connected',
    paragraphs: [
      html`<code>platform</code> must be 1 (amocrm.ru) or 2 (kommo.com, amocrm.com), and match the account's address.`,
      nothingConnected,
    ],
  },
  too_many_installs: {
    status: 429,
    title: 'Not connected',
    paragraphs: [
      html`Too many installations were tried for this account, or from this address, in the last minutes; the bridge contacted no one.`,
      html`Install the integration again in ten minutes.`,
    ],
  },
  in_progress: {
    status: 409,
    title: 'Connecting…',
    paragraphs: [
      html`This installation is still being processed. Reload this page in a few seconds to see how it ended.`,
    ],
  },
  code_used_elsewhere: {
    status: 409,
    title: 'Not connected',
    paragraphs: [html`This authorization code was already used for another account address.`, installAgain],
  },
  code_refused: {
    status: 400,
    title: 'Not connected',
    paragraphs: [
      html`Kommo refused the authorization code: a code works once, for 20 minutes. The bridge connected nothing.`,
      installAgain,
      html`If this keeps happening, the bridge's integration settings (<code>KOMMO_CLIENT_ID</code>, the secret key, <code>KOMMO_REDIRECT_URI</code>) differ from the integration's in Kommo.`,
    ],
  },
  kommo_failed: {
    status: 502,
    title: 'Not connected',
    paragraphs: [
      html`Kommo could not be reached, or answered what it should not, so nothing was connected.`,
      installAgain,
    ],
  },
  account_bound_elsewhere: {
    status: 409,
    title: 'Not connected',
    paragraphs: [
      html`This Kommo account, or its chat account, is already connected to the bridge together with another account, so nothing was changed.`,
      html`The bridge's operator must disconnect it first; then install again.`,
    ],
  },
  account_change_in_progress: {
    status: 409,
    title: 'Not connected',
    paragraphs: [
      html`Another connection or disconnection of this account is in progress, so nothing was changed.`,
      html`Install the integration again in a minute.`,
    ],
  },
  refused: {
    status: 400,
    title: 'Not connected',
    paragraphs: [html`The bridge refused this installation; nothing was changed.`, installAgain],
  },
  failed: {
    status: 500,
    title: 'Not connected',
    paragraphs: [html`The bridge could not finish the installation; it may not have been applied.`, installAgain],
  },
  not_configured: {
    status: 503,
    title: 'Not configured',
    paragraphs: [
      html`This bridge does not take installs from Kommo yet: its integration settings are not set. Nothing was connected.`,
    ],
  },
} as const satisfies Record<string, { status: number; title: string; paragraphs: readonly Html[] }>;

export type InstallPageCode = keyof typeof INSTALL_PAGES;

/** The page for `code`, its code named at the end (what the operator finds in the log). */
export function installPage(code: InstallPageCode): ApiResult {
  const page = INSTALL_PAGES[code];
  return htmlPage(page.status, {
    title: page.title,
    paragraphs: [...page.paragraphs, html`<small>Code: ${code}</small>`],
  });
}

type InstallRequest =
  | { kind: 'install'; account: KommoAccountHost; code: string }
  | { kind: 'answer'; page: InstallPageCode };

const answer = (page: InstallPageCode): InstallRequest => ({ kind: 'answer', page });

/**
 * What Kommo's redirect carries (docs/kommo.md, "Installation (OAuth) and uninstall"): `code`,
 * `referer`, `platform`, optionally `state` and `from_widget`, or `error` when the user refused.
 * Other parameters are ignored; one Kommo reads appearing twice is refused, since which of the two
 * counts would be a guess. A `referer` naming one of Kommo's own services, or a `platform` that
 * contradicts its domain, is no account's install: refused before any call.
 */
function installRequestOf(query: URLSearchParams): InstallRequest {
  for (const name of ['code', 'referer', 'platform', 'state', 'from_widget', 'error']) {
    if (single(query, name) === DUPLICATE) return answer('duplicate_parameter');
  }
  const error = single(query, 'error') as string | undefined;
  if (error === 'access_denied') return answer('access_denied');
  if (error !== undefined) return answer('kommo_error');
  const code = single(query, 'code') as string | undefined;
  const referer = single(query, 'referer') as string | undefined;
  const platform = single(query, 'platform') as string | undefined;
  if (code === undefined || code === '') return answer('no_code');
  if (!AUTHORIZATION_CODE.test(code)) return answer('bad_code');
  if (referer === undefined || referer === '') return answer('no_referer');
  const account = kommoAccountHost(referer);
  if (!account || isKommoServiceHost(account)) return answer('not_an_account');
  if (platform !== undefined && platform !== platformOfDomain(account.domain)) return answer('bad_platform');
  return { kind: 'install', account, code };
}

/** The record of an install made before pages were keyed by code held the page itself: it is shown as the generic outcome. */
function recordedInstallOf(body: string): RecordedInstall {
  try {
    const recorded = JSON.parse(body) as Partial<RecordedInstall>;
    if (typeof recorded.page === 'string' && Object.hasOwn(INSTALL_PAGES, recorded.page))
      return {
        page: recorded.page,
        ...(typeof recorded.kommoAccountId === 'number' ? { kommoAccountId: recorded.kommoAccountId } : {}),
      };
  } catch {
    // Not a record of this kind.
  }
  return { page: 'refused' };
}

/** What an install's record keeps: the page's code (and the account, to tell whether it is still connected when replayed). */
interface RecordedInstall {
  page: InstallPageCode;
  kommoAccountId?: number;
}

/**
 * The integration's Redirect URI (`GET /kommo/install`) and disable hook (`GET /kommo/uninstall`),
 * docs/contract.md, "Installation and uninstall (Kommo OAuth)". Without KOMMO_CLIENT_ID (or the
 * integration's secret, or KOMMO_REDIRECT_URI) the routes answer 503 and call no one, so a stack
 * deployed before the integration exists still starts.
 */
export type KommoInstallDeps = HttpHandlerDeps &
  Pick<BridgeDeps, 'replays'> &
  DepsOf<typeof installKommoAccount> &
  DepsOf<typeof uninstallKommoAccount>;

export const createKommoInstallHandler = (deps: KommoInstallDeps) => {
  const { KOMMO_CLIENT_ID, KOMMO_CLIENT_SECRET, KOMMO_REDIRECT_URI } = deps.config;
  const missingFor = (names: Partial<Record<string, unknown>>) =>
    Object.entries(names)
      .filter(([, value]) => value === undefined)
      .map(([name]) => name);
  const missingForInstall = missingFor({ KOMMO_CLIENT_ID, KOMMO_CLIENT_SECRET, KOMMO_REDIRECT_URI });
  const missingForUninstall = missingFor({ KOMMO_CLIENT_ID, KOMMO_CLIENT_SECRET });
  if (missingForInstall.length > 0)
    deps.log.warn(
      `Kommo installs are not configured (${missingForInstall.join(', ')} not set): /kommo/install and /kommo/uninstall answer 503`,
    );

  /** The install's outcome, by page code: connected, or what failed (the detail goes to the log only). */
  const install = async (request: KommoInstall): Promise<RecordedInstall> => {
    try {
      const binding = await installKommoAccount(deps, request);
      return { page: 'connected', kommoAccountId: binding.kommoAccountId };
    } catch (error) {
      if (error instanceof InstallLimitReached) {
        deps.log.warn('an install was refused: too many code exchanges', { account: request.account.host });
        return { page: 'too_many_installs' };
      }
      if (error instanceof KommoCodeRefused) {
        deps.log.warn('Kommo refused an install code', { account: request.account.host, error: error.message });
        return { page: 'code_refused' };
      }
      if (error instanceof OutboundCallError) {
        deps.log.warn('an install failed on a call to Kommo', {
          account: request.account.host,
          error: error.message,
          status: error.status,
        });
        return { page: 'kommo_failed' };
      }
      if (error instanceof BridgeError) {
        // Which other account holds the binding is for the operator's log, not for whoever holds a code.
        deps.log.warn('an install was refused', {
          account: request.account.host,
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
        error:
          error instanceof Error ? { name: error.name, message: error.message, stack: error.stack } : String(error),
      });
      return { page: 'failed' };
    }
  };

  /**
   * A recorded install's page as it is now: "Connected" only while the account still is (after an
   * uninstall, a reload of the install's address says so instead of showing "Connected" again).
   */
  const pageNow = async (recorded: RecordedInstall): Promise<ApiResult> => {
    if (recorded.page !== 'connected' || recorded.kommoAccountId === undefined) return installPage(recorded.page);
    return installPage(
      (await deps.accountBindings.byKommoAccount(recorded.kommoAccountId)) ? 'connected' : 'no_longer_connected',
    );
  };

  /**
   * Each code is answered once: the first request with it claims it (as a chat-service `webhook-id`
   * is claimed, by a hash: the code itself is never stored), a repeat gets the first answer, and a
   * repeat while the first still runs gets 409 without calling anyone. A 5xx, or a refusal for too
   * many exchanges, gives the claim back.
   */
  const installOnce = async (request: KommoInstall): Promise<ApiResult> => {
    const codeHash = createHash('sha256').update(request.code).digest('hex');
    const claim: WebhookRequest = {
      webhookId: `kommo-install:${codeHash}`,
      fingerprint: createHash('sha256')
        .update(JSON.stringify(['GET /kommo/install', request.account.host, codeHash]))
        .digest('hex'),
    };
    const claimed = await deps.replays.claim(claim, deps.clock.now(), INSTALL_RECORD_SECONDS);
    if (claimed.state === 'answered') return pageNow(recordedInstallOf(claimed.answer.body));
    if (claimed.state === 'in_progress') return installPage('in_progress');
    if (claimed.state === 'used_elsewhere') return installPage('code_used_elsewhere');
    const outcome = await install(request);
    const status = INSTALL_PAGES[outcome.page].status;
    try {
      if (status < 500 && outcome.page !== 'too_many_installs')
        await deps.replays.answer(
          claim,
          { statusCode: status, body: JSON.stringify(outcome) },
          deps.clock.now(),
          INSTALL_RECORD_SECONDS,
        );
      else await deps.replays.release(claim);
    } catch (error) {
      // The install took effect (or failed) as answered; a lost record only makes a reload call Kommo again.
      deps.log.warn('could not record the answer to an install', {
        error: error instanceof Error ? error.message : String(error),
      });
    }
    return installPage(outcome.page);
  };

  const routes: RouteTable<'kommo-install', (event: ApiEvent) => Promise<ApiResult>> = {
    'GET /kommo/install': async (event) => {
      if (missingForInstall.length > 0) return installPage('not_configured');
      const request = installRequestOf(new URLSearchParams(event.rawQueryString));
      if (request.kind === 'answer') return installPage(request.page);
      try {
        return await installOnce({
          account: request.account,
          code: request.code,
          caller: event.requestContext.http.sourceIp,
        });
      } catch (error) {
        // A person reads this answer: a page, not the JSON error the other routes give.
        deps.log.error('an install failed', {
          error:
            error instanceof Error ? { name: error.name, message: error.message, stack: error.stack } : String(error),
        });
        return installPage('failed');
      }
    },
    'GET /kommo/uninstall': async (event) => {
      if (missingForUninstall.length > 0) {
        throw new BridgeError(
          'unavailable',
          'not_configured',
          `The disable hook is not served: ${missingForUninstall.join(', ')} not set`,
        );
      }
      const query = new URLSearchParams(event.rawQueryString);
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
        return json(200, { ok: true, kommo_account_id: kommoAccountId, disconnected: outcome.disconnected });
      } catch (error) {
        if (!(error instanceof OutboundCallError)) throw error;
        deps.log.warn('Kommo refused a disconnect for the disable hook', {
          kommoAccountId,
          error: error.message,
          status: error.status,
          errorType: error.errorType,
        });
        // Kommo's words stay in the log: the answer is fixed.
        return json(502, {
          error: {
            code: 'kommo_call_failed',
            message:
              'Kommo refused or failed the disconnect; nothing was changed, and the disable hook can be sent again',
          },
        });
      }
    },
  };

  return httpHandler(deps, 'none', async (event) => {
    const route = routeFor(routes, event.routeKey);
    return route(event);
  });
};
