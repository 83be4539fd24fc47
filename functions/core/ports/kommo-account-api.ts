import type { KommoAccountHost } from '../domain/kommo-origin';
import type { CallDeadline } from './outbound';

/** What Kommo's token endpoint issued for an authorization code; the bridge uses the access token once and keeps neither. */
export interface KommoAccessToken {
  accessToken: string;
}

/** The account an access token belongs to, from `GET /api/v4/account?with=amojo_id`. */
export interface KommoAccountInfo {
  /** Kommo's numeric account id (what widget tokens carry as `account_id`). */
  id: number;
  subdomain: string;
  /** The account's Chat API (amojo) id: what `connect` takes. */
  amojoId: string;
}

/**
 * Why Kommo would not exchange an authorization code: it answered 400, which its OAuth server gives a
 * code that was used, expired or issued for another redirect URI (docs/kommo.md). The install
 * page tells the user to install again; anything else Kommo answers is an `OutboundCallError`.
 */
export class KommoCodeRefused extends Error {
  override readonly name = 'KommoCodeRefused';
}

/**
 * A Kommo account's own API, at the account's host (`KOMMO_ACCOUNT_URL`), with the integration's
 * credentials (`KOMMO_CLIENT_ID`, `KOMMO_CLIENT_SECRET`, `KOMMO_REDIRECT_URI`). Every method throws
 * `OutboundCallError` when Kommo cannot be reached or answers what it should not.
 */
export interface KommoAccountApi {
  /** `POST /oauth2/access_token` with `grant_type=authorization_code`; throws `KommoCodeRefused` on 400. */
  exchangeAuthorizationCode(account: KommoAccountHost, code: string, call?: CallDeadline): Promise<KommoAccessToken>;
  /** `GET /api/v4/account?with=amojo_id` with the access token. */
  account(account: KommoAccountHost, accessToken: string, call?: CallDeadline): Promise<KommoAccountInfo>;
}
