import { createHmac } from 'node:crypto';
import { hexSignatureMatches } from './amojo-signature';

/**
 * Kommo's disable hook (the integration's "uninstall" URL): a GET with `account_id` (numeric),
 * `client_uuid` (the integration id) and `signature`, the lowercase hex HMAC-SHA256 of
 * `client_uuid + "|" + account_id` keyed with the integration's secret key
 * (docs/kommo.md, "Installation (OAuth) and uninstall").
 *
 * The signature covers the two values exactly as sent, so it is computed over the received strings,
 * before either is parsed.
 */
export function signKommoDisableHook(clientUuid: string, accountId: string, clientSecret: string): string {
  return createHmac('sha256', clientSecret).update(`${clientUuid}|${accountId}`).digest('hex');
}

/** Constant-time check of a presented signature; upper-case hex is refused, as Kommo sends lower case. */
export function kommoDisableHookSignatureMatches(
  clientUuid: string,
  accountId: string,
  presented: string | undefined,
  clientSecret: string,
): boolean {
  return hexSignatureMatches(signKommoDisableHook(clientUuid, accountId, clientSecret), presented);
}
