import { KOMMO_USER_PING_DEFAULT_SECONDS, KOMMO_USER_WINDOW_DEFAULT_SECONDS } from './domain/kommo-user-presence';
import * as z from './zod';

/**
 * The bridge's settings, named as in the external contract (docs/contract.md, "Configuration").
 *
 * One schema serves every place a setting comes from: plain environment variables locally, and
 * environment variables plus the Secrets Manager secret in AWS (see `wiring.ts`).
 */

const url = (name: string) =>
  z.pipe(
    z.string({ error: `${name} is required` }).check(
      z.refine((value) => /^https?:\/\/[^\s/]+/.test(value) && URL.canParse(value), {
        message: `${name} must be an http(s) URL`,
      }),
    ),
    z.transform((value: string) => value.replace(/\/+$/, '')),
  );

/** The ranges of the Kommo user's ping and window, shared with the stack's `kommoUserPresence` check. */
export const KOMMO_USER_PING_SECONDS_RANGE = { min: 10, max: 300 } as const;
export const KOMMO_USER_WINDOW_SECONDS_RANGE = { min: 30, max: 900 } as const;

const int = (name: string, min: number, max: number, fallback: number) =>
  z.pipe(
    z.optional(z.string()),
    z.transform((value: string | undefined, ctx) => {
      if (value === undefined || value === '') return fallback;
      const parsed = Number(value);
      if (!Number.isInteger(parsed) || parsed < min || parsed > max) {
        // zod/mini's transform context has no addIssue: the issue goes on the list itself.
        ctx.issues.push({
          code: 'custom',
          message: `${name} must be a whole number from ${min} to ${max}`,
          input: value,
        });
        return z.NEVER;
      }
      return parsed;
    }),
  );

/** An empty value counts as unset. */
const emptyAsUnset = () =>
  z.pipe(
    z.optional(z.string()),
    z.transform((value: string | undefined) => (value === '' ? undefined : value)),
  );

/** Kommo issues the channel secret as 40 hex characters; it is used as an ASCII key, never decoded. */
const channelSecret = z
  .string({ error: 'KOMMO_CHANNEL_SECRET is required' })
  .check(
    z.regex(/^[0-9a-fA-F]{40}$/, { message: 'KOMMO_CHANNEL_SECRET must be the 40-character hex secret Kommo issued' }),
  );

/** Standard Webhooks secrets are `whsec_` followed by base64 of at least 24 random bytes. */
const chatServiceSecret = z.string({ error: 'CHAT_SERVICE_SECRET is required' }).check(
  z.regex(/^whsec_[A-Za-z0-9+/]{32,}={0,2}$/, {
    message: 'CHAT_SERVICE_SECRET must be "whsec_" followed by base64 of at least 24 bytes',
  }),
);

const optionalUrl = (name: string) => z.pipe(emptyAsUnset(), z.optional(url(name)));

const optionalSecret = (name: string, min: number) =>
  z.pipe(
    emptyAsUnset(),
    z.optional(z.string().check(z.minLength(min, { message: `${name} must be at least ${min} characters` }))),
  );

/** The placeholder of `CHAT_SERVICE_STATUS_URL`. */
export const MSGID_PLACEHOLDER = '{msgid}';

/**
 * Where the bridge asks the chat service for a message's delivery status: an http(s) URL template with
 * `{msgid}` (percent-encoded when filled in) in its path or query, never in its host. Empty means no polling.
 */
const statusUrlTemplate = z.pipe(
  emptyAsUnset(),
  z.optional(
    z.string().check(
      z.refine((value) => value.includes(MSGID_PLACEHOLDER), {
        message: `CHAT_SERVICE_STATUS_URL must contain ${MSGID_PLACEHOLDER}, where the message id goes`,
      }),
      z.refine((value) => isStatusUrlTemplate(value), {
        message: `CHAT_SERVICE_STATUS_URL must be an http(s) URL with ${MSGID_PLACEHOLDER} in its path or query`,
      }),
    ),
  ),
);

/** The status URL for one message: `{msgid}` percent-encoded, so no message id can reach another path or query. */
export function statusUrlFor(template: string, msgid: string): string {
  return template.replaceAll(MSGID_PLACEHOLDER, encodeURIComponent(msgid));
}

