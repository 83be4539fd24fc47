import { requireSettings } from '../core/config';
import { adminBearerMatches } from '../core/domain/admin-token';
import { unauthenticated } from '../core/domain/errors';
import type { DepsOf } from '../core/deps';
import { header, json, parseJsonBody, rawBody, type ApiEvent, type ApiResult } from '../core/http/api';
import { httpHandler, routeFor, type HttpHandlerDeps, type RouteTable } from '../core/http/route';
import { OutboundCallError } from '../core/ports/outbound';
import { connectAccount, disconnectAccount } from '../core/use-cases/account-connection';
import { connectRequestSchema, disconnectRequestSchema } from './requests';

export type AdminDeps = HttpHandlerDeps & DepsOf<typeof connectAccount> & DepsOf<typeof disconnectAccount>;

/**
 * `POST /admin/connect` and `POST /admin/disconnect` (docs/contract.md, "Operator → bridge"), for the
 * bearer ADMIN_TOKEN only. Without ADMIN_TOKEN the function does not start.
 */
export const createAdminHandler = (deps: AdminDeps) => {
  const { ADMIN_TOKEN } = requireSettings(deps.config, ['ADMIN_TOKEN'], 'the /admin/... routes');

  const routes: RouteTable<'admin', (event: ApiEvent) => Promise<ApiResult>> = {
    'POST /admin/connect': async (event) => {
      const request = parseJsonBody(rawBody(event), connectRequestSchema);
      const binding = await connectAccount(deps, {
        amojoAccountId: request.amojo_account_id,
        kommoAccountId: request.kommo_account_id,
        title: request.title,
      });
      return json(200, {
        ok: true,
        scope_id: binding.scopeId,
        kommo_account_id: binding.kommoAccountId,
        amojo_account_id: binding.amojoAccountId,
      });
    },
    'POST /admin/disconnect': async (event) => {
      const request = parseJsonBody(rawBody(event), disconnectRequestSchema);
      const outcome = await disconnectAccount(
        deps,
        'kommo_account_id' in request
          ? { kommoAccountId: request.kommo_account_id }
          : { amojoAccountId: request.amojo_account_id },
      );
      return json(200, {
        ok: true,
        amojo_account_id: outcome.amojoAccountId,
        kommo_account_id: outcome.binding?.kommoAccountId ?? null,
      });
    },
  };

  return httpHandler(deps, 'none', async (event) => {
    if (!adminBearerMatches(header(event, 'authorization'), ADMIN_TOKEN)) {
      throw unauthenticated(
        header(event, 'authorization') ? 'invalid_admin_token' : 'missing_admin_token',
        'Authorization must be "Bearer <ADMIN_TOKEN>"',
      );
    }
    const route = routeFor(routes, event.routeKey, 'admin route');
    try {
      return await route(event);
    } catch (error) {
      if (!(error instanceof OutboundCallError)) throw error;
      // Kommo refused or could not be reached: a bad gateway, with Kommo's own error type for the operator.
      deps.log.warn('Kommo refused an operator call', {
        error: error.message,
        status: error.status,
        errorType: error.errorType,
      });
      return json(502, { error: { code: 'kommo_call_failed', message: error.message } });
    }
  });
};
