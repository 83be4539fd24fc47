import { compactVerify } from 'jose';
import { unauthenticated } from './errors';
import { isKommoAccountOrigin } from './kommo-origin';

/**
 * Kommo one-time tokens: what a widget's `self.$authorizedAjax` puts in `X-Auth-Token`
 * (docs/kommo.md, "Widgets and one-time tokens"). A JWT signed HS256 with the integration's
 * secret key, `iss` = the account's address (`https://<subdomain>.kommo.com`), `aud` = scheme://host
 * of the integration's redirect URI, `exp` about 30 min after `iat`, and Kommo's numeric `account_id`
 * and `user_id`. Not single use (docs/contract.md, "v3 changes"): Kommo reuses one token for a page's
 * life (about 25 min), so the bridge accepts it until `exp` and writes nothing per token.
 */

/** docs/contract.md: `exp`, `iat` and `nbf` are enforced with 60 s of leeway for clock differences with Kommo. */
export const WIDGET_TOKEN_LEEWAY_SECONDS = 60;

export interface KommoWidgetTokenRules {
  /** `KOMMO_CLIENT_SECRET`, the integration's secret key, as the HMAC key bytes. */
  key: Uint8Array;
  /** The origin of `KOMMO_REDIRECT_URI`, which Kommo puts in `aud`. */
  audience: string;
}

/** The Kommo user a valid token speaks for. */
export interface KommoWidgetIdentity {
  /** Kommo's numeric account id (not the amojo id). */
  kommoAccountId: number;
  /** Kommo's numeric user id. */
  kommoUserId: number;
}

/** `exp` at most this long after `iat` and after now: Kommo's tokens live about 30 minutes (docs/contract.md, v3). */
export const WIDGET_TOKEN_MAX_LIFETIME_SECONDS = 3600;

export function kommoWidgetTokenRules(clientSecret: string, redirectUri: string): KommoWidgetTokenRules {
  return { key: new TextEncoder().encode(clientSecret), audience: new URL(redirectUri).origin };
}

/**
 * Verifies the token at `nowMs` (the bridge's clock); any failure is a 401 naming the rule. A token
 * passes any number of times until its `exp`: Kommo reuses one per page (docs/contract.md, "v3
 * changes"), so what a stolen token allows is bounded by its lifetime, which is why a lifetime over
 * 1 h is refused. jose checks only the signature here; the claims are checked below, by our rules,
 * so that no claim value (`exp: 1e300`, a fraction, a string) reaches anything but a 401.
 */
export async function verifyKommoWidgetToken(
  token: string | undefined,
  rules: KommoWidgetTokenRules,
  nowMs: number,
): Promise<KommoWidgetIdentity> {
  if (token === undefined || token === '') {
    throw unauthenticated(
      'missing_token',
      'X-Auth-Token is required: the Kommo one-time token the widget sends with $authorizedAjax',
    );
  }
  let payload: Record<string, unknown>;
  try {
    // Only HS256: refuses `none` and every other algorithm, so no token can choose how it is checked.
    const verified = await compactVerify(token, rules.key, { algorithms: ['HS256'] });
    const parsed: unknown = JSON.parse(new TextDecoder().decode(verified.payload));
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not a claims object');
    payload = parsed as Record<string, unknown>;
  } catch {
    throw invalidToken("a JWT signed with HS256 and the integration's secret key, its payload a JSON object");
  }
  checkTimes(payload, Math.floor(nowMs / 1000));
  checkAudience(payload.aud, rules.audience);
  const kommoAccountId = payload.account_id;
  const kommoUserId = payload.user_id;
  if (!isKommoId(kommoAccountId) || !isKommoId(kommoUserId)) {
    throw unauthenticated(
      'invalid_token_claims',
      "X-Auth-Token must carry Kommo's numeric account_id and user_id claims",
    );
  }
  checkIssuer(payload);
  return { kommoAccountId, kommoUserId };
}

/**
 * `exp` is required (without it a token would never expire); `iat` and `nbf` are optional, as in
 * Kommo's PHP library. Every time is a whole number of seconds within the safe integers.
 */