function isStatusUrlTemplate(template: string): boolean {
  const filled = [statusUrlFor(template, 'a'), statusUrlFor(template, 'b')];
  if (!filled.every((candidate) => /^https?:\/\/[^\s/?#]+/.test(candidate) && URL.canParse(candidate))) return false;
  // Two different ids give the same host: the id is in the path or query, not the host.
  const [first, second] = filled.map((candidate) => new URL(candidate).host);
  return first === second && !/\s/.test(template);
}

/** The placeholder of `KOMMO_ACCOUNT_URL`: the account's subdomain, the first label of the install's `referer`. */
export const SUBDOMAIN_PLACEHOLDER = '{subdomain}';

/**
 * Where the bridge reaches a Kommo account's own API (the OAuth token exchange and `/api/v4/account`):
 * an http(s) URL template with `{subdomain}`, without query or fragment (paths are appended). Empty
 * means the account's own host, as its install named it (`https://<subdomain>.kommo.com`, or the
 * amoCRM domain of an amoCRM account); a template sends every account to one stand-in (tests, the
 * sandbox), so it must name the account.
 */
const accountUrlTemplate = z.pipe(
  z.pipe(
    z.optional(z.string()),
    z.transform((value: string | undefined) => (value === '' ? undefined : value?.replace(/\/+$/, ''))),
  ),
  z.optional(
    z.string().check(
      z.refine((value) => value.includes(SUBDOMAIN_PLACEHOLDER), {
        message: `KOMMO_ACCOUNT_URL must contain ${SUBDOMAIN_PLACEHOLDER}, where the account's subdomain goes`,
      }),
      z.refine((value) => isAccountUrlTemplate(value), {
        message: 'KOMMO_ACCOUNT_URL must be an http(s) URL without a query or fragment',
      }),
    ),
  ),
);

function isAccountUrlTemplate(template: string): boolean {
  if (/[\s?#]/.test(template)) return false;
  return ['a', 'b0-c'].every((subdomain) => {
    const filled = template.replaceAll(SUBDOMAIN_PLACEHOLDER, subdomain);
    return /^https?:\/\/[^/]+/.test(filled) && URL.canParse(filled) && !/[{}]/.test(filled);
  });
}

/**
 * The base URL of a Kommo account's API: the template with the account's subdomain (one DNS label,
 * checked before it gets here), or the account's own host over https.
 */
export function kommoAccountUrlFor(template: string | undefined, account: { host: string; subdomain: string }): string {
  return template === undefined
    ? `https://${account.host}`
    : template.replaceAll(SUBDOMAIN_PLACEHOLDER, account.subdomain);
}

/** Kommo's integration id (`client_id` of the OAuth exchange, the disable hook's `client_uuid`) is a UUID. */
const integrationId = z.pipe(
  emptyAsUnset(),
  z.optional(
    z.pipe(
      z.string().check(
        z.regex(/^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/, {
          message: "KOMMO_CLIENT_ID must be the integration id Kommo shows in the integration's keys (a UUID)",
        }),
      ),
      // Kommo writes UUIDs in lower case, in the disable hook's client_uuid too.
      z.transform((value: string) => value.toLowerCase()),
    ),
  ),
);

/** The previous chat-service secret, set only while a rotation is under way; empty means none. */
const previousChatServiceSecret = z.pipe(
  emptyAsUnset(),
  z.optional(
    z.string().check(
      z.regex(/^whsec_[A-Za-z0-9+/]{32,}={0,2}$/, {
        message: 'CHAT_SERVICE_SECRET_PREVIOUS must be empty, or "whsec_" followed by base64 of at least 24 bytes',
      }),
    ),
  ),
);

/**
 * The channel id, the channel secret and the chat-service secret are optional here because in AWS each function reads
 * only the secrets it uses (see `secretGroups`); `loadConfig` requires the ones its caller holds.
 */
export const configSchema = z.object({
  KOMMO_CHANNEL_ID: z.optional(
    z.string({ error: 'KOMMO_CHANNEL_ID is required' }).check(
      z.regex(/^[A-Za-z0-9-]{1,64}$/, {
        message: 'KOMMO_CHANNEL_ID must be the channel id Kommo issued (letters, digits, dashes)',
      }),
    ),
  ),
  KOMMO_CHANNEL_SECRET: z.optional(channelSecret),
  KOMMO_API_URL: z._default(url('KOMMO_API_URL'), 'https://amojo.kommo.com'),
  CHAT_SERVICE_URL: url('CHAT_SERVICE_URL'),
  CHAT_SERVICE_SECRET: z.optional(chatServiceSecret),
  CHAT_SERVICE_SECRET_PREVIOUS: previousChatServiceSecret,
  KOMMO_HOOK_FORWARD_URL: optionalUrl('KOMMO_HOOK_FORWARD_URL'),
  CHAT_SERVICE_STATUS_URL: statusUrlTemplate,
  KOMMO_CLIENT_SECRET: optionalSecret('KOMMO_CLIENT_SECRET', 16),
  KOMMO_REDIRECT_URI: optionalUrl('KOMMO_REDIRECT_URI'),
  KOMMO_CLIENT_ID: integrationId,
  KOMMO_ACCOUNT_URL: accountUrlTemplate,
  ADMIN_TOKEN: optionalSecret('ADMIN_TOKEN', 24),
  TYPING_REFRESH_SECONDS: int('TYPING_REFRESH_SECONDS', 1, 4, 4),
  KOMMO_TIMEOUT_MS: int('KOMMO_TIMEOUT_MS', 100, 30_000, 3_000),
  CHAT_SERVICE_TIMEOUT_MS: int('CHAT_SERVICE_TIMEOUT_MS', 100, 30_000, 5_000),
  DELIVERY_MAX_ATTEMPTS: int('DELIVERY_MAX_ATTEMPTS', 1, 20, 8),
  /** How often the widget pings its live channel (it learns it from `POST /widget/live`). */
  KOMMO_USER_PING_SECONDS: int(
    'KOMMO_USER_PING_SECONDS',
    KOMMO_USER_PING_SECONDS_RANGE.min,
    KOMMO_USER_PING_SECONDS_RANGE.max,
    KOMMO_USER_PING_DEFAULT_SECONDS,
  ),
  /** A Kommo user's presence window (in a chat, and in the interface): offline this long after the last frame. */
  KOMMO_USER_WINDOW_SECONDS: int(
    'KOMMO_USER_WINDOW_SECONDS',
    KOMMO_USER_WINDOW_SECONDS_RANGE.min,
    KOMMO_USER_WINDOW_SECONDS_RANGE.max,
    KOMMO_USER_WINDOW_DEFAULT_SECONDS,
  ),
});

export type BridgeConfig = z.output<typeof configSchema>;

/**
 * Every ping renews the window, which must outlast one lost ping and a late next one: at least two ping
 * intervals with 15 s to spare for each, twice (ping + 15 s); the default 30-s ping and 90-s window are that bound.
 */
export const KOMMO_USER_PING_SLACK_SECONDS = 15;
export function kommoUserTimingProblem(pingSeconds: number, windowSeconds: number): string | undefined {
  const least = 2 * (pingSeconds + KOMMO_USER_PING_SLACK_SECONDS);
  return windowSeconds < least
    ? `KOMMO_USER_WINDOW_SECONDS must be at least twice KOMMO_USER_PING_SECONDS plus ${KOMMO_USER_PING_SLACK_SECONDS} s ` +
        `(${least} for a ${pingSeconds}-s ping), got ${windowSeconds}`
    : undefined;
}

/**
 * The secret settings, grouped by who holds them. In AWS each group is a Secrets Manager secret of its
 * own, and a function may read only the groups its manifest entry names (functions/manifest.ts): the
 * Kommo hook intake cannot read the admin token, the widget cannot read the channel secret.
 */
export const secretGroups = {
  /**
   * The channel id Kommo issued. Kommo issues a channel only once it knows the webhook URL, which
   * exists only after the first deploy, so the id is filled in afterwards, like the secrets. It is a
   * group of its own because every chat route checks scopes against it, and most of those functions
   * must not read the channel secret.
   */
  'kommo-channel-id': ['KOMMO_CHANNEL_ID'],
  /** Issued by Kommo with the channel: verifies Kommo's hooks and signs every call to amojo. */
  'kommo-channel': ['KOMMO_CHANNEL_SECRET'],
  /** Shared with the chat service: verifies its requests and signs the events sent to it. */
  'chat-service': ['CHAT_SERVICE_SECRET', 'CHAT_SERVICE_SECRET_PREVIOUS'],
  /** The Kommo integration's secret key: verifies the widget's one-time tokens and the disable hook, and exchanges install codes. */
  'kommo-integration': ['KOMMO_CLIENT_SECRET'],
  /** The operator's bearer token for `/admin/...`. */
  admin: ['ADMIN_TOKEN'],
} as const satisfies Readonly<Record<string, readonly (keyof BridgeConfig)[]>>;

export type SecretGroup = keyof typeof secretGroups;
export type SecretSettingName = (typeof secretGroups)[SecretGroup][number];

/** The names of the settings that are secrets: never logged, and kept in Secrets Manager in AWS. */
export const secretSettingNames: readonly SecretSettingName[] = Object.values(secretGroups).flat();

/**
 * The secrets every function of the bridge needs when one process runs them all (locally, in tests).
 * In AWS a function requires only those of the groups it holds (`requiredSecretsOf`).
 */
export const ALL_FUNCTIONS_SECRETS = [
  'KOMMO_CHANNEL_ID',
  'KOMMO_CHANNEL_SECRET',
  'CHAT_SERVICE_SECRET',
] as const satisfies readonly SecretSettingName[];

/** The secrets a holder of `groups` must have for its settings to be valid (the other ones are required by the routes that use them). */
export function requiredSecretsOf(groups: readonly SecretGroup[]): SecretSettingName[] {
  return ALL_FUNCTIONS_SECRETS.filter((name) =>
    groups.some((group) => (secretGroups[group] as readonly string[]).includes(name)),
  );
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/**
 * Validates the settings and returns them typed. A missing or malformed value throws a `ConfigError`
 * whose message is one line naming the variable; values are never echoed, so secrets cannot leak.
 */
/** The settings when one process runs every function (locally, in tests): the channel and chat-service secrets are there. */
export type AllFunctionsConfig = BridgeConfig & RequiredSettings<(typeof ALL_FUNCTIONS_SECRETS)[number]>;

export function loadConfig(source: Record<string, string | undefined>): AllFunctionsConfig;
/** `requiredSecrets`: the secrets that must be present (in Lambda, those of the groups the function holds). */
export function loadConfig(
  source: Record<string, string | undefined>,
  requiredSecrets: readonly SecretSettingName[],
): BridgeConfig;
export function loadConfig(
  source: Record<string, string | undefined>,
  requiredSecrets: readonly SecretSettingName[] = ALL_FUNCTIONS_SECRETS,
): BridgeConfig {
  const result = configSchema.safeParse(source);
  if (!result.success) {
    const issue = result.error.issues[0];
    const variable = String(issue?.path[0] ?? 'configuration');
    const message = issue?.message?.startsWith(variable)
      ? issue.message
      : `${variable}: ${issue?.message ?? 'invalid'}`;
    throw new ConfigError(`Configuration error: ${message}`);
  }
  for (const name of requiredSecrets) {
    if (result.data[name] === undefined) throw new ConfigError(`Configuration error: ${name} is required`);
  }
  const timing = kommoUserTimingProblem(result.data.KOMMO_USER_PING_SECONDS, result.data.KOMMO_USER_WINDOW_SECONDS);
  if (timing) throw new ConfigError(`Configuration error: ${timing}`);
  return result.data;
}

/** The settings in `names`, no longer optional. */
export type RequiredSettings<K extends keyof BridgeConfig> = { [P in K]-?: NonNullable<BridgeConfig[P]> };

/**
 * Settings that only some functions need (the widget's and the operator's). The functions that need
 * them call this when they start, so a missing one stops only them, with one line naming it and
 * what it is for; every other function starts without it.
 */
export function requireSettings<K extends keyof BridgeConfig>(
  config: BridgeConfig,
  names: readonly K[],
  purpose: string,
): BridgeConfig & RequiredSettings<K> {
  for (const name of names) {
    if (config[name] === undefined) throw new ConfigError(`Configuration error: ${name} is required for ${purpose}`);
  }
  return config as BridgeConfig & RequiredSettings<K>;
}
