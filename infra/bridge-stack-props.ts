import type { StackProps } from 'aws-cdk-lib';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type { FunctionName, QueueName } from '../functions/manifest';
import type { TableMaxThroughput, TableProvisionedCapacity } from './constructs/bridge-table';

export type { AutoscaledCapacity, TableMaxThroughput, TableProvisionedCapacity } from './constructs/bridge-table';

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
   * Memory of every function in MB (a whole number from 128 to 10,240), in place of the manifest's
   * (512 MB, 256 MB for the 404 answer). Lambda bills GB-seconds and gives CPU in proportion to
   * memory: 256 MB halves the price of a second but may lengthen each invocation, which no run here
   * measures (docs/cost-model.md, "Against the target"); measure the Duration metric before and after.
   * @default - the manifest's
   */
  readonly functionMemoryMb?: number;
  /**
   * The Kommo user's presence, a guarantee priced in money (docs/cost-model.md, "Against the target"):
   * how often the widget pings its live channel (10 to 300 s; the widget learns it from
   * `POST /widget/live`), and the window after which a silent widget's user is offline (30 to 900 s, at
   * least twice the ping plus 15 s). A 60-s ping with a 150-s window costs about $1.30 less per
   * account-month at 100 accounts, and announces a vanished user up to 150 s after the last ping
   * instead of 90 s.
   * @default { pingSeconds: 30, windowSeconds: 90 }
   */
  readonly kommoUserPresence?: { readonly pingSeconds: number; readonly windowSeconds: number };
  /**
   * Request limits of the live channel's stage (WebSocket connects and frames): each open widget sends
   * a frame every 30 s, plus one per chat it starts or stops watching. The default carries 100 accounts
   * of 20 Kommo users (about 70 frames/s) with 3× headroom, and lets all 2,000 widgets reconnect within
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
