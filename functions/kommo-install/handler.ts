import { createHash } from 'node:crypto';
import type { BridgeDeps, DepsOf } from '../core/deps';
import { BridgeError, invalid, unauthenticated } from '../core/domain/errors';
import { kommoAccountHost, type KommoAccountHost } from '../core/domain/kommo-origin';
import { kommoDisableHookSignatureMatches } from '../core/domain/kommo-disable-hook';
import { errorAnswer, json, type ApiEvent, type ApiResult } from '../core/http/api';
import { html, htmlPage, HTML_PAGE_HEADERS, type Html } from '../core/http/html-page';
import { httpHandler, routeFor, type HttpHandlerDeps, type RouteTable } from '../core/http/route';
import type { AccountBinding } from '../core/ports/account-binding-store';
import { KommoCodeRefused } from '../core/ports/kommo-account-api';
import { OutboundCallError } from '../core/ports/outbound';
import type { WebhookRequest } from '../core/ports/replay-store';
import { installKommoAccount, uninstallKommoAccount } from '../core/use-cases/kommo-installation';

/**
 * How long an install's code stays bound to its first answer: the 20 minutes Kommo's codes live, plus
 * margin. A repeat of the install within it (a reload of the page) gets that answer again and calls
 * no one; the code could not be exchanged twice anyway.
 */
export const INSTALL_RECORD_SECONDS = 30 * 60;

/** Kommo's codes are a few hundred printable characters; anything longer or other is not one. */
const AUTHORIZATION_CODE = /^[\x21-\x7e]{1,4096}$/;

/** Reflected values are cut to this length: enough to recognise, too short to write a message with. */
const REFLECTED_LENGTH = 80;

/** Kommo's numeric account id, as the disable hook's `account_id` spells it. */
const ACCOUNT_ID = /^[1-9][0-9]{0,15}$/;

const DUPLICATE = Symbol('duplicate');

/** A parameter that appears at most once: its value, undefined when absent, DUPLICATE when repeated. */
function single(query: URLSearchParams, name: string): string | undefined | typeof DUPLICATE {
  const values = query.getAll(name);
  if (values.length > 1) return DUPLICATE;
  return values[0];
}

const reflected = (value: string) => (value.length > REFLECTED_LENGTH ? `${value.slice(0, REFLECTED_LENGTH)}…` : value);

const installAgain = html`Install the integration again from the Kommo account's settings (Settings → Integrations).`;

type InstallRequest =
  | { kind: 'install'; account: KommoAccountHost; code: string }
  | { kind: 'answer'; answer: ApiResult };

const refusal = (statusCode: number, ...paragraphs: Html[]): InstallRequest => ({
  kind: 'answer',
  answer: htmlPage(statusCode, { title: 'Not connected', paragraphs }),
});

/**
 * What Kommo's redirect carries (docs/kommo.md, "Installation (OAuth) and uninstall"): `code`,
 * `referer`, `platform`, optionally `state` and `from_widget`, or `error` when the user refused.
 * Other parameters are ignored; one Kommo reads appearing twice is refused, since which of the two
 * counts would be a guess.
 */
