/**
 * Kommo account addresses: `<subdomain>.kommo.com`, and amoCRM's `<subdomain>.amocrm.ru` /
 * `<subdomain>.amocrm.com` (one product; docs/kommo.md, "Installation (OAuth) and uninstall").
 *
 * The subdomain is one DNS label in lower case; anything else (a nested subdomain, a port, userinfo,
 * a path, an IP literal, upper case, a look-alike suffix) is not an account address and is refused.
 */
const ACCOUNT_SUBDOMAIN = '[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?';
const ACCOUNT_DOMAINS = ['kommo.com', 'amocrm.ru', 'amocrm.com'] as const;

export type KommoAccountDomain = (typeof ACCOUNT_DOMAINS)[number];

const KOMMO_ACCOUNT_HOST = new RegExp(
  `^(${ACCOUNT_SUBDOMAIN})\\.(${ACCOUNT_DOMAINS.map((domain) => domain.replaceAll('.', '\\.')).join('|')})$`,
);

/** A Kommo account's host, as Kommo names it in an install redirect's `referer`. */
export interface KommoAccountHost {
  /** `example.kommo.com` */
  host: string;
  /** `example`: the account's subdomain, the host's first label. */
  subdomain: string;
  domain: KommoAccountDomain;
}

/** The account host `value` names, or undefined when it is not exactly a Kommo account host. */
export function kommoAccountHost(value: string | undefined): KommoAccountHost | undefined {
  const match = value === undefined ? null : KOMMO_ACCOUNT_HOST.exec(value);
  const [host, subdomain, domain] = match ?? [];
  if (host === undefined || subdomain === undefined) return undefined;
  return { host, subdomain, domain: domain as KommoAccountDomain };
}

/**
 * Which browser origins may call the widget routes: a Kommo account's own pages, where the widget's
 * JavaScript runs (`https://<subdomain>.kommo.com`, and amoCRM's `amocrm.ru` / `amocrm.com`).
 * docs/contract.md, "Kommo widget → bridge"; docs/kommo.md, "Widgets and one-time tokens": the backend
 * must answer CORS for the account's origin.
 *
 * Browsers send the origin serialized (lower-case scheme and host, no path, default port left out),
 * so anything else (another scheme, a port, a path, a nested subdomain, upper case) is not an
 * account page and is refused.
 */
export function isKommoAccountOrigin(origin: string | undefined): origin is string {
  return origin?.startsWith('https://') === true && kommoAccountHost(origin.slice('https://'.length)) !== undefined;
}

/**
 * Labels under Kommo's and amoCRM's domains that are Kommo's own services, never an account:
 * the site, its help, status and developer pages, the APIs and login hosts. An install naming one is
 * refused: the bridge would send the integration's secret to a host that is not the account's.
 * (docs/contract.md, "Installation and uninstall", lists them.)
 */
export const KOMMO_SERVICE_LABELS: ReadonlySet<string> = new Set([
  'www',
  'api',
  'amojo',
  'id',
  'auth',
  'oauth',
  'login',
  'help',
  'support',
  'status',
  'developers',
  'blog',
  'academy',
  'partners',
  'market',
  'marketplace',
  'shop',
  'billing',
  'app',
  'apps',
  'admin',
  'mail',
  'cdn',
  'static',
  'media',
  'files',
  'docs',
  'forum',
  'community',
  'news',
  'chat',
  'ws',
]);

/** Whether the host is one of Kommo's own services (`KOMMO_SERVICE_LABELS`) rather than an account. */
export function isKommoServiceHost(account: KommoAccountHost): boolean {
  return KOMMO_SERVICE_LABELS.has(account.subdomain);
}

/** Kommo's `platform` in an install redirect: 1 for amoCRM's Russian domain, 2 for kommo.com and amocrm.com. */
export function platformOfDomain(domain: KommoAccountDomain): '1' | '2' {
  return domain === 'amocrm.ru' ? '1' : '2';
}
