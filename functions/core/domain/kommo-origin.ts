/**
 * Which browser origins may call the widget routes: a Kommo account's own pages, where the widget's
 * JavaScript runs (`https://<subdomain>.kommo.com`, and amoCRM's `amocrm.ru` / `amocrm.com`).
 * CONTRACT.md, "Kommo widget → bridge"; kommo-chat-api.md: "The backend must allow the account's
 * origin via CORS".
 *
 * Browsers send the origin serialized (lower-case scheme and host, no path, default port left out),
 * so anything else (another scheme, a port, a path, a nested subdomain, upper case) is not an
 * account page and is refused.
 */
const KOMMO_ACCOUNT_ORIGIN = /^https:\/\/[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.(?:kommo\.com|amocrm\.ru|amocrm\.com)$/;

export function isKommoAccountOrigin(origin: string | undefined): origin is string {
  return origin !== undefined && KOMMO_ACCOUNT_ORIGIN.test(origin);
}
