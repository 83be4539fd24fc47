import { BridgeError } from '../core/domain/errors';
import { header, json, pathParameter, rawBody } from '../core/http/api';
import { httpHandler, type HttpHandlerDeps } from '../core/http/route';
import { acceptKommoHook, type AcceptKommoHookDeps } from '../core/use-cases/accept-kommo-hook';
import { httpRoutes } from '../manifest';

export type KommoHookDeps = HttpHandlerDeps & AcceptKommoHookDeps;

/** The methods of Kommo's routes with a fixed path (`/kommo/install`, `/kommo/uninstall`), which `{scope_id}` also matches. */
const fixedKommoRoutes = new Map<string, string[]>();
for (const route of httpRoutes) {
  if (route.path.startsWith('/kommo/') && !route.path.includes('{'))
    fixedKommoRoutes.set(route.path, [...(fixedKommoRoutes.get(route.path) ?? []), route.method]);
}

/** `POST /kommo/{scope_id}`: Kommo's channel webhook. Answers 200 once the hook is queued; work happens after. */
export const createKommoHookHandler = (deps: KommoHookDeps) =>
  httpHandler(deps, 'none', async (event) => {
    // API Gateway routes `POST /kommo/install` here (`{scope_id}` = "install"): a wrong method on a
    // route of its own (`GET /kommo/install`), so 405 as for any other, not a 404 about a scope.
    const otherwise = fixedKommoRoutes.get(event.rawPath);
    if (otherwise)
      throw new BridgeError(
        'method_not_allowed',
        'method_not_allowed',
        `POST is not allowed here; use ${otherwise.join(' or ')}`,
      );
    await acceptKommoHook(deps, {
      scopeId: pathParameter(event, 'scope_id'),
      rawBody: rawBody(event),
      signature: header(event, 'x-signature'),
    });
    return json(200, { ok: true });
  });
