import type { Context } from 'aws-lambda';
import { SecretSettings, type SecretReader } from './adapters/secrets-manager/secret-settings';
import { powertoolsLog, powertoolsMetrics } from './adapters/telemetry/powertools';
import { ConfigError, loadConfig, requiredSecretsOf, type BridgeConfig, type SecretGroup } from './config';
import type { BaseDeps } from './deps';
import { newEventId } from './ids';
import { secretArnVariables } from '../manifest';
import { systemClock } from './ports/clock';
import type { Log } from './ports/telemetry';

/**
 * The Lambda entry every function's composition root goes through. Telemetry is created once per
 * container (module scope); settings are validated at init. Each secret the function holds comes
 * from Secrets Manager and is re-read every 5 minutes; when a value changed, the handler is rebuilt
 * with it, so a rotated secret is in force in every warm container within 5 minutes, without a
 * redeploy.
 */

type Handler<E, R> = (event: E, context: Context) => Promise<R>;

export interface LambdaEntryParts<D> {
  /** The secrets this function holds. */
  secrets: SecretSettings;
  /** The plain settings (Lambda's environment). */
  environment: Readonly<Record<string, string | undefined>>;
  buildDeps: (config: BridgeConfig) => D;
  log: Log;
}

/**
 * A Lambda handler around a handler factory. Building starts at once (during init, where Lambda gives
 * full CPU); every invocation then checks the cached secrets and rebuilds the handler when they
 * changed (a compare of a few strings while the cache is fresh). A configuration error is logged as
 * one line naming the variable, never its value; the next invocation reads the secrets afresh rather
 * than from the cache that held the failing value.
 */
export function createLambdaEntry<D, E, R>(
  factory: (deps: D) => Handler<E, R>,
  parts: LambdaEntryParts<D>,
): Handler<E, R> {
  const requiredSecrets = requiredSecretsOf(parts.secrets.groups);
  let current: { versionKey: string; handler: Handler<E, R> } | undefined;
  let readAfresh = false;

  const handlerNow = async (): Promise<Handler<E, R>> => {
    try {
      const held = await parts.secrets.current(readAfresh);
      readAfresh = false;
      if (current?.versionKey === held.versionKey) return current.handler;
      const handler = factory(parts.buildDeps(loadConfig({ ...parts.environment, ...held.values }, requiredSecrets)));
      if (current) parts.log.info('the secret settings changed; requests are now served with the new values');
      current = { versionKey: held.versionKey, handler };
      return handler;
    } catch (error) {
      readAfresh = true;
      parts.log.error(error instanceof ConfigError ? error.message : 'the function could not start', {
        ...(error instanceof ConfigError ? {} : { error: error instanceof Error ? error.message : String(error) }),
      });
      throw error;
    }
  };

  let init: Promise<unknown> | undefined = handlerNow().catch(() => undefined);
  return async (event, context) => {
    if (init) {
      await init;
      init = undefined;
    }
    const handler = await handlerNow();
    return handler(event, context);
  };
}

// Production parts: telemetry once per container; clients are created by each function's own root.
const log = powertoolsLog();
const metrics = powertoolsMetrics();

function heldSecretArns(): Partial<Record<SecretGroup, string>> {
  const arns: Partial<Record<SecretGroup, string>> = {};
  for (const [group, variable] of Object.entries(secretArnVariables) as [SecretGroup, string][]) {
    const arn = process.env[variable];
    if (arn) arns[group] = arn;
  }
  return arns;
}

/**
 * The Lambda entry of a function, its composition root: `functions/<name>/index.ts` passes its
 * handler factory and a `build` that adds to the base (settings, clock, telemetry, ids) exactly the
 * stores, queues and clients the handler's dependency type names, so the bundle carries nothing else.
 * A function that holds secrets (its manifest entry's `secrets`) passes the Secrets Manager reader;
 * one that holds none passes nothing and carries no Secrets Manager client.
 */
export function lambdaEntry<D, E, R>(
  factory: (deps: D) => Handler<E, R>,
  build: (base: BaseDeps) => D,
  readSecret?: () => SecretReader,
): Handler<E, R> {
  const arns = heldSecretArns();
  const secrets = new SecretSettings({
    arns,
    read:
      readSecret?.() ??
      (async () => {
        throw new ConfigError(
          'Configuration error: this function is given secret ARNs, but its entry (functions/<name>/index.ts) passes no secret reader',
        );
      }),
    clock: systemClock,
  });
  const buildDeps = (config: BridgeConfig) =>
    build({ config, clock: systemClock, log, metrics, random: Math.random, newId: newEventId });
  return createLambdaEntry(factory, { secrets, environment: process.env, buildDeps, log });
}