function installRequestOf(query: URLSearchParams): InstallRequest {
  for (const name of ['code', 'referer', 'platform', 'state', 'from_widget', 'error']) {
    if (single(query, name) === DUPLICATE) {
      return refusal(
        400,
        html`The address carries <code>${name}</code> more than once, which Kommo never sends.`,
        installAgain,
      );
    }
  }
  const error = single(query, 'error') as string | undefined;
  if (error === 'access_denied') {
    return {
      kind: 'answer',
      answer: htmlPage(200, {
        title: 'Not connected',
        paragraphs: [
          html`Access was not allowed in Kommo, so the bridge connected nothing.`,
          html`To connect the account, install the integration again and allow access.`,
        ],
      }),
    };
  }
  if (error !== undefined)
    return refusal(
      400,
      html`Kommo reported <code>${reflected(error)}</code> instead of an authorization code; the bridge connected nothing.`,
      installAgain,
    );
  const code = single(query, 'code') as string | undefined;
  const referer = single(query, 'referer') as string | undefined;
  const platform = single(query, 'platform') as string | undefined;
  if (code === undefined || code === '') {
    return refusal(
      400,
      html`The address carries no authorization code (<code>code</code>). This page is opened by Kommo when the integration is installed.`,
      installAgain,
    );
  }
  if (!AUTHORIZATION_CODE.test(code))
    return refusal(400, html`The authorization code (<code>code</code>) is not one Kommo issues.`, installAgain);
  if (referer === undefined || referer === '') {
    return refusal(400, html`The address names no Kommo account (<code>referer</code>).`, installAgain);
  }
  const account = kommoAccountHost(referer);
  if (!account) {
    return refusal(
      400,
      html`<code>${reflected(referer)}</code> is not a Kommo account address: it must be <code>&lt;account&gt;.kommo.com</code>, <code>&lt;account&gt;.amocrm.com</code> or <code>&lt;account&gt;.amocrm.ru</code>.`,
      html`The bridge connected nothing and contacted no one.`,
    );
  }
  if (platform !== undefined && platform !== '1' && platform !== '2') {
    return refusal(400, html`<code>platform</code> must be 1 (amocrm.ru) or 2 (kommo.com, amocrm.com).`, installAgain);
  }
  return { kind: 'install', account, code };
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

  const connectedPage = (binding: AccountBinding, account: KommoAccountHost) =>
    htmlPage(200, {
      title: 'Connected',
      paragraphs: [
        html`Kommo account <strong>${account.host}</strong> (id ${binding.kommoAccountId}) is connected to Kommo Live Bridge: its chats get typing, presence and read status through the bridge.`,
        html`Connected at ${new Date(binding.boundAtMs).toISOString()}. You can close this page.`,
      ],
    });

  /** The install's outcome as a page: 200 connected, or what failed and what to do. */
  const install = async (request: { account: KommoAccountHost; code: string }): Promise<ApiResult> => {
    try {
      return connectedPage(await installKommoAccount(deps, request), request.account);
    } catch (error) {
      if (error instanceof KommoCodeRefused) {
        deps.log.warn('Kommo refused an install code', { account: request.account.host, error: error.message });
        return htmlPage(400, {
          title: 'Not connected',
          paragraphs: [
            html`Kommo refused the authorization code: a code works once, for 20 minutes. The bridge connected nothing.`,
            installAgain,
            html`If this keeps happening, the bridge's integration settings (<code>KOMMO_CLIENT_ID</code>, the secret key, <code>KOMMO_REDIRECT_URI</code>) differ from the integration's in Kommo.`,
          ],
        });
      }
      if (error instanceof OutboundCallError) {
        deps.log.warn('an install failed on a call to Kommo', {
          account: request.account.host,
          error: error.message,
          status: error.status,
        });
        return htmlPage(502, {
          title: 'Not connected',
          paragraphs: [
            html`Kommo could not be reached, or answered what it should not, so nothing was connected.`,
            html`Details: <code>${error.message}</code>`,
            installAgain,
          ],
        });
      }
      if (error instanceof BridgeError) {
        // Which other account holds the binding is for the operator's log, not for whoever holds a code.
        deps.log.warn('an install was refused', {
          account: request.account.host,
          code: error.code,
          error: error.message,
        });
        const paragraphs =
          error.code === 'account_bound_elsewhere'
            ? [
                html`This Kommo account, or its chat account, is already connected to the bridge together with another account, so nothing was changed.`,
                html`The bridge's operator must disconnect it first; then install again.`,
              ]
            : error.code === 'account_change_in_progress'
              ? [
                  html`Another connection or disconnection of this account is in progress, so nothing was changed.`,
                  html`Install the integration again in a minute.`,
                ]
              : [html`${error.message}.`, installAgain];
        return htmlPage(errorAnswer(error).statusCode, { title: 'Not connected', paragraphs });
      }
      deps.log.error('an install failed', {
        error:
          error instanceof Error ? { name: error.name, message: error.message, stack: error.stack } : String(error),
      });
      return htmlPage(500, {
        title: 'Not connected',
        paragraphs: [html`The bridge could not finish the installation; it may not have been applied.`, installAgain],
      });
    }
  };

  /**
   * Each code is answered once: the first request with it claims it (as a chat-service `webhook-id`
   * is claimed, by a hash: the code itself is never stored), a repeat gets the first answer, and a
   * repeat while the first still runs gets 409 without calling anyone. A 5xx gives the claim back.
   */
  const installOnce = async (request: { account: KommoAccountHost; code: string }): Promise<ApiResult> => {
    const codeHash = createHash('sha256').update(request.code).digest('hex');
    const claim: WebhookRequest = {
      webhookId: `kommo-install:${codeHash}`,
      fingerprint: createHash('sha256')
        .update(JSON.stringify(['GET /kommo/install', request.account.host, codeHash]))
        .digest('hex'),
    };
    const claimed = await deps.replays.claim(claim, deps.clock.now(), INSTALL_RECORD_SECONDS);
    if (claimed.state === 'answered')
      return { statusCode: claimed.answer.statusCode, headers: { ...HTML_PAGE_HEADERS }, body: claimed.answer.body };
    if (claimed.state === 'in_progress') {
      return htmlPage(409, {
        title: 'Connecting…',
        paragraphs: [
          html`This installation is still being processed. Reload this page in a few seconds to see how it ended.`,
        ],
      });
    }
    if (claimed.state === 'used_elsewhere') {
      return htmlPage(409, {
        title: 'Not connected',
        paragraphs: [html`This authorization code was already used for another account address.`, installAgain],
      });
    }
    const answer = await install(request);
    try {
      if (answer.statusCode < 500)
        await deps.replays.answer(
          claim,
          { statusCode: answer.statusCode, body: answer.body },
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
    return answer;
  };

  const routes: RouteTable<'kommo-install', (event: ApiEvent) => Promise<ApiResult>> = {
    'GET /kommo/install': async (event) => {
      if (missingForInstall.length > 0) {
        return htmlPage(503, {
          title: 'Not configured',
          paragraphs: [
            html`This bridge does not take installs from Kommo yet: ${missingForInstall.join(', ')} not set. Nothing was connected.`,
          ],
        });
      }
      const request = installRequestOf(new URLSearchParams(event.rawQueryString));
      if (request.kind === 'answer') return request.answer;
      try {
        return await installOnce(request);
      } catch (error) {
        // A person reads this answer: a page, not the JSON error the other routes give.
        deps.log.error('an install failed', {
          error:
            error instanceof Error ? { name: error.name, message: error.message, stack: error.stack } : String(error),
        });
        return htmlPage(500, {
          title: 'Not connected',
          paragraphs: [html`The bridge could not finish the installation; it may not have been applied.`, installAgain],
        });
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
        !kommoDisableHookSignatureMatches(clientUuid, accountId, signature, KOMMO_CLIENT_SECRET!)
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
        return json(502, { error: { code: 'kommo_call_failed', message: error.message } });
      }
    },
  };

  return httpHandler(deps, 'none', async (event) => {
    const route = routeFor(routes, event.routeKey);
    return route(event);
  });
};
