import { errors, jwtVerify, type JWTPayload } from 'jose';
import { unauthenticated, type BridgeError } from './errors';
import { isKommoAccountOrigin } from './kommo-origin';

/**
 * Kommo one-time tokens: what a widget's `self.$authorizedAjax` puts in `X-Auth-Token`
 * (docs/kommo.md, "Widgets and one-time tokens"). A JWT signed HS256 with the integration's
 * secret key, `iss` = the account's address (`https://<subdomain>.kommo.com`), `aud` = scheme://host
 * of the integration's redirect URI, a `jti` (UUID) per token, `exp` about 30 min after `iat`, and
 * Kommo's numeric `account_id` and `user_id`. Single use (docs/contract.md, "Widget routes, v2"): Kommo mints a fresh one
 * for every `$authorizedAjax` call, so the bridge accepts each `jti` once (`use-cases/widget-caller.ts`).
 */

/** docs/contract.md: `exp` and `nbf` are enforced with 60 s of leeway for clock differences with Kommo. */
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

/** A token that passed every check: who it speaks for, and what is needed to accept it only once. */
export interface VerifiedWidgetToken extends KommoWidgetIdentity {
  /** The token's `jti`. */
  tokenId: string;
  /** Epoch seconds until which the token would still be accepted (`exp` plus the leeway): how long its use must be remembered. */
  usableUntilSeconds: number;
}

/** Kommo's `jti` is a UUID; anything from 1 to 128 printable ASCII characters is taken, nothing longer goes into a table key. */
const TOKEN_ID = /^[\x21-\x7e]{1,128}$/;

export function kommoWidgetTokenRules(clientSecret: string, redirectUri: string): KommoWidgetTokenRules {
  return { key: new TextEncoder().encode(clientSecret), audience: new URL(redirectUri).origin };
}

/** Verifies the token at `nowMs` (the bridge's clock); any failure is a 401 naming the rule. */
export async function verifyKommoWidgetToken(
  token: string | undefined,
  rules: KommoWidgetTokenRules,
  nowMs: number,
): Promise<VerifiedWidgetToken> {
  if (token === undefined || token === '') {
    throw unauthenticated(
      'missing_token',
      'X-Auth-Token is required: the Kommo one-time token the widget sends with $authorizedAjax',
    );
  }
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(token, rules.key, {
      // Only HS256: refuses `none` and every other algorithm, so no token can choose how it is checked.
      algorithms: ['HS256'],
      audience: rules.audience,
      clockTolerance: WIDGET_TOKEN_LEEWAY_SECONDS,
      currentDate: new Date(nowMs),
      // Without `exp` a token would never expire, without `jti` it could not be used only once, without
      // `iss` it would name no account; Kommo sets all three.
      requiredClaims: ['exp', 'jti', 'iss'],
    }));
  } catch (error) {
    throw tokenRefusal(error);
  }
  const kommoAccountId = payload.account_id;
  const kommoUserId = payload.user_id;
  if (!isKommoId(kommoAccountId) || !isKommoId(kommoUserId)) {
    throw unauthenticated(
      'invalid_token_claims',
      "X-Auth-Token must carry Kommo's numeric account_id and user_id claims",
    );
  }
  if (typeof payload.jti !== 'string' || !TOKEN_ID.test(payload.jti)) {
    throw unauthenticated(
      'invalid_token_claims',
      "X-Auth-Token claim jti must be the token's id (1-128 printable characters)",
    );
  }
  checkIssuer(payload);
  // `exp` is required above, and jose has checked it is a number.
  return {
    kommoAccountId,
    kommoUserId,
    tokenId: payload.jti,
    usableUntilSeconds: (payload.exp as number) + WIDGET_TOKEN_LEEWAY_SECONDS,
  };
}

/**
 * `iss` is the address of the account the token was minted in: an account page origin, whose first
 * label is the account's subdomain, so it must equal the `subdomain` claim when the token has one.
 */
function checkIssuer(payload: JWTPayload): void {
  const issuer = payload.iss;
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

function tokenRefusal(error: unknown): BridgeError {
  if (error instanceof errors.JWTExpired) {
    return unauthenticated(
      'token_expired',
      `X-Auth-Token has expired (exp is more than ${WIDGET_TOKEN_LEEWAY_SECONDS} s ago); the widget must ask Kommo for a new one`,
    );
  }
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.claim === 'nbf' && error.reason === 'check_failed') {
      return unauthenticated(
        'token_not_yet_valid',
        `X-Auth-Token is not valid yet (nbf is more than ${WIDGET_TOKEN_LEEWAY_SECONDS} s ahead)`,
      );
    }
    if (error.claim === 'aud') {
      return unauthenticated(
        'invalid_token_audience',
        "X-Auth-Token aud must be the origin of the integration's redirect URI (KOMMO_REDIRECT_URI)",
      );
    }
    if (error.claim === 'iss') {
      return unauthenticated('invalid_token_issuer', "X-Auth-Token iss is required: the Kommo account's address");
    }
    return unauthenticated('invalid_token_claims', `X-Auth-Token claim ${error.claim} is missing or malformed`);
  }
  return unauthenticated(
    'invalid_token',
    "X-Auth-Token must be a Kommo one-time token: a JWT signed with HS256 and the integration's secret key",
  );
}
