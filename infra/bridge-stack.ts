import { type CfnElement, CfnOutput, Stack } from 'aws-cdk-lib';
import type * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type { Construct } from 'constructs';
import {
  KOMMO_USER_PING_SECONDS_RANGE as PING,
  KOMMO_USER_WINDOW_SECONDS_RANGE as WINDOW,
  kommoUserTimingProblem,
  secretGroups,
  type SecretGroup,
} from '../functions/core/config';
import {
  fallbackFunction,
  httpRoutes,
  queues as queueSpecs,
  type FunctionName,
  type QueueName,
} from '../functions/manifest';
import {
  type BridgeStackProps,
  defaultApiThrottle,
  defaultConsumerMaxConcurrency,
  defaultLiveChannelThrottle,
} from './bridge-stack-props';
import type { BridgeFunction } from './constructs/bridge-function';
import { BridgeFunctions } from './constructs/bridge-functions';
import { BridgeQueue } from './constructs/bridge-queue';
import { BridgeSecrets } from './constructs/bridge-secrets';
import { BridgeSettings } from './constructs/bridge-settings';
import { BridgeTable } from './constructs/bridge-table';
import { BridgeHttpApi } from './constructs/http-api';
import { LiveChannel } from './constructs/live-channel';
import { pascalCase } from './constructs/names';
import { connectConsumers } from './constructs/queue-consumers';
import { Observability } from './constructs/observability';
import { logicalIdWithoutParts } from './constructs/stack-part';

export * from './bridge-stack-props';

/**
 * Kommo Live Bridge: the HTTP API, one Lambda function per manifest entry, the SQS queues between
 * them, the DynamoDB table and the bridge secrets, the live channel, alarms and a dashboard.
 * Everything is derived from `functions/manifest.ts`; each part is a construct of its own
 * (infra/constructs/), and this class only wires their outputs into each other's props.
 *
 * Deploy-time settings are CloudFormation parameters, so `cdk synth` needs no configuration:
 * `cdk deploy --parameters ChatServiceUrl=https://…`. The stack deploys before Kommo has issued the
 * channel (Kommo issues it only for a webhook URL, which this stack outputs), so the channel id and
 * secret, like the other secrets, are filled in afterwards in the secrets the `…SecretName` outputs
 * name; the functions pick them up within 5 minutes, without a redeploy.
 */
