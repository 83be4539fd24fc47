import type { DepsOf } from '../core/deps';
import { json, type ApiEvent, type ApiResult } from '../core/http/api';
import { httpHandler, routeFor, type HttpHandlerDeps, type RouteTable } from '../core/http/route';
import {
  answerKommoDisableHook,
  answerKommoInstall,
  missingInstallSettings,
} from '../core/use-cases/kommo-install-requests';
import { installPage } from './install-pages';

/**
 * The integration's Redirect URI (`GET /kommo/install`) and disable hook (`GET /kommo/uninstall`),
 * docs/contract.md, "Installation and uninstall (Kommo OAuth)". Without KOMMO_CLIENT_ID (or the
 * integration's secret, or KOMMO_REDIRECT_URI) the routes answer 503 and call no one, so a stack
 * deployed before the integration exists still starts.
 */
export type KommoInstallDeps = HttpHandlerDeps &
  DepsOf<typeof answerKommoInstall> &
  DepsOf<typeof answerKommoDisableHook>;

export const createKommoInstallHandler = (deps: KommoInstallDeps) => {
  const missing = missingInstallSettings(deps.config);
  if (missing.length > 0)
    deps.log.warn(
      `Kommo installs are not configured (${missing.join(', ')} not set): /kommo/install and /kommo/uninstall answer 503`,
    );

  const routes: RouteTable<'kommo-install', (event: ApiEvent) => Promise<ApiResult>> = {
    // A person reads this answer: a page, not the JSON error the other routes give.
    'GET /kommo/install': async (event) =>
      installPage(
        await answerKommoInstall(deps, new URLSearchParams(event.rawQueryString), event.requestContext.http.sourceIp),
      ),
    'GET /kommo/uninstall': async (event) => {
      const outcome = await answerKommoDisableHook(deps, new URLSearchParams(event.rawQueryString));
      if ('disconnected' in outcome)
        return json(200, { ok: true, kommo_account_id: outcome.kommoAccountId, disconnected: outcome.disconnected });
      return json(502, {
        error: {
          code: 'kommo_call_failed',
          message:
            'Kommo refused or failed the disconnect; nothing was changed, and the disable hook can be sent again',
        },
      });
    },
  };

  return httpHandler(deps, 'none', async (event) => routeFor(routes, event.routeKey)(event));
};
