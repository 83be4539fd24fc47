import {
  CfnCondition,
  CfnElement,
  CfnOutput,
  CfnParameter,
  Duration,
  Fn,
  RemovalPolicy,
  SecretValue,
  Stack,
  Token,
  Validations,
  type StackProps,
} from 'aws-cdk-lib';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import { HttpLambdaIntegration, WebSocketLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cloudwatchActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sns from 'aws-cdk-lib/aws-sns';
import type { Construct } from 'constructs';
import { itemKinds, type ItemKind } from '../functions/core/adapters/dynamodb/item-kinds';
import { TABLE_KEYS, TTL_ATTRIBUTE } from '../functions/core/adapters/dynamodb/table';
import { secretGroups, type SecretGroup } from '../functions/core/config';
import {
  fallbackFunction,
  functions as functionSpecs,
  httpRoutes,
  liveChannelPath,
  liveChannelVariables,
  queues as queueSpecs,
  secretArnVariables,
  type FunctionName,
  type FunctionSpec,
  type HttpRoute,
  type QueueName,
  type WebSocketRouteKey,
  webSocketRoutes,
} from '../functions/manifest';
import { BridgeFunction, powertools } from './constructs/bridge-function';
import { BridgeQueue } from './constructs/bridge-queue';

/** Request limits of the API's default stage, applied to every route. */
export interface ApiThrottleSettings {
  /** Steady-state requests per second across all routes. */
  readonly rateLimit: number;
  /** Requests API Gateway accepts in a burst above the steady rate before answering 429. */
  readonly burstLimit: number;
}

/**
 * A custom domain for the bridge, so the URLs registered with Kommo (webhook, Redirect URI, disable
 * hook) survive a replacement of the API: Kommo keeps calling the channel's webhook URL it was given,
 * and changing it means writing to Kommo's support again.
 */
export interface BridgeCustomDomain {
  /** The HTTP API's domain, e.g. `bridge.example.com`; point its DNS (CNAME or alias) at the `ApiDomainTarget` output. */
  readonly domainName: string;
  /** An ACM certificate in the stack's region covering `domainName` (and `liveDomainName`). */
  readonly certificateArn: string;
  /**
   * Optional domain for the live channel (WebSocket), e.g. `live.bridge.example.com`: API Gateway
   * cannot map a WebSocket API and an HTTP API to one domain. Without it the widget keeps the
   * execute-api address, which it asks for at every start, so it needs no registration anywhere.
   */
  readonly liveDomainName?: string;
}

/** The range provisioned capacity may move in, in units per second, and the utilization autoscaling keeps. */
export interface AutoscaledCapacity {
  readonly min: number;
  readonly max: number;
}

/**
 * Provisioned capacity with autoscaling instead of on-demand: cheaper for steady traffic (a unit
 * provisioned for an hour costs what about 1,000 on-demand writes do), but autoscaling follows load
 * in minutes, so a burst above the provisioned units is throttled (the functions retry, queued work is
 * redelivered) until it catches up.
 */
export interface TableProvisionedCapacity {
  readonly read: AutoscaledCapacity;
  readonly write: AutoscaledCapacity;
  /**
   * The utilization autoscaling aims for, in percent.
   * @default 70
   */
  readonly targetUtilizationPercent?: number;
}

/** A cap on the table's on-demand throughput, per second. */
export interface TableMaxThroughput {
  /** Read request units per second. */
  readonly readRequestUnits: number;
  /** Write request units per second. */
  readonly writeRequestUnits: number;
}

/** The HTTP API stage's limits when none are given: 100 accounts of the sizing profile with headroom (docs/deploy-and-operate.md). */
export const defaultApiThrottle: ApiThrottleSettings = { rateLimit: 500, burstLimit: 1000 };
/** The live channel stage's limits when none are given (see `BridgeStackProps.liveChannelThrottle`). */
export const defaultLiveChannelThrottle: ApiThrottleSettings = { rateLimit: 200, burstLimit: 500 };
/** Each SQS event source mapping's maximum concurrency when none is given (see `BridgeStackProps.consumerMaxConcurrency`). */
export const defaultConsumerMaxConcurrency = 100;

export interface BridgeStackProps extends StackProps {
  /**
   * A custom domain for the HTTP API (and optionally the live channel); the outputs then name it.
   * @default the execute-api addresses
   */
  readonly customDomain?: BridgeCustomDomain;
  /**
   * Request limits of the API: a cap on what a flood of webhooks or a misbehaving chat service can
   * cost in Lambda invocations and Kommo calls. The default carries 100 accounts of the sizing profile
   * (about 290 requests/s over an 8-hour working day) with 1.7× headroom; the region's account-level
   * API Gateway throttle (10,000 requests/s, burst 5,000 by default) caps any value set here.
   * @default { rateLimit: 500, burstLimit: 1000 } (`defaultApiThrottle`)
   */
  readonly apiThrottle?: ApiThrottleSettings;
  /**
   * How long function logs and API access logs are kept.
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * The share of invocations (0 to 1) that log at DEBUG, what a request did in detail, instead of one
   * INFO line (Powertools' `POWERTOOLS_LOGGER_SAMPLE_RATE`, drawn per invocation). Each sampled
   * invocation writes about 2 to 4 times the bytes (docs/cost-model.md, "Logs").
   * @default 0
   */
  readonly debugLogSampleRate?: number;
  /**
   * Each queue's maximum batching window in seconds (0 to 300), in place of the manifest's
   * `maxBatchingWindowSeconds`: Lambda gathers a queue's messages for up to that long before it
   * invokes its consumer with fewer than 10, so each second is up to a second more latency on every
   * message of that queue, for fewer invocations and SQS requests (docs/cost-model.md, "Batching").
   * @default - the manifest's (0 on every queue)
   */
  readonly consumerBatchingWindowSeconds?: Partial<Readonly<Record<QueueName, number>>>;
  /**
   * X-Ray active tracing on every function. Off by default: at 100 accounts it costs about $1.46 per
   * account-month, and each invocation's INFO line already carries its route, answer, ids and
   * duration; turn it on while investigating latency across DynamoDB, SQS and outbound calls
   * (docs/cost-model.md, "Against the target").
   * @default false
   */
  readonly tracing?: boolean;
  /**
   * Lambda's own START, END and REPORT lines in every function's log group. `false` switches the
   * functions to Lambda's JSON log format with system logs at WARN: about $0.86 per account-month
   * less at 100 accounts, and no per-invocation billed duration and memory in the logs (Lambda's
   * Duration metric keeps them in aggregate; the bridge's own line has each invocation's duration).
   * @default true
   */
  readonly lambdaPlatformLogs?: boolean;
  /**
   * Request limits of the live channel's stage (WebSocket connects and frames): each open widget sends
   * a frame every 30 s, plus one per chat it starts or stops watching. The default carries 100 accounts
   * of 20 managers (about 70 frames/s) with 3× headroom, and lets all 2,000 widgets reconnect within
   * about 10 s after a deploy drops their connections.
   * @default { rateLimit: 200, burstLimit: 500 } (`defaultLiveChannelThrottle`)
   */
  readonly liveChannelThrottle?: ApiThrottleSettings;
  /**
   * The most concurrent invocations each queue's event source mapping starts (SQS `maxConcurrency`,
   * 2 to 1,000). Without it a backlog (a Kommo outage, a burst of hooks) scales the consumers until
   * they take the whole account's concurrency and the HTTP functions answer 429. The default is 1.7×
   * the busiest consumer's need at 100 accounts (about 60, each outbound call assumed to take 0.5 s),
   * and the four queues together stay at 400 of the default 1,000 account executions.
   * @default 100 (`defaultConsumerMaxConcurrency`)
   */
  readonly consumerMaxConcurrency?: number;
  /**
   * Reserved concurrent executions per function, to guarantee (and cap) a function's share of the
   * account's concurrency once several workloads share it. A queue consumer's reservation must be at
   * least `consumerMaxConcurrency`, or the mapping is throttled by its own function.
   * @default - none reserved: every function draws on the account's unreserved pool
   */
  readonly reservedConcurrency?: Partial<Readonly<Record<FunctionName, number>>>;
  /**
   * Maximum on-demand throughput of the table, a cost guard: requests above it are throttled
   * (the functions retry, and queued work is redelivered) instead of billed. 100 accounts need about
   * 750 WRU/s and 400 RRU/s at the 8-hour peak; set it well above the expected peak.
   * @default - no maximum: on-demand up to the table quota (40,000 RRU/s and WRU/s)
   */
  readonly tableMaxThroughput?: TableMaxThroughput;
  /**
   * The table on provisioned capacity with autoscaling, for large steady deployments
   * (docs/deploy-and-operate.md, "Limits and sizing"). Not with `tableMaxThroughput`, which caps on-demand.
   * @default - on-demand
   */
  readonly tableProvisionedCapacity?: TableProvisionedCapacity;
  /**
   * Whether the stack sets the region's API Gateway account setting to a CloudWatch Logs role (kept
   * when the stack is deleted). A WebSocket stage with access logs cannot be created while the account
   * names no such role ("CloudWatch Logs role ARN must be set in account settings to enable logging");
   * HTTP APIs do not need it. Set false when the account already names one.
   * @default true
   */
  readonly apiGatewayCloudWatchRole?: boolean;
}

/**
 * How each family of routes (the first path segment) authenticates its caller. It happens in the
 * handler because API Gateway cannot do it: the Kommo and chat-service signatures are HMACs over
 * the raw body, which an HTTP API authorizer never receives (docs/contract.md).
 */
const callerAuthentication: Readonly<Record<string, string>> = {
  kommo:
    'Kommo signs every hook with X-Signature (HMAC-SHA1 of the raw body with the channel secret); the handler verifies it before anything is stored, queued or forwarded.',
  chat: 'The chat service signs every request with Standard Webhooks (HMAC-SHA256 over webhook-id, timestamp and raw body with CHAT_SERVICE_SECRET, 5-minute window); the handler verifies it.',
  widget:
    'The Kommo widget sends a Kommo one-time token (HS256 JWT with KOMMO_CLIENT_SECRET) in X-Auth-Token; the handler verifies it. ' +
    'OPTIONS preflights carry no token by design (CORS); they only answer CORS headers to Kommo account origins and read or write nothing.',
  admin: 'Operator calls carry the bearer ADMIN_TOKEN from the bridge secret; the handler verifies it.',
};

/**
 * How the live channel's routes authenticate. API Gateway authorizes a WebSocket connection only at
 * `$connect`; the ticket in its URL is the credential, because browsers cannot set headers on a
 * WebSocket handshake.
 */
const liveChannelAuthentication: Readonly<Record<WebSocketRouteKey, string>> = {
  $connect:
    "The connect URL must carry a ticket that POST /widget/live issued after verifying the caller's Kommo one-time token: 256 random bits, " +
    'single use (claimed by a conditional delete) and valid 60 s. The $connect handler answers 401 without one, and API Gateway refuses the handshake.',
  $disconnect:
    'API Gateway sends $disconnect only for connections that $connect accepted with a valid ticket; the handler only ends what that connection started.',
  $default:
    'Frames arrive only on connections that $connect accepted with a valid ticket; the handler acts only for the Kommo user and account that ticket was bound to.',
};

/** Routes whose caller authenticates otherwise than the rest of their family. */
const routeAuthentication: Readonly<Record<string, string>> = {
  'GET /kommo/install':
    "Kommo's redirect after an install (the integration's Redirect URI) carries a single-use authorization code. The handler exchanges it only at " +
    "the account host named by referer, once checked to be a Kommo account host, with the integration's secret key; a forged request connects nothing and makes no outbound call.",
  'GET /kommo/uninstall':
    "Kommo signs the disable hook: signature is the HMAC-SHA256 of client_uuid|account_id with the integration's secret key (KOMMO_CLIENT_SECRET); the handler checks client_uuid and the signature in constant time before anything changes.",
};

function authenticationOf(route: HttpRoute): string {
  const own = routeAuthentication[`${route.method} ${route.path}`];
  if (own) return own;
  const family = route.path.split('/')[1] ?? '';
  const how = callerAuthentication[family];
  if (!how) {
    throw new Error(
      `Route ${route.method} ${route.path} has no documented caller authentication: add "${family}" to callerAuthentication in infra/bridge-stack.ts`,
    );
  }
  return how;
}

/** `kommo-status` → `KommoStatus`, for readable construct ids and logical ids. */
const pascalCase = (name: string) =>
  name.replace(/(^|-)([a-z])/g, (_match, _dash, letter: string) => letter.toUpperCase());

/**
 * Kommo Live Bridge: the HTTP API, one Lambda function per manifest entry, the SQS queues between
 * them, the DynamoDB table and the bridge secret. Everything is derived from `functions/manifest.ts`.
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
  /** The integration's Redirect URI: the KommoRedirectUri parameter, or this API's install route. */
  private redirectUri!: string;
  /** Where alarms send their state changes (alarm and back to OK); encrypted, with an optional e-mail subscription. */
  readonly alarmTopic: sns.Topic;
  /** The operations dashboard: Kommo calls, typing calls saved, hook acks, dead letters, live pushes. */
  readonly dashboard: cloudwatch.Dashboard;
  /** The HTTP API's `$default` stage. */
  private apiStage!: apigwv2.HttpStage;
  /** The bridge's public base URL (no trailing slash): the custom domain when given, else the execute-api address. */
  private publicApiUrl!: string;
  /** The live channel's public `wss://` URL. */
  private publicLiveUrl!: string;

  constructor(scope: Construct, id: string, props: BridgeStackProps = {}) {
    super(scope, id, props);
    const logRetention = props.logRetention ?? logs.RetentionDays.ONE_MONTH;

    // Before the settings: the install routes' URLs are the API's own.
    this.api = this.declareApi(props.apiThrottle ?? defaultApiThrottle, logRetention);
    this.publicApiUrl = props.customDomain ? this.declareApiDomain(props.customDomain) : this.apiUrl();
    const settings = this.declareSettings();

    const provisioned = props.tableProvisionedCapacity;
    if (provisioned) checkProvisionedCapacity(provisioned, props.tableMaxThroughput);
    this.table = new dynamodb.Table(this, 'Table', {
      partitionKey: { name: TABLE_KEYS.partitionKey, type: dynamodb.AttributeType.STRING },
      sortKey: { name: TABLE_KEYS.sortKey, type: dynamodb.AttributeType.STRING },
      ...(provisioned
        ? {
            billingMode: dynamodb.BillingMode.PROVISIONED,
            readCapacity: provisioned.read.min,
            writeCapacity: provisioned.write.min,
          }
        : { billingMode: dynamodb.BillingMode.PAY_PER_REQUEST }),
      ...(props.tableMaxThroughput
        ? {
            maxReadRequestUnits: props.tableMaxThroughput.readRequestUnits,
            maxWriteRequestUnits: props.tableMaxThroughput.writeRequestUnits,
          }
        : {}),
      timeToLiveAttribute: TTL_ATTRIBUTE,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: dynamodb.TableEncryption.AWS_MANAGED,
      // Delivery statuses and scope bindings must survive a stack deletion or replacement.
      removalPolicy: RemovalPolicy.RETAIN,
    });

    if (provisioned) {
      const targetUtilizationPercent = provisioned.targetUtilizationPercent ?? 70;
      this.table
        .autoScaleReadCapacity({ minCapacity: provisioned.read.min, maxCapacity: provisioned.read.max })
        .scaleOnUtilization({ targetUtilizationPercent });
      this.table
        .autoScaleWriteCapacity({ minCapacity: provisioned.write.min, maxCapacity: provisioned.write.max })
        .scaleOnUtilization({ targetUtilizationPercent });
    }

    this.secrets = this.declareSecrets();

    this.queues = new Map(
      queueSpecs.map((spec) => [spec.name, new BridgeQueue(this, `${pascalCase(spec.name)}Queue`, { spec })] as const),
    );

    // Before the functions: their environment names the live channel's URLs.
    [this.liveApi, this.liveStage] = this.declareLiveChannel(
      props.liveChannelThrottle ?? defaultLiveChannelThrottle,
      logRetention,
      props.apiGatewayCloudWatchRole ?? true,
    );
    this.publicLiveUrl = props.customDomain?.liveDomainName
      ? this.declareLiveDomain(props.customDomain)
      : this.liveStage.url;

    this.functions = new Map(
      functionSpecs.map(
        (spec) =>
          [
            spec.name,
            this.declareFunction(spec, settings, logRetention, props.reservedConcurrency?.[spec.name], {
              tracing: props.tracing ?? false,
              platformLogs: props.lambdaPlatformLogs ?? true,
            }),
          ] as const,
      ),
    );
    this.routeLiveChannel();
    const sampleRate = props.debugLogSampleRate ?? 0;
    if (!(sampleRate >= 0 && sampleRate <= 1))
      throw new Error(`debugLogSampleRate must be between 0 and 1, got ${sampleRate}`);
    if (sampleRate > 0)
      for (const bridgeFunction of this.functions.values())
        bridgeFunction.function.addEnvironment('POWERTOOLS_LOGGER_SAMPLE_RATE', String(sampleRate));

    const maxConcurrency = props.consumerMaxConcurrency ?? defaultConsumerMaxConcurrency;
    for (const spec of queueSpecs) {
      const reserved = props.reservedConcurrency?.[spec.consumer];
      // A mapping allowed more invocations than its function may run keeps being throttled by Lambda,
      // and the throttled batches count as receives towards the dead-letter queue.
      if (reserved !== undefined && reserved < maxConcurrency) {
        throw new Error(
          `reservedConcurrency of ${spec.consumer} (${reserved}) is below consumerMaxConcurrency (${maxConcurrency}) of the ${spec.name} queue it consumes`,
        );
      }
      const window = props.consumerBatchingWindowSeconds?.[spec.name] ?? spec.maxBatchingWindowSeconds;
      if (!(Number.isInteger(window) && window >= 0 && window <= 300))
        throw new Error(`the batching window of the ${spec.name} queue must be 0 to 300 whole seconds, got ${window}`);
      this.functionNamed(spec.consumer).function.addEventSource(
        new SqsEventSource(this.queueNamed(spec.name).queue, {
          batchSize: spec.batchSize,
          ...(window > 0 ? { maxBatchingWindow: Duration.seconds(window) } : {}),
          reportBatchItemFailures: true,
          maxConcurrency,
        }),
      );
    }

    this.routeApi();
    this.alarmTopic = this.declareAlarmTopic();
    this.declareAlarms();
    this.dashboard = this.declareDashboard();
    this.declareOutputs();
  }

  /**
   * Non-secret settings, as parameters so that synth needs none and deploy takes `--parameters`.
   * The constraints mirror the handlers' own validation (functions/core/config.ts), so a bad value
   * fails the deployment instead of every cold start.
   */
  private declareSettings(): Readonly<Record<string, string>> {
    const chatServiceUrl = new CfnParameter(this, 'ChatServiceUrl', {
      type: 'String',
      description: "URL the bridge POSTs signed events to, the chat service's webhook endpoint (CHAT_SERVICE_URL).",
      allowedPattern: '^https?://\\S+$',
      constraintDescription: 'an http(s) URL',
    });
    const kommoApiUrl = new CfnParameter(this, 'KommoApiUrl', {
      type: 'String',
      description: 'Kommo amojo base URL (KOMMO_API_URL).',
      default: 'https://amojo.kommo.com',
      allowedPattern: '^https?://\\S+$',
      constraintDescription: 'an http(s) URL',
    });
    const kommoHookForwardUrl = new CfnParameter(this, 'KommoHookForwardUrl', {
      type: 'String',
      description:
        'Optional: where Kommo hooks the bridge does not consume are forwarded (KOMMO_HOOK_FORWARD_URL). Empty: not forwarded.',
      default: '',
      allowedPattern: '^(https?://\\S+)?$',
      constraintDescription: 'empty, or an http(s) URL',
    });
    const chatServiceStatusUrl = new CfnParameter(this, 'ChatServiceStatusUrl', {
      type: 'String',
      description:
        "Optional: the chat service's delivery-status URL with {msgid} (CHAT_SERVICE_STATUS_URL), polled after each message a Kommo user sends. Empty: statuses are only pushed.",
      default: '',
      allowedPattern: '^(https?://[^\\s/?#{}]+[/?][^\\s]*\\{msgid\\}\\S*)?$',
      constraintDescription: 'empty, or an http(s) URL with {msgid} in its path or query',
    });
    const typingRefreshSeconds = new CfnParameter(this, 'TypingRefreshSeconds', {
      type: 'Number',
      description: 'Seconds between the typing calls that keep "typing" shown in Kommo (TYPING_REFRESH_SECONDS).',
      default: 4,
      // Kommo shows typing for 5 s after a call, so a refresh every 4 s at most leaves no gap.
      minValue: 1,
      maxValue: 4,
    });
    const kommoRedirectUri = new CfnParameter(this, 'KommoRedirectUri', {
      type: 'String',
      description:
        "The Kommo integration's Redirect URI (KOMMO_REDIRECT_URI), exactly as registered in Kommo: installs exchange their code with it, and widget " +
        "one-time tokens carry its origin as aud. Empty: this API's own /kommo/install (the KommoRedirectUri output); set it when Kommo knows the " +
        'bridge by another name (a custom domain routed to this API).',
      default: '',
      allowedPattern: '^(https?://\\S+)?$',
      constraintDescription: 'empty, or an http(s) URL',
    });
    const kommoClientId = new CfnParameter(this, 'KommoClientId', {
      type: 'String',
      description:
        "The Kommo integration's id (KOMMO_CLIENT_ID), from the integration's keys in Kommo. Empty: /kommo/install and /kommo/uninstall answer 503, not configured.",
      default: '',
      allowedPattern: '^([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})?$',
      constraintDescription: 'empty, or the integration id (a UUID)',
    });
    const kommoAccountUrl = new CfnParameter(this, 'KommoAccountUrl', {
      type: 'String',
      description:
        "Optional: where an install reaches the Kommo account's own API (KOMMO_ACCOUNT_URL), a URL with {subdomain}, for a stand-in of Kommo. " +
        "Empty: the account's own host (https://<subdomain>.kommo.com, or the account's amoCRM domain).",
      default: '',
      allowedPattern: '^(https?://[^\\s?#{}]*\\{subdomain\\}[^\\s?#{}]*)?$',
      constraintDescription: 'empty, or an http(s) URL with {subdomain}, without query or fragment',
    });
    // Not "KommoClientId": CloudFormation wants logical ids unique across parameters and outputs.
    new CfnOutput(this, 'KommoIntegrationClientId', {
      description:
        'The KommoClientId parameter as deployed (empty: not set yet, installs answer 503); npm run deploy:check reads it.',
      value: kommoClientId.valueAsString,
    });
    const installRoute = httpRoutes.find(
      (route) => route.function === 'kommo-install' && route.path.endsWith('/install'),
    );
    if (!installRoute)
      throw new Error(
        'The manifest has no install route for kommo-install, so the stack has no Redirect URI to default to',
      );
    // One value for the code exchange and for the widget tokens' aud, so the two cannot disagree.
    const redirectUriGiven = new CfnCondition(this, 'KommoRedirectUriGiven', {
      expression: Fn.conditionNot(Fn.conditionEquals(kommoRedirectUri.valueAsString, '')),
    });
    this.redirectUri = Token.asString(
      Fn.conditionIf(
        redirectUriGiven.logicalId,
        kommoRedirectUri.valueAsString,
        `${this.publicApiUrl}${installRoute.path}`,
      ),
    );
    // No channel id here: Kommo issues the channel only after it has the webhook URL this stack outputs,
    // so the id is filled in afterwards, in the kommo-channel-id secret, and needs no redeploy.
    return {
      CHAT_SERVICE_URL: chatServiceUrl.valueAsString,
      KOMMO_API_URL: kommoApiUrl.valueAsString,
      KOMMO_HOOK_FORWARD_URL: kommoHookForwardUrl.valueAsString,
      CHAT_SERVICE_STATUS_URL: chatServiceStatusUrl.valueAsString,
      TYPING_REFRESH_SECONDS: Token.asString(typingRefreshSeconds.value),
      KOMMO_REDIRECT_URI: this.redirectUri,
      KOMMO_CLIENT_ID: kommoClientId.valueAsString,
      KOMMO_ACCOUNT_URL: kommoAccountUrl.valueAsString,
    };
  }

  /**
   * The secret settings: one secret per group of holders, each a JSON object, so a function can read
   * only what it uses. Created with a generated admin token and empty values for the secrets other
   * parties issue, so nothing secret is in the template; the operator fills those in after deploy,
   * and the functions holding them refuse to start until they are valid.
   */
  private declareSecrets(): ReadonlyMap<SecretGroup, secretsmanager.Secret> {
    const descriptions: Readonly<Record<SecretGroup, string>> = {
      'kommo-channel-id':
        'the channel id Kommo issued (not secret, but filled in after deploy, when Kommo has issued the channel)',
      'kommo-channel': 'the channel secret Kommo issued',
      'chat-service':
        'the Standard Webhooks secret shared with the chat service, and the previous one during a rotation',
      'kommo-integration': "the Kommo integration's secret key (widget one-time tokens)",
      admin: 'the operator token for /admin/... (generated)',
    };
    const secrets = new Map<SecretGroup, secretsmanager.Secret>();
    for (const group of Object.keys(secretGroups) as SecretGroup[]) {
      const keys: readonly string[] = secretGroups[group];
      const empty = Object.fromEntries(keys.map((key) => [key, SecretValue.unsafePlainText('')]));
      const secret = new secretsmanager.Secret(this, `${pascalCase(group)}Secret`, {
        description: `Kommo Live Bridge: ${descriptions[group]}. JSON with keys ${keys.join(', ')}.`,
        ...(group === 'admin'
          ? {
              generateSecretString: {
                secretStringTemplate: '{}',
                generateStringKey: 'ADMIN_TOKEN',
                excludePunctuation: true,
                passwordLength: 48,
              },
            }
          : // Empty placeholders only: the values are entered after deploy and never pass through the template.
            { secretObjectValue: empty }),
        // The values were entered by hand and some were issued by Kommo; a stack replacement must not lose them.
        removalPolicy: RemovalPolicy.RETAIN,
      });
      Validations.of(secret).acknowledge({
        id: 'AwsSolutions-SMG4',
        reason:
          'The channel secret and client secret are issued by Kommo and the chat-service secret is shared with the ' +
          'integrator; none can be rotated by a Lambda without the other party. The functions re-read their secrets ' +
          'every 5 minutes, so a manual rotation needs no redeploy (docs: rotating secrets).',
      });
      secrets.set(group, secret);
    }
    return secrets;
  }

  /** A function with exactly the access the manifest gives it, and the settings that go with it. */
  private declareFunction(
    spec: FunctionSpec,
    settings: Readonly<Record<string, string>>,
    logRetention: logs.RetentionDays,
    reservedConcurrentExecutions: number | undefined,
    logging: { tracing: boolean; platformLogs: boolean },
  ): BridgeFunction {
    const environment: Record<string, string> = {};
    if (spec.table !== 'none') environment.TABLE_NAME = this.table.tableName;
    // Every function but the 404 answer validates the bridge's settings at start.
    if (spec.name !== fallbackFunction) Object.assign(environment, settings);
    for (const group of spec.secrets) environment[secretArnVariables[group]] = this.secretNamed(group).secretArn;
    for (const name of spec.sendsTo) {
      environment[this.queueSpecNamed(name).urlVariable] = this.queueNamed(name).queue.queueUrl;
    }
    for (const name of spec.deadLettersTo) {
      environment[this.queueSpecNamed(name).deadLetterUrlVariable] = this.queueNamed(name).deadLetterQueue.queueUrl;
    }
    if (spec.liveChannel?.address) environment[liveChannelVariables.address] = this.publicLiveUrl;
    if (spec.liveChannel?.push) environment[liveChannelVariables.push] = this.liveStage.callbackUrl;

    const bridgeFunction = new BridgeFunction(this, `${pascalCase(spec.name)}Function`, {
      spec,
      environment,
      logRetention,
      ...logging,
      ...(reservedConcurrentExecutions === undefined ? {} : { reservedConcurrentExecutions }),
    });
    const lambdaFunction = bridgeFunction.function;

    if (spec.table !== 'none') this.grantItems(lambdaFunction, spec.table.read, spec.table.readWrite);
    for (const name of spec.sendsTo) this.queueNamed(name).queue.grantSendMessages(lambdaFunction);
    for (const name of spec.deadLettersTo) this.queueNamed(name).deadLetterQueue.grantSendMessages(lambdaFunction);
    for (const group of spec.secrets) this.secretNamed(group).grantRead(lambdaFunction);
    // execute-api:ManageConnections on this stage's connections only.
    if (spec.liveChannel?.push) {
      this.liveStage.grantManagementApiAccess(lambdaFunction);
      const apiId = this.getLogicalId(this.liveApi.node.defaultChild as CfnElement);
      Validations.of(bridgeFunction.role).acknowledge({
        id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:execute-api:<AWS::Region>:<AWS::AccountId>:<${apiId}>/${liveChannelPath}/*/@connections/*]`,
        reason:
          'Connection ids are made by API Gateway at each $connect and known only at run time; the wildcard spans the connections of this ' +
          "API's live stage (POST @connections/{id}) and nothing else.",
      });
    }

    return bridgeFunction;
  }

  /**
   * Item-level access to the kinds of items a function uses, and to no other: IAM checks the partition
   * key of every item a call touches against `dynamodb:LeadingKeys` (every key of the table starts with
   * its kind, functions/core/adapters/dynamodb/item-kinds.ts). Only item-level actions are granted, so
   * there is no Scan, which has no leading key to check.
   * https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/specifying-conditions.html
   */
  private grantItems(grantee: iam.IGrantable, read: readonly ItemKind[], readWrite: readonly ItemKind[]): void {
    const statement = (actions: string[], kinds: readonly ItemKind[]) =>
      new iam.PolicyStatement({
        actions: actions.map((action) => `dynamodb:${action}`),
        resources: [this.table.tableArn],
        conditions: {
          'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': kinds.map((kind) => `${itemKinds[kind]}#*`) },
        },
      });
    const readActions = ['GetItem', 'BatchGetItem', 'Query', 'ConditionCheckItem'];
    const grants: iam.PolicyStatement[] = [];
    const readable = [...new Set([...read, ...readWrite])];
    if (readable.length > 0) grants.push(statement(readActions, readable));
    if (readWrite.length > 0)
      grants.push(statement(['PutItem', 'UpdateItem', 'DeleteItem', 'BatchWriteItem'], readWrite));
    for (const grant of grants) grantee.grantPrincipal.addToPrincipalPolicy(grant);
  }

  /** The HTTP API and its throttled stage with access logs; its routes are added once the functions exist (`routeApi`). */
  private declareApi(throttle: ApiThrottleSettings, logRetention: logs.RetentionDays): apigwv2.HttpApi {
    const api = new apigwv2.HttpApi(this, 'Api', {
      apiName: this.stackName,
      description: 'Kommo Live Bridge: Kommo hooks, chat-service, Kommo widget and operator calls',
      // The default stage is declared below, with throttling and access logs.
      createDefaultStage: false,
    });

    const accessLogs = new logs.LogGroup(this, 'ApiAccessLogs', { retention: logRetention });
    this.apiStage = new apigwv2.HttpStage(this, 'ApiDefaultStage', {
      httpApi: api,
      stageName: '$default',
      autoDeploy: true,
      throttle: throttle,
      accessLogSettings: {
        destination: new apigwv2.LogGroupLogDestination(accessLogs),
        // HTTP API context variables; headers are left out on purpose (they carry signatures and tokens).
        // https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-logging-variables.html
        format: AccessLogFormat.custom(
          JSON.stringify({
            requestId: '$context.requestId',
            requestTime: '$context.requestTime',
            sourceIp: '$context.identity.sourceIp',
            userAgent: '$context.identity.userAgent',
            routeKey: '$context.routeKey',
            method: '$context.httpMethod',
            path: '$context.path',
            status: '$context.status',
            responseLength: '$context.responseLength',
            responseLatency: '$context.responseLatency',
            integrationStatus: '$context.integrationStatus',
            integrationLatency: '$context.integrationLatency',
            integrationError: '$context.integrationErrorMessage',
            error: '$context.error.message',
          }),
        ),
      },
    });

    return api;
  }

  /**
   * The API's base URL, made of its id, region and URL suffix rather than its `ApiEndpoint` attribute,
   * so that functions may carry it (`$default` stage: no path).
   */
  private apiUrl(): string {
    return `https://${this.api.apiId}.execute-api.${this.region}.${this.urlSuffix}`;
  }

  /** One route per manifest entry, and `$default` (every other path or method) to the fallback function. */
  private routeApi(): void {
    const api = this.api;
    const integrations = new Map<FunctionName, HttpLambdaIntegration>();
    const integrationFor = (name: FunctionName) => {
      let integration = integrations.get(name);
      if (!integration) {
        integration = new HttpLambdaIntegration(`${pascalCase(name)}Integration`, this.functionNamed(name).function, {
          payloadFormatVersion: apigwv2.PayloadFormatVersion.VERSION_2_0,
        });
        integrations.set(name, integration);
      }
      return integration;
    };

    for (const route of httpRoutes) {
      const [httpRoute] = api.addRoutes({
        path: route.path,
        methods: [apigwv2.HttpMethod[route.method]],
        integration: integrationFor(route.function),
      });
      Validations.of(httpRoute!).acknowledge({ id: 'AwsSolutions-APIG4', reason: authenticationOf(route) });
    }

    const defaultRoute = new apigwv2.HttpRoute(api, 'DefaultRoute', {
      httpApi: api,
      routeKey: apigwv2.HttpRouteKey.DEFAULT,
      integration: integrationFor(fallbackFunction),
    });
    Validations.of(defaultRoute).acknowledge({
      id: 'AwsSolutions-APIG4',
      reason:
        "The $default route only answers the contract's JSON 404/405 for unknown routes; it reads and writes no data and holds no secret.",
    });
  }

  /**
   * The live channel's WebSocket API and its throttled stage with access logs; its routes are added
   * once the functions exist (`routeLiveChannel`).
   */
  private declareLiveChannel(
    throttle: ApiThrottleSettings,
    logRetention: logs.RetentionDays,
    setAccountLogsRole: boolean,
  ): [apigwv2.WebSocketApi, apigwv2.WebSocketStage] {
    const api = new apigwv2.WebSocketApi(this, 'LiveApi', {
      apiName: `${this.stackName}-live`,
      description: "Kommo Live Bridge: the Kommo widget's live channel (client presence of the chats it watches)",
    });
    const accessLogs = new logs.LogGroup(this, 'LiveApiAccessLogs', { retention: logRetention });
    const stage = new apigwv2.WebSocketStage(this, 'LiveStage', {
      webSocketApi: api,
      stageName: liveChannelPath,
      autoDeploy: true,
      throttle,
      accessLogSettings: {
        destination: new apigwv2.LogGroupLogDestination(accessLogs),
        // WebSocket API context variables; never the query string, which carries the ticket.
        // https://docs.aws.amazon.com/apigateway/latest/developerguide/websocket-api-logging.html
        format: AccessLogFormat.custom(
          JSON.stringify({
            requestId: '$context.requestId',
            requestTime: '$context.requestTime',
            eventType: '$context.eventType',
            routeKey: '$context.routeKey',
            connectionId: '$context.connectionId',
            messageId: '$context.messageId',
            status: '$context.status',
            sourceIp: '$context.identity.sourceIp',
            userAgent: '$context.identity.userAgent',
            integrationLatency: '$context.integrationLatency',
            error: '$context.error.message',
          }),
        ),
      },
    });
    if (setAccountLogsRole) stage.node.addDependency(this.declareApiGatewayLogsRole());
    return [api, stage];
  }

  /**
   * The region's API Gateway account setting, naming a role API Gateway writes CloudWatch logs with.
   * The setting is shared by every REST and WebSocket API of the account in the region, so the role
   * has the permissions AWS documents for it and outlives the stack: deleting the stack must not
   * leave the setting naming a role that no longer exists.
   * https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-logging.html
   */
  private declareApiGatewayLogsRole(): apigateway.CfnAccount {
    const role = new iam.Role(this, 'ApiGatewayLogsRole', {
      assumedBy: new iam.ServicePrincipal('apigateway.amazonaws.com'),
      description:
        'API Gateway (this account and region) writes REST and WebSocket API logs to CloudWatch Logs with this role',
      managedPolicies: [
        iam.ManagedPolicy.fromAwsManagedPolicyName('service-role/AmazonAPIGatewayPushToCloudWatchLogs'),
      ],
    });
    role.applyRemovalPolicy(RemovalPolicy.RETAIN);
    Validations.of(role).acknowledge({
      id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]',
      reason:
        'AmazonAPIGatewayPushToCloudWatchLogs is the policy AWS documents for the API Gateway account setting; the role serves every REST and ' +
        'WebSocket API of the account in this region, whose log groups API Gateway names itself, so no narrower policy fits all of them.',
    });
    const account = new apigateway.CfnAccount(this, 'ApiGatewayAccount', { cloudWatchRoleArn: role.roleArn });
    account.applyRemovalPolicy(RemovalPolicy.RETAIN);
    return account;
  }

  /** One route per manifest WebSocket route, each to its function. */
  private routeLiveChannel(): void {
    const integrations = new Map<FunctionName, WebSocketLambdaIntegration>();
    for (const route of webSocketRoutes) {
      let integration = integrations.get(route.function);
      if (!integration) {
        integration = new WebSocketLambdaIntegration(
          `Live${pascalCase(route.function)}Integration`,
          this.functionNamed(route.function).function,
        );
        integrations.set(route.function, integration);
      }
      const webSocketRoute = this.liveApi.addRoute(route.routeKey, { integration });
      Validations.of(webSocketRoute).acknowledge({
        id: 'AwsSolutions-APIG4',
        reason: liveChannelAuthentication[route.routeKey],
      });
    }
  }

  /**
   * Alarms on what needs a person: a dead letter, a function error, and Kommo refusing our calls.
   * No data (a quiet queue, no invocations) is not a problem. Each tells the alarm topic.
   */
  private declareAlarms(): void {
    const alarmWhenAboveZero = (id: string, metric: cloudwatch.IMetric, description: string) => {
      const alarm = new cloudwatch.Alarm(this, id, {
        metric,
        threshold: 0,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        alarmDescription: description,
      });
      // OK too, so whoever was told of a problem is told when it is over.
      alarm.addAlarmAction(new cloudwatchActions.SnsAction(this.alarmTopic));
      alarm.addOkAction(new cloudwatchActions.SnsAction(this.alarmTopic));
      return alarm;
    };

    for (const spec of queueSpecs) {
      alarmWhenAboveZero(
        `${pascalCase(spec.name)}DeadLettersAlarm`,
        this.queueNamed(spec.name).deadLetterQueue.metricApproximateNumberOfMessagesVisible({
          period: Duration.minutes(5),
          statistic: cloudwatch.Stats.MAXIMUM,
        }),
        `Messages are waiting in the ${spec.name} dead-letter queue (${spec.purpose}). Read their reason, fix the cause, then redrive them.`,
      );
    }

    for (const spec of functionSpecs) {
      alarmWhenAboveZero(
        `${pascalCase(spec.name)}ErrorsAlarm`,
        this.functionNamed(spec.name).function.metricErrors({
          period: Duration.minutes(5),
          statistic: cloudwatch.Stats.SUM,
        }),
        `The ${spec.name} function failed (${spec.description}). See its log group.`,
      );
    }

    alarmWhenAboveZero(
      'KommoCallForbiddenAlarm',
      // Published by the Kommo client (functions/core/ports/telemetry.ts) when amojo answers 403.
      this.bridgeMetric('KommoCallForbidden'),
      'Kommo answered 403 to a signed call: the channel secret (KOMMO_CHANNEL_SECRET) or the channel id (KOMMO_CHANNEL_ID) in their secrets is wrong.',
    );
  }

  /** A count the functions publish (functions/core/ports/telemetry.ts), summed over 5 minutes. */
  private bridgeMetric(metricName: string, label?: string): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: powertools.metricsNamespace,
      metricName,
      dimensionsMap: { service: powertools.serviceName },
      period: Duration.minutes(5),
      statistic: cloudwatch.Stats.SUM,
      ...(label ? { label } : {}),
    });
  }

  /**
   * The alarms' topic, encrypted with a key of the stack's own: CloudWatch can publish to an encrypted
   * topic only when the key's policy lets it, and the AWS-managed SNS key's policy cannot be changed.
   * The optional e-mail subscription (AlarmEmail parameter) must be confirmed from the mail AWS sends.
   */
  private declareAlarmTopic(): sns.Topic {
    const key = new kms.Key(this, 'AlarmTopicKey', {
      description: 'Kommo Live Bridge: encrypts the alarm topic',
      enableKeyRotation: true,
      // Holds nothing but alarm notifications in flight; scheduled for deletion with the stack.
      removalPolicy: RemovalPolicy.DESTROY,
      pendingWindow: Duration.days(7),
    });
    key.addToResourcePolicy(
      new iam.PolicyStatement({
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
        conditions: { StringEquals: { 'aws:SourceAccount': this.account } },
      }),
    );
    const topic = new sns.Topic(this, 'AlarmTopic', {
      displayName: 'Kommo Live Bridge alarms',
      masterKey: key,
      enforceSSL: true,
    });
    const alarmEmail = new CfnParameter(this, 'AlarmEmail', {
      type: 'String',
      description:
        'Optional: an e-mail address told of every alarm and of its end (confirm the subscription from the mail AWS sends). Empty: none.',
      default: '',
      allowedPattern: '^([^\\s@]+@[^\\s@]+)?$',
      constraintDescription: 'empty, or an e-mail address',
    });
    const emailGiven = new CfnCondition(this, 'AlarmEmailGiven', {
      expression: Fn.conditionNot(Fn.conditionEquals(alarmEmail.valueAsString, '')),
    });
    const subscription = new sns.CfnSubscription(this, 'AlarmEmailSubscription', {
      topicArn: topic.topicArn,
      protocol: 'email',
      endpoint: alarmEmail.valueAsString,
    });
    subscription.cfnOptions.condition = emailGiven;
    return topic;
  }

  /** One page for the operator: is Kommo answering, what typing coalescing saves, hook acks, dead letters, live pushes. */
  private declareDashboard(): cloudwatch.Dashboard {
    const width = 12;
    const height = 6;
    const dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName: `${this.stackName}-operations`,
      defaultInterval: Duration.hours(24),
    });
    const graph = (title: string, left: cloudwatch.IMetric[]) =>
      new cloudwatch.GraphWidget({ title, left, width, height });
    dashboard.addWidgets(
      graph('Kommo calls: succeeded, failed, forbidden (403)', [
        this.bridgeMetric('KommoCallSucceeded', 'succeeded'),
        this.bridgeMetric('KommoCallFailed', 'failed'),
        this.bridgeMetric('KommoCallForbidden', 'forbidden (403)'),
      ]),
      graph('Typing calls to Kommo, and typing starts coalesced (calls saved)', [
        this.bridgeMetric('KommoTypingCall', 'typing calls made'),
        this.bridgeMetric('TypingStartCoalesced', 'typing starts coalesced'),
      ]),
      graph('Kommo hooks: accepted and rejected', [
        this.bridgeMetric('KommoHookAccepted', 'accepted'),
        this.bridgeMetric('KommoHookRejected', 'rejected'),
      ]),
      graph(
        'Dead letters waiting, per queue',
        queueSpecs.map((spec) =>
          this.queueNamed(spec.name).deadLetterQueue.metricApproximateNumberOfMessagesVisible({
            period: Duration.minutes(5),
            statistic: cloudwatch.Stats.MAXIMUM,
            label: spec.name,
          }),
        ),
      ),
      graph('Delivery statuses: applied and ignored', [
        this.bridgeMetric('StatusApplied', 'applied'),
        this.bridgeMetric('StatusIgnored', 'ignored'),
      ]),
      graph('Live channel pushes: frames pushed, connections gone, pushes failed', [
        this.bridgeMetric('LiveFramePushed', 'frames pushed'),
        this.bridgeMetric('LiveConnectionGone', 'connections gone'),
        this.bridgeMetric('LivePushFailed', 'pushes failed'),
      ]),
    );
    return dashboard;
  }

  /** The HTTP API's custom domain, mapped at its root; the bridge's URLs are then made of it. */
  private declareApiDomain(customDomain: BridgeCustomDomain): string {
    const certificate = acm.Certificate.fromCertificateArn(this, 'ApiCertificate', customDomain.certificateArn);
    const domain = new apigwv2.DomainName(this, 'ApiDomain', {
      domainName: customDomain.domainName,
      certificate,
      securityPolicy: apigwv2.SecurityPolicy.TLS_1_2,
    });
    new apigwv2.ApiMapping(this, 'ApiDomainMapping', { api: this.api, domainName: domain, stage: this.apiStage });
    new CfnOutput(this, 'ApiDomainTarget', {
      description: `Point ${customDomain.domainName} (CNAME, or a Route 53 alias) at this regional domain name.`,
      value: domain.regionalDomainName,
    });
    return `https://${customDomain.domainName}`;
  }

  /** The live channel's custom domain, mapped at its root to the live stage. */
  private declareLiveDomain(customDomain: BridgeCustomDomain): string {
    const liveDomainName = customDomain.liveDomainName!;
    const domain = new apigwv2.DomainName(this, 'LiveDomain', {
      domainName: liveDomainName,
      certificate: acm.Certificate.fromCertificateArn(this, 'LiveCertificate', customDomain.certificateArn),
      securityPolicy: apigwv2.SecurityPolicy.TLS_1_2,
    });
    new apigwv2.ApiMapping(this, 'LiveDomainMapping', { api: this.liveApi, domainName: domain, stage: this.liveStage });
    new CfnOutput(this, 'LiveDomainTarget', {
      description: `Point ${liveDomainName} (CNAME, or a Route 53 alias) at this regional domain name.`,
      value: domain.regionalDomainName,
    });
    return `wss://${liveDomainName}`;
  }

  private declareOutputs(): void {
    const kommoHookRoute = httpRoutes.find((route) => route.function === 'kommo-hook');
    if (!kommoHookRoute)
      throw new Error('The manifest has no route to kommo-hook, so there is no Kommo webhook URL to output');

    new CfnOutput(this, 'ApiUrl', {
      description: 'Base URL of the bridge API.',
      value: this.publicApiUrl,
    });
    new CfnOutput(this, 'KommoWebhookUrl', {
      description: 'Register exactly this as the channel webhook URL in Kommo; Kommo substitutes :scope_id itself.',
      value: `${this.publicApiUrl}${kommoHookRoute.path.replace('{scope_id}', ':scope_id')}`,
    });
    new CfnOutput(this, 'LiveChannelUrl', {
      description: "The widget's live channel (WebSocket); the widget gets it, with a ticket, from POST /widget/live.",
      value: this.publicLiveUrl,
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
      value: this.redirectUri,
    });
    new CfnOutput(this, 'KommoDisableHookUrl', {
      description:
        "Register this as the Kommo integration's disable hook URL (uninstalls disconnect the account there).",
      value: `${this.publicApiUrl}${uninstallRoute.path}`,
    });
    new CfnOutput(this, 'ChatServiceBaseUrl', {
      description:
        'Base URL for the chat service: it calls <this>{scope_id}/typing, …/messages/{msgid}/status and …/presence.',
      value: `${this.publicApiUrl}/chat/`,
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

  private queueSpecNamed(name: QueueName) {
    const spec = queueSpecs.find((candidate) => candidate.name === name);
    if (!spec) throw new Error(`The manifest names queue "${name}" but does not declare it`);
    return spec;
  }

  private queueNamed(name: QueueName): BridgeQueue {
    const queue = this.queues.get(name);
    if (!queue) throw new Error(`The manifest names queue "${name}" but does not declare it`);
    return queue;
  }

  private secretNamed(group: SecretGroup): secretsmanager.Secret {
    const secret = this.secrets.get(group);
    if (!secret) throw new Error(`The manifest names secret "${group}" but the stack does not declare it`);
    return secret;
  }

  private functionNamed(name: FunctionName): BridgeFunction {
    const bridgeFunction = this.functions.get(name);
    if (!bridgeFunction) throw new Error(`The manifest names function "${name}" but does not declare it`);
    return bridgeFunction;
  }
}

/** Provisioned capacity that could not work as asked stops the synth, naming what is wrong. */
function checkProvisionedCapacity(
  capacity: TableProvisionedCapacity,
  onDemandCap: TableMaxThroughput | undefined,
): void {
  if (onDemandCap)
    throw new Error(
      'tableProvisionedCapacity and tableMaxThroughput exclude each other: the cap is for on-demand tables',
    );
  for (const [name, range] of [
    ['read', capacity.read],
    ['write', capacity.write],
  ] as const) {
    if (!Number.isInteger(range.min) || !Number.isInteger(range.max) || range.min < 1 || range.max < range.min) {
      throw new Error(
        `tableProvisionedCapacity.${name} needs whole units with 1 <= min <= max; got ${range.min}-${range.max}`,
      );
    }
  }
  const target = capacity.targetUtilizationPercent;
  // Application Auto Scaling's target tracking for DynamoDB takes 20-90 %.
  if (target !== undefined && (target < 20 || target > 90))
    throw new Error(`tableProvisionedCapacity.targetUtilizationPercent must be 20-90; got ${target}`);
}