export class BridgeStack extends Stack {
  /** The single table (`pk`/`sk`, TTL on `expiresAt`). */
  readonly table: dynamodb.Table;
  /** The secrets holding the bridge's secret settings as JSON, one per group of holders (functions/core/config.ts). */
  readonly secrets: ReadonlyMap<SecretGroup, secretsmanager.Secret>;
  /** Each manifest queue with its dead-letter queue. */
  readonly queues: ReadonlyMap<QueueName, BridgeQueue>;
  /** Each manifest function. */
  readonly functions: ReadonlyMap<FunctionName, BridgeFunction>;
  /** The HTTP API in front of the functions. */
  readonly api: apigwv2.HttpApi;
  /** The live channel (docs/contract.md, "Live channel for the widget"): a WebSocket API in front of the live function. */
  readonly liveApi: apigwv2.WebSocketApi;
  /** The live channel's stage: its `wss://` URL is what `POST /widget/live` answers, its callback URL what pushes go to. */
  readonly liveStage: apigwv2.WebSocketStage;
  /** Where alarms send their state changes (alarm and back to OK); encrypted, with an optional e-mail subscription. */
  readonly alarmTopic: sns.Topic;
  /** The operations dashboard: Kommo calls, typing calls saved, hook acks, dead letters, live pushes. */
  readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: BridgeStackProps = {}) {
    super(scope, id, props);
    const logRetention = props.logRetention ?? logs.RetentionDays.ONE_MONTH;

    // Before the settings: the install routes' URLs are the API's own.
    const httpApi = new BridgeHttpApi(this, 'HttpApi', {
      throttle: props.apiThrottle ?? defaultApiThrottle,
      logRetention,
      ...(props.customDomain ? { customDomain: props.customDomain } : {}),
    });
    const settings = new BridgeSettings(this, 'Settings', { publicApiUrl: httpApi.publicUrl });
    const table = new BridgeTable(this, 'Table', {
      ...(props.tableProvisionedCapacity ? { provisionedCapacity: props.tableProvisionedCapacity } : {}),
      ...(props.tableMaxThroughput ? { maxThroughput: props.tableMaxThroughput } : {}),
    });
    const secrets = new BridgeSecrets(this, 'Secrets');
    const queues: ReadonlyMap<QueueName, BridgeQueue> = new Map(
      queueSpecs.map((spec) => [spec.name, new BridgeQueue(this, `${pascalCase(spec.name)}Queue`, { spec })] as const),
    );
    // Before the functions: their environment names the live channel's URLs.
    const liveDomainName = props.customDomain?.liveDomainName;
    const liveChannel = new LiveChannel(this, 'LiveChannel', {
      throttle: props.liveChannelThrottle ?? defaultLiveChannelThrottle,
      logRetention,
      setAccountLogsRole: props.apiGatewayCloudWatchRole ?? true,
      ...(props.customDomain && liveDomainName
        ? { domain: { domainName: liveDomainName, certificateArn: props.customDomain.certificateArn } }
        : {}),
    });
    const functions = new BridgeFunctions(this, 'Functions', {
      settings: settings.environment,
      table,
      secrets: secrets.secrets,
      queues,
      liveChannel,
      logRetention,
      tracing: props.tracing ?? false,
      platformLogs: props.lambdaPlatformLogs ?? true,
      ...(props.functionMemoryMb === undefined ? {} : { memoryMb: validMemoryMb(props.functionMemoryMb) }),
      ...(props.reservedConcurrency ? { reservedConcurrency: props.reservedConcurrency } : {}),
    });
    liveChannel.routeTo(functions.functions);
    const sampleRate = props.debugLogSampleRate ?? 0;
    if (!(sampleRate >= 0 && sampleRate <= 1))
      throw new Error(`debugLogSampleRate must be between 0 and 1, got ${sampleRate}`);
    if (sampleRate > 0)
      for (const bridgeFunction of functions.functions.values())
        bridgeFunction.function.addEnvironment('POWERTOOLS_LOGGER_SAMPLE_RATE', String(sampleRate));
    if (props.kommoUserPresence) {
      const { pingSeconds, windowSeconds } = validKommoUserPresence(props.kommoUserPresence);
      for (const [name, bridgeFunction] of functions.functions) {
        // The 404 answer reads no settings.
        if (name === fallbackFunction) continue;
        bridgeFunction.function.addEnvironment('KOMMO_USER_PING_SECONDS', String(pingSeconds));
        bridgeFunction.function.addEnvironment('KOMMO_USER_WINDOW_SECONDS', String(windowSeconds));
      }
    }
    connectConsumers(queues, functions.functions, {
      maxConcurrency: props.consumerMaxConcurrency ?? defaultConsumerMaxConcurrency,
      ...(props.reservedConcurrency ? { reservedConcurrency: props.reservedConcurrency } : {}),
      ...(props.consumerBatchingWindowSeconds ? { batchingWindowSeconds: props.consumerBatchingWindowSeconds } : {}),
    });
    httpApi.routeTo(functions.functions);
    const observability = new Observability(this, 'Observability', {
      functions: functions.functions,
      queues,
    });

    this.table = table.table;
    this.secrets = secrets.secrets;
    this.queues = queues;
    this.functions = functions.functions;
    this.api = httpApi.api;
    this.liveApi = liveChannel.api;
    this.liveStage = liveChannel.stage;
    this.alarmTopic = observability.alarmTopic;
    this.dashboard = observability.dashboard;
    this.declareOutputs(httpApi.publicUrl, liveChannel.publicUrl, settings.redirectUri);
  }

  /**
   * The parts (infra/constructs/stack-part.ts) are left out of logical ids, which therefore stay those
   * of the single class the stack was before: no deployed resource is replaced by the split.
   */
  protected override allocateLogicalId(element: CfnElement): string {
    return logicalIdWithoutParts(this, element);
  }

  /** What the operator registers with Kommo and the chat service, and where to find the rest. */
  private declareOutputs(publicApiUrl: string, publicLiveUrl: string, redirectUri: string): void {
    const kommoHookRoute = httpRoutes.find((route) => route.function === 'kommo-hook');
    if (!kommoHookRoute)
      throw new Error('The manifest has no route to kommo-hook, so there is no Kommo webhook URL to output');

    new CfnOutput(this, 'ApiUrl', {
      description: 'Base URL of the bridge API.',
      value: publicApiUrl,
    });
    new CfnOutput(this, 'KommoWebhookUrl', {
      description: 'Register exactly this as the channel webhook URL in Kommo; Kommo substitutes :scope_id itself.',
      value: `${publicApiUrl}${kommoHookRoute.path.replace('{scope_id}', ':scope_id')}`,
    });
    new CfnOutput(this, 'LiveChannelUrl', {
      description: "The widget's live channel (WebSocket); the widget gets it, with a ticket, from POST /widget/live.",
      value: publicLiveUrl,
    });
    const uninstallRoute = httpRoutes.find(
      (route) => route.function === 'kommo-install' && route.path.endsWith('/uninstall'),
    );
    if (!uninstallRoute)
      throw new Error(
        'The manifest has no uninstall route for kommo-install, so there is no disable hook URL to output',
      );
    // Not "KommoRedirectUri": CloudFormation wants logical ids unique across parameters and outputs.
    new CfnOutput(this, 'KommoIntegrationRedirectUri', {
      description:
        "Register exactly this as the Kommo integration's Redirect URI (installs connect the account there; widget tokens carry its origin).",
      value: redirectUri,
    });
    new CfnOutput(this, 'KommoDisableHookUrl', {
      description:
        "Register this as the Kommo integration's disable hook URL (uninstalls disconnect the account there).",
      value: `${publicApiUrl}${uninstallRoute.path}`,
    });
    new CfnOutput(this, 'ChatServiceBaseUrl', {
      description:
        'Base URL for the chat service: it calls <this>{scope_id}/typing, …/messages/{msgid}/status and …/presence.',
      value: `${publicApiUrl}/chat/`,
    });
    for (const [group, secret] of this.secrets) {
      new CfnOutput(this, `${pascalCase(group)}SecretName`, {
        description: `Secrets Manager secret to fill in after deploy (JSON keys ${secretGroups[group].join(', ')}).`,
        value: secret.secretName,
      });
    }
    new CfnOutput(this, 'TableName', {
      description: 'The bridge table (npm run deploy:check reads the account bindings there).',
      value: this.table.tableName,
    });
    new CfnOutput(this, 'AlarmTopicArn', {
      description:
        'Alarm and OK notifications; subscribe more endpoints here (the AlarmEmail parameter adds one e-mail).',
      value: this.alarmTopic.topicArn,
    });
    new CfnOutput(this, 'DashboardName', {
      description: 'The CloudWatch dashboard of the bridge.',
      value: this.dashboard.dashboardName,
    });
  }
}

