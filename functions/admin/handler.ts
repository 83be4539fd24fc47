import * as z from '../core/zod';
import { requireSettings } from '../core/config';
import { adminBearerMatches } from '../core/domain/admin-token';
import { unauthenticated } from '../core/domain/errors';
import type { DepsOf } from '../core/deps';
import { header, json, parseJsonBody, rawBody, type ApiEvent, type ApiResult } from '../core/http/api';
import { httpHandler, routeFor, type HttpHandlerDeps, type RouteTable } from '../core/http/route';
import { OutboundCallError } from '../core/ports/outbound';
import { connectAccount, disconnectAccount } from '../core/use-cases/account-connection';

/** An amojo id as it appears in a scope (functions/core/domain/scope.ts). */
const amojoAccountId = z.string({ error: 'amojo_account_id is required and must be a string' }).check(
  z.regex(/^[A-Za-z0-9-]{1,64}$/, {
    message: "amojo_account_id must be the account's amojo id (1-64 letters, digits, dashes)",
  }),
);

const kommoAccountId = z
  .number({ error: "kommo_account_id must be Kommo's numeric account id" })
  .check(
    z.int({ message: 'kommo_account_id must be a whole number' }),
    z.positive({ message: 'kommo_account_id must be positive' }),
    z.lte(Number.MAX_SAFE_INTEGER, { message: 'kommo_account_id is too large' }),
  );

export const connectRequestSchema = z.strictObject({
  amojo_account_id: amojoAccountId,
  kommo_account_id: kommoAccountId,
  title: z
    .string({ error: 'title is required and must be a string' })
    .check(
      z.trim(),
      z.minLength(1, { message: 'title must be 1-255 characters' }),
      z.maxLength(255, { message: 'title must be 1-255 characters' }),
    ),
});

export const disconnectRequestSchema = z.union(
  [z.strictObject({ kommo_account_id: kommoAccountId }), z.strictObject({ amojo_account_id: amojoAccountId })],
  { error: 'The body must be {"kommo_account_id": <number>} or {"amojo_account_id": "<amojo id>"}' },
);

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
