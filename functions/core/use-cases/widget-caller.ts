import { requireSettings, type BridgeConfig } from '../config';
import { forbidden } from '../domain/errors';
import {
  kommoWidgetTokenRules,
  verifyKommoWidgetToken,
  type KommoWidgetTokenRules,
} from '../domain/kommo-widget-token';
import type { Scope } from '../domain/scope';
import type { BridgeDeps } from '../deps';

/** Who calls a widget route: a Kommo user of an account that `/admin/connect` bound to a scope. */
export interface WidgetCaller {
  scope: Scope;
  kommoAccountId: number;
  kommoUserId: number;
}

/**
 * The token rules from the settings. The widget function calls this when it starts, so without
 * `KOMMO_CLIENT_SECRET` or `KOMMO_REDIRECT_URI` it stops with one line naming the setting.
 */
export function widgetTokenRulesFrom(config: BridgeConfig): KommoWidgetTokenRules {
  const settings = requireSettings(config, ['KOMMO_CLIENT_SECRET', 'KOMMO_REDIRECT_URI'], 'the /widget/... routes');
  return kommoWidgetTokenRules(settings.KOMMO_CLIENT_SECRET, settings.KOMMO_REDIRECT_URI);
}

/**
 * Verifies the one-time token (401), then finds the scope its account is bound to (403 when none).
 * Nothing is written: a token is accepted any number of times until its `exp` (docs/contract.md,
 * "v3 changes"), because Kommo reuses one token for a page's life.
 */
export async function authenticateWidgetCaller(
  deps: Pick<BridgeDeps, 'clock' | 'accountBindings'>,
  rules: KommoWidgetTokenRules,
  token: string | undefined,
): Promise<WidgetCaller> {
  const verified = await verifyKommoWidgetToken(token, rules, deps.clock.now());
  const binding = await deps.accountBindings.byKommoAccount(verified.kommoAccountId);
  if (!binding) {
    throw forbidden(
      'account_not_connected',
      `Kommo account ${verified.kommoAccountId} is not connected to this bridge; an operator connects it with POST /admin/connect`,
    );
  }
  return {
    scope: { scopeId: binding.scopeId, accountId: binding.amojoAccountId },
    kommoAccountId: verified.kommoAccountId,
    kommoUserId: verified.kommoUserId,
  };
}