/** The handlers' own rules for the two settings (functions/core/config.ts), so a bad choice fails the synth, not every cold start. */
function validKommoUserPresence(choice: { pingSeconds: number; windowSeconds: number }) {
  const { pingSeconds, windowSeconds } = choice;
  if (!Number.isInteger(pingSeconds) || pingSeconds < PING.min || pingSeconds > PING.max)
    throw new Error(
      `kommoUserPresence.pingSeconds must be a whole number from ${PING.min} to ${PING.max}, got ${pingSeconds}`,
    );
  if (!Number.isInteger(windowSeconds) || windowSeconds < WINDOW.min || windowSeconds > WINDOW.max)
    throw new Error(
      `kommoUserPresence.windowSeconds must be a whole number from ${WINDOW.min} to ${WINDOW.max}, got ${windowSeconds}`,
    );
  const problem = kommoUserTimingProblem(pingSeconds, windowSeconds);
  if (problem) throw new Error(`kommoUserPresence: ${problem}`);
  return choice;
}

/** Lambda's memory range: whole megabytes from 128 to 10,240. */
function validMemoryMb(memoryMb: number): number {
  if (!Number.isInteger(memoryMb) || memoryMb < 128 || memoryMb > 10_240)
    throw new Error(`functionMemoryMb must be a whole number of MB from 128 to 10240, got ${memoryMb}`);
  return memoryMb;
}
