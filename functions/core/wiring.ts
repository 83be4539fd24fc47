import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { getSecret } from '@aws-lambda-powertools/parameters/secrets';
import type { Context } from 'aws-lambda';
import { SqsWorkQueue } from './adapters/sqs/sqs-queue';
import { powertoolsLog, powertoolsMetrics } from './adapters/telemetry/powertools';
import { ConfigError, loadConfig, secretSettingNames } from './config';
import { createDeps } from './create-deps';
import type { BridgeDeps, BridgeQueues } from './deps';
import { queues as queueSpecs, type QueueName } from '../manifest';
import { systemClock } from './ports/clock';
import type { WorkQueue } from './ports/queue';

/**
 * The Lambda composition root. Clients and telemetry are created once per container (module scope);
 * settings are validated at init, and the secret comes from Secrets Manager through Powertools
 * Parameters with a 5-minute cache, so a rotated secret is picked up without a redeploy.
 */

const log = powertoolsLog();
const metrics = powertoolsMetrics();
const dynamo = new DynamoDBClient({});
const sqs = new SQSClient({});

/** How long a fetched secret is reused before Secrets Manager is asked again. */
const SECRET_CACHE_SECONDS = 300;

async function settings(forceFetch: boolean): Promise<Record<string, string | undefined>> {
  const secretArn = process.env.BRIDGE_SECRET_ARN;
  if (!secretArn) return process.env;
  const secret = await getSecret<Record<string, unknown>>(secretArn, { transform: 'json', maxAge: SECRET_CACHE_SECONDS, forceFetch });
  const fromSecret: Record<string, string> = {};
  for (const name of secretSettingNames) {
    const value = secret?.[name];
    if (typeof value === 'string') fromSecret[name] = value;
  }
  return { ...process.env, ...fromSecret };
}

function queueFromEnvironment(name: QueueName): WorkQueue<never> {
  const spec = queueSpecs.find((candidate) => candidate.name === name)!;
  return new SqsWorkQueue<never>(sqs, process.env[spec.urlVariable], process.env[spec.deadLetterUrlVariable]);
}

async function productionDeps(forceFetch: boolean): Promise<BridgeDeps> {
  const config = loadConfig(await settings(forceFetch));
  const queues: BridgeQueues = {
    hooks: queueFromEnvironment('hooks'),
    events: queueFromEnvironment('events'),
    kommoStatus: queueFromEnvironment('kommo-status'),
    timers: queueFromEnvironment('timers'),
  };
  return createDeps({ config, clock: systemClock, log, metrics, dynamo, tableName: process.env.TABLE_NAME ?? '', queues });
}

type Handler<E, R> = (event: E, context: Context) => Promise<R>;

/**
 * A Lambda entry for a handler factory. Building starts at module load (during init, where Lambda
 * gives full CPU); a configuration error is logged once as one line naming the variable.
 */
export function lambdaEntry<E, R>(factory: (deps: BridgeDeps) => Handler<E, R>): Handler<E, R> {
  // A retry after a failed start reads the secret afresh: the cache would hand back the value that failed.
  const start = (retry: boolean) => {
    const building = productionDeps(retry).then(factory);
    building.catch((error: unknown) => {
      log.error(error instanceof ConfigError ? error.message : 'the function could not start', {
        ...(error instanceof ConfigError ? {} : { error: error instanceof Error ? error.message : String(error) }),
      });
    });
    return building;
  };
  let ready = start(false);
  return async (event, context) => {
    // A failed start (say, the secret not filled in yet) is tried again rather than cached for the container's life.
    const handler = await ready.catch(() => (ready = start(true)));
    return handler(event, context);
  };
}
