import { randomUUID } from 'node:crypto';
import { SignJWT, type JWTPayload } from 'jose';

export interface KommoWidgetTokenOptions {
  /** `KOMMO_CLIENT_SECRET`, the integration's secret key. */
  clientSecret: string;
  /** `KOMMO_REDIRECT_URI`; its origin becomes `aud`, as Kommo makes it. */
  redirectUri: string;
  kommoAccountId: number;
  kommoUserId: number;
  /** The account's subdomain, for `iss` and `subdomain`. */
  subdomain: string;
  nowMs: number;
  /** Kommo's tokens live about 30 minutes; the bridge refuses more than 1 h. */
  ttlSeconds?: number;
  /** Claims to add or replace (tests use it to break one rule at a time). */
  claims?: JWTPayload;
}

/**
 * A one-time token as Kommo makes it for a widget's `$authorizedAjax` (docs/kommo.md, "Widgets
 * and one-time tokens"): for the sandbox's ready-to-paste requests and for tests. Only Kommo makes
 * real ones. Kommo reuses one token for a page's life (docs/contract.md, "v3 changes"); the bridge
 * never looks at `jti`, which is here only because Kommo's tokens carry one.
 */
export function signKommoWidgetToken(options: KommoWidgetTokenOptions): Promise<string> {
  const nowSeconds = Math.floor(options.nowMs / 1000);
  return new SignJWT({
    iss: `https://${options.subdomain}.kommo.com`,
    aud: new URL(options.redirectUri).origin,
    jti: randomUUID(),
    iat: nowSeconds,
    nbf: nowSeconds,
    exp: nowSeconds + (options.ttlSeconds ?? 30 * 60),
    account_id: options.kommoAccountId,
    user_id: options.kommoUserId,
    client_uuid: randomUUID(),
    subdomain: options.subdomain,
    ...options.claims,
  })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .sign(new TextEncoder().encode(options.clientSecret));
}
