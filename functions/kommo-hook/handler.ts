import { header, json, pathParameter, rawBody } from '../core/http/api';
import { httpHandler, type HttpHandlerDeps } from '../core/http/route';
import { acceptKommoHook, type AcceptKommoHookDeps } from '../core/use-cases/accept-kommo-hook';

export type KommoHookDeps = HttpHandlerDeps & AcceptKommoHookDeps;

/** `POST /kommo/{scope_id}`: Kommo's channel webhook. Answers 200 once the hook is queued; work happens after. */
export const createKommoHookHandler = (deps: KommoHookDeps) =>
  httpHandler(deps, 'none', async (event) => {
    await acceptKommoHook(deps, {
      scopeId: pathParameter(event, 'scope_id'),
      rawBody: rawBody(event),
      signature: header(event, 'x-signature'),
    });
    return json(200, { ok: true });
  });
