import { errors, jwtVerify, type JWTPayload } from 'jose';
import { unauthenticated, type BridgeError } from './errors';

/**
 * Kommo one-time tokens: what a widget's `self.$authorizedAjax` puts in `X-Auth-Token`
 * (kommo-chat-api.md, "Widgets and one-time tokens"). A JWT signed HS256 with the integration's
 * secret key, `aud` = scheme://host of the integration's redirect URI, `exp` about 30 min after
 * `iat`, and Kommo's numeric `account_id` and `user_id`.
 */

/** CONTRACT.md: `exp` and `nbf` are enforced with 60 s of leeway for clock differences with Kommo. */
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

export function kommoWidgetTokenRules(clientSecret: string, redirectUri: string): KommoWidgetTokenRules {
  return { key: new TextEncoder().encode(clientSecret), audience: new URL(redirectUri).origin };
}

/** Verifies the token at `nowMs` (the bridge's clock); any failure is a 401 naming the rule. */
export async function verifyKommoWidgetToken(token: string | undefined, rules: KommoWidgetTokenRules, nowMs: number): Promise<KommoWidgetIdentity> {
  if (token === undefined || token === '') {
    throw unauthenticated('missing_token', 'X-Auth-Token is required: the Kommo one-time token the widget sends with $authorizedAjax');
  }
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(token, rules.key, {
      // Only HS256: refuses `none` and every other algorithm, so no token can choose how it is checked.
      algorithms: ['HS256'],
      audience: rules.audience,
      clockTolerance: WIDGET_TOKEN_LEEWAY_SECONDS,
      currentDate: new Date(nowMs),
      // A token without `exp` would never expire; Kommo always sets it.
      requiredClaims: ['exp'],
    }));
  } catch (error) {
    throw tokenRefusal(error);
  }
  const kommoAccountId = payload.account_id;
  const kommoUserId = payload.user_id;
  if (!isKommoId(kommoAccountId) || !isKommoId(kommoUserId)) {
    throw unauthenticated('invalid_token_claims', 'X-Auth-Token must carry Kommo\'s numeric account_id and user_id claims');
  }
  return { kommoAccountId, kommoUserId };
}

function isKommoId(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value > 0;
}

function tokenRefusal(error: unknown): BridgeError {
  if (error instanceof errors.JWTExpired) {
    return unauthenticated('token_expired', `X-Auth-Token has expired (exp is more than ${WIDGET_TOKEN_LEEWAY_SECONDS} s ago); the widget must ask Kommo for a new one`);
  }
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.claim === 'nbf' && error.reason === 'check_failed') {
      return unauthenticated('token_not_yet_valid', `X-Auth-Token is not valid yet (nbf is more than ${WIDGET_TOKEN_LEEWAY_SECONDS} s ahead)`);
    }
    if (error.claim === 'aud') {
      return unauthenticated('invalid_token_audience', 'X-Auth-Token aud must be the origin of the integration\'s redirect URI (KOMMO_REDIRECT_URI)');
    }
    return unauthenticated('invalid_token_claims', `X-Auth-Token claim ${error.claim} is missing or malformed`);
  }
  return unauthenticated('invalid_token', 'X-Auth-Token must be a Kommo one-time token: a JWT signed with HS256 and the integration\'s secret key');
}
