import { secretGroups, type SecretGroup } from '../../config';
import type { Clock } from '../../ports/clock';

/** How long a fetched secret is reused before Secrets Manager is asked again: a rotated value is live everywhere within this. */
export const SECRET_CACHE_MS = 5 * 60 * 1000;

/** Reads one secret's JSON string by ARN. */
export type SecretReader = (secretArn: string) => Promise<string>;

/** The settings the held secrets carry, and a key that changes whenever any of their values does. */
export interface HeldSecretSettings {
  values: Readonly<Record<string, string>>;
  /** Compared, never logged: equal keys mean the same values. */
  versionKey: string;
}

/**
 * The secret settings of the groups a function holds (one Secrets Manager secret per group), each
 * cached for `maxAgeMs` on the injected clock, so a warm container picks up a rotated value within
 * that time without a redeploy, and tests move the clock instead of waiting.
 */
export class SecretSettings {
  private readonly cache = new Map<SecretGroup, { fetchedAtMs: number; values: Record<string, string> }>();

  constructor(
    private readonly options: {
      /** The ARN of each held group's secret. */
      arns: Readonly<Partial<Record<SecretGroup, string>>>;
      read: SecretReader;
      clock: Clock;
      maxAgeMs?: number;
    },
  ) {}

  /** The groups this function holds. */
  get groups(): SecretGroup[] {
    return Object.keys(this.options.arns) as SecretGroup[];
  }

  /** The current values: from the cache while it is fresh, else (or when `forceFetch`) from Secrets Manager. */
  async current(forceFetch = false): Promise<HeldSecretSettings> {
    const now = this.options.clock.now();
    const maxAgeMs = this.options.maxAgeMs ?? SECRET_CACHE_MS;
    const held = await Promise.all(
      this.groups.map(async (group) => {
        const cached = this.cache.get(group);
        if (!forceFetch && cached && now - cached.fetchedAtMs < maxAgeMs) return cached.values;
        const arn = this.options.arns[group];
        if (arn === undefined) throw new Error(`No secret ARN is set for the ${group} settings`);
        const values = settingsOf(group, await this.options.read(arn));
        this.cache.set(group, { fetchedAtMs: now, values });
        return values;
      }),
    );
    const values: Record<string, string> = Object.assign({}, ...held);
    return { values, versionKey: JSON.stringify(Object.entries(values).sort(([a], [b]) => (a < b ? -1 : 1))) };
  }
}

/** The group's settings from its secret's JSON; other keys are ignored, so no secret can set another group's values. */
function settingsOf(group: SecretGroup, secretString: string): Record<string, string> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(secretString);
  } catch {
    throw new Error(`the ${group} secret is not JSON`);
  }
  const values: Record<string, string> = {};
  for (const name of secretGroups[group]) {
    const value = (parsed as Record<string, unknown> | null)?.[name];
    if (typeof value === 'string') values[name] = value;
  }
  return values;
}
