import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { Context } from 'aws-lambda';
import { ApiGatewayLiveConnections, managementApiClient } from './adapters/api-gateway/live-connections';
import { SecretSettings, secretsManagerReader } from './adapters/secrets-manager/secret-settings';
import { SqsWorkQueue } from './adapters/sqs/sqs-queue';
import { powertoolsLog, powertoolsMetrics } from './adapters/telemetry/powertools';
import { ConfigError, loadConfig, requiredSecretsOf, type BridgeConfig, type SecretGroup } from './config';
import { createDeps } from './create-deps';
import type { BridgeDeps, BridgeQueues } from './deps';
import { liveChannelVariables, queues as queueSpecs, secretArnVariables, type QueueName } from '../manifest';
import { systemClock } from './ports/clock';
import type { WorkQueue } from './ports/queue';
import type { Log } from './ports/telemetry';

/**
 * The Lambda composition root. Clients and telemetry are created once per container (module scope);
 * settings are validated at init. Each secret the function holds comes from Secrets Manager and is
 * re-read every 5 minutes; when a value changed, the handler is rebuilt with it, so a rotated secret
 * is in force in every warm container within 5 minutes, without a redeploy.
 */

type Handler<E, R> = (event: E, context: Context) => Promise<R>;

export interface LambdaEntryParts {
  /** The secrets this function holds. */
  secrets: SecretSettings;
  /** The plain settings (Lambda's environment). */
  environment: Readonly<Record<string, string | undefined>>;
  buildDeps: (config: BridgeConfig) => BridgeDeps;
  log: Log;
}

/**
 * A Lambda handler around a handler factory. Building starts at once (during init, where Lambda gives
 * full CPU); every invocation then checks the cached secrets and rebuilds the handler when they
 * changed (a compare of a few strings while the cache is fresh). A configuration error is logged as
 * one line naming the variable, never its value; the next invocation reads the secrets afresh rather
 * than from the cache that held the failing value.
 */
export function createLambdaEntry<E, R>(factory: (deps: BridgeDeps) => Handler<E, R>, parts: LambdaEntryParts): Handler<E, R> {
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

// Production parts: one set per container.
const log = powertoolsLog();
const metrics = powertoolsMetrics();
const dynamo = new DynamoDBClient({});
const sqs = new SQSClient({});
// Set by the stack only for the functions whose manifest entry uses the live channel that way.
const liveConnectionsEndpoint = process.env[liveChannelVariables.push];
const liveConnections = new ApiGatewayLiveConnections({
  address: process.env[liveChannelVariables.address] || undefined,
  ...(liveConnectionsEndpoint ? { client: managementApiClient(liveConnectionsEndpoint) } : {}),
});

function heldSecretArns(): Partial<Record<SecretGroup, string>> {
  const arns: Partial<Record<SecretGroup, string>> = {};
  for (const [group, variable] of Object.entries(secretArnVariables) as [SecretGroup, string][]) {
    const arn = process.env[variable];
    if (arn) arns[group] = arn;
  }
  return arns;
}

function queueFromEnvironment(name: QueueName): WorkQueue<never> {
  const spec = queueSpecs.find((candidate) => candidate.name === name)!;
  return new SqsWorkQueue<never>(sqs, process.env[spec.urlVariable], process.env[spec.deadLetterUrlVariable]);
}

function productionDeps(config: BridgeConfig): BridgeDeps {
  const queues: BridgeQueues = {
    hooks: queueFromEnvironment('hooks'),
    events: queueFromEnvironment('events'),
    kommoStatus: queueFromEnvironment('kommo-status'),
    timers: queueFromEnvironment('timers'),
  };
  return createDeps({ config, clock: systemClock, log, metrics, dynamo, tableName: process.env.TABLE_NAME ?? '', queues, liveConnections });
}

/** The Lambda entry of a function: `export const handler = lambdaEntry(createXHandler)`. */
export function lambdaEntry<E, R>(factory: (deps: BridgeDeps) => Handler<E, R>): Handler<E, R> {
  const arns = heldSecretArns();
  const secrets = new SecretSettings({
    arns,
    // No Secrets Manager client in a function that holds no secret.
    read: Object.keys(arns).length > 0 ? secretsManagerReader(new SecretsManagerClient({})) : async () => '{}',
    clock: systemClock,
  });
  return createLambdaEntry(factory, { secrets, environment: process.env, buildDeps: productionDeps, log });
}