function checkTimes(payload: Record<string, unknown>, nowSeconds: number): void {
  const exp = payload.exp;
  if (exp === undefined) throw unauthenticated('invalid_token_claims', 'X-Auth-Token claim exp is required');
  for (const claim of ['exp', 'iat', 'nbf'] as const) {
    const value = payload[claim];
    if (value !== undefined && !Number.isSafeInteger(value)) {
      throw invalidToken(`claim ${claim} must be a whole number of seconds (a safe integer)`);
    }
  }
  const expSeconds = exp as number;
  const iat = payload.iat as number | undefined;
  const nbf = payload.nbf as number | undefined;
  if (expSeconds + WIDGET_TOKEN_LEEWAY_SECONDS < nowSeconds) {
    throw unauthenticated(
      'token_expired',
      `X-Auth-Token has expired (exp is more than ${WIDGET_TOKEN_LEEWAY_SECONDS} s ago); the widget must ask Kommo for a new one`,
    );
  }
  if (
    expSeconds - nowSeconds > WIDGET_TOKEN_MAX_LIFETIME_SECONDS ||
    (iat !== undefined && expSeconds - iat > WIDGET_TOKEN_MAX_LIFETIME_SECONDS)
  ) {
    throw invalidToken(`exp must be at most ${WIDGET_TOKEN_MAX_LIFETIME_SECONDS} s after iat and after now`);
  }
  for (const [claim, value] of [
    ['iat', iat],
    ['nbf', nbf],
  ] as const) {
    if (value !== undefined && value - nowSeconds > WIDGET_TOKEN_LEEWAY_SECONDS) {
      throw invalidToken(`claim ${claim} is more than ${WIDGET_TOKEN_LEEWAY_SECONDS} s in the future`);
    }
  }
}

/**
 * `aud` (a string, or a list holding one) must name the origin of the redirect URI. Compared as
 * origins: `https://bridge.example.com/` is that origin too; a path, query or other host is not.
 */
function checkAudience(aud: unknown, audience: string): void {
  const candidates = typeof aud === 'string' ? [aud] : Array.isArray(aud) ? aud : [];
  if (!candidates.some((candidate) => typeof candidate === 'string' && asOrigin(candidate) === audience)) {
    throw unauthenticated(
      'invalid_token_audience',
      "X-Auth-Token aud must be the origin of the integration's redirect URI (KOMMO_REDIRECT_URI)",
    );
  }
}

/** `value` as an origin when it is one, with or without a trailing `/`; undefined otherwise. */
function asOrigin(value: string): string | undefined {
  if (!URL.canParse(value)) return undefined;
  const url = new URL(value);
  if (url.pathname !== '/' || url.search !== '' || url.hash !== '' || url.username !== '' || url.password !== '') {
    return undefined;
  }
  return value === url.origin || value === `${url.origin}/` ? url.origin : undefined;
}

/**
 * `iss` is the address of the account the token was minted in: an account page origin (a trailing
 * `/` makes no difference), whose first label is the account's subdomain, so it must equal the
 * `subdomain` claim when the token has one.
 */
function checkIssuer(payload: Record<string, unknown>): void {
  const issuer = typeof payload.iss === 'string' && payload.iss.endsWith('/') ? payload.iss.slice(0, -1) : payload.iss;
  if (typeof issuer !== 'string' || !isKommoAccountOrigin(issuer)) {
    throw unauthenticated(
      'invalid_token_issuer',
      "X-Auth-Token iss must be the Kommo account's address: https://<subdomain>.kommo.com (or .amocrm.com, .amocrm.ru)",
    );
  }
  const subdomain = new URL(issuer).hostname.split('.')[0];
  if (payload.subdomain !== undefined && payload.subdomain !== subdomain) {
    throw unauthenticated(
      'invalid_token_issuer',
      'X-Auth-Token iss must be the address of the account its subdomain claim names',
    );
  }
}

function isKommoId(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value > 0;
}

const invalidToken = (rule: string) =>
  unauthenticated('invalid_token', `X-Auth-Token must be a Kommo one-time token: ${rule}`);
