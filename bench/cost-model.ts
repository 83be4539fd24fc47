import type { QueueName } from '../functions/manifest';

/**
 * What a run of the bridge costs on AWS: list prices (us-east-1, on-demand, no free tier) and the
 * account profile the monthly figure is for. The one place these numbers live; docs/cost-model.md
 * explains them.
 */

export const PRICES = {
  /** API Gateway HTTP API, per request (first 300 M a month). */
  httpApiRequest: 1.0 / 1e6,
  /** Lambda, per invocation. */
  lambdaInvocation: 0.2 / 1e6,
  /** Lambda on arm64, per GB-second. */
  lambdaGbSecond: 0.0000133334,
  /** Every function is configured with 512 MB (functions/manifest.ts; the stack's `functionMemoryMb` sets another). */
  lambdaMemoryGb: 0.5,
  /** Assumed billed duration of a warm invocation: most wait on one DynamoDB call or one outbound call. */
  lambdaDurationSeconds: 0.05,
  /** SQS standard queue, per request (send, receive and delete are one each). */
  sqsRequest: 0.4 / 1e6,
  /** DynamoDB on-demand, per write request unit and per read request unit. */
  dynamoWriteUnit: 0.625 / 1e6,
  dynamoReadUnit: 0.125 / 1e6,
  /** API Gateway WebSocket API, per message (32 KB each) and per connection minute. */
  webSocketMessage: 1.0 / 1e6,
  webSocketConnectionMinute: 0.25 / 1e6,
  /** CloudWatch Logs: ingestion per GB, and storage per GB-month (counted uncompressed: an upper bound). */
  logsIngestedGb: 0.5,
  logsStoredGbMonth: 0.03,
  /** CloudWatch: a custom metric (one name and dimension set) a month, a standard alarm a month, a dashboard a month. */
  customMetricMonth: 0.3,
  alarmMonth: 0.1,
  dashboardMonth: 3.0,
  /** Secrets Manager: a secret a month, and per GetSecretValue call. */
  secretMonth: 0.4,
  secretsApiCall: 0.05 / 10_000,
  /** KMS: a customer-managed key a month (the alarm topic's). */
  kmsKeyMonth: 1.0,
  /** X-Ray: per trace recorded (active tracing on every function). */
  xrayTraceRecorded: 5.0 / 1e6,
} as const;

/** CloudWatch Logs counts 26 bytes of overhead per log event on top of its text. */
export const LOG_EVENT_OVERHEAD_BYTES = 26;

/** X-Ray's default sampling rule: the first request each second, then 5% of the rest. */
export const XRAY_SAMPLING = { reservoirPerSecond: 1, rate: 0.05 } as const;

/**
 * One Lambda invocation at the assumed duration: the request price plus the compute, at `memoryGb`.
 * The duration is the same at any memory: no run here measures Lambda's durations, and a function
 * with less memory gets less CPU, so a smaller size is priced as a lower bound.
 */
export const lambdaInvocationCost = (memoryGb: number = PRICES.lambdaMemoryGb): number =>
  PRICES.lambdaInvocation + PRICES.lambdaGbSecond * memoryGb * PRICES.lambdaDurationSeconds;
export const LAMBDA_INVOCATION_COST = lambdaInvocationCost();

/**
 * A queue message is three SQS requests: the producer's send, the event source mapping's receive, and
 * its delete after the consumer succeeds. The mapping also polls empty queues (long polling, about
 * 4 requests a minute per queue at rest); that is per queue, not per event, and is left out here.
 */
export const SQS_REQUESTS_PER_MESSAGE = 3;

/** What one event made the bridge do, counted on a whole local bridge. */
export interface EventUsage {
  apiRequests: number;
  /** HTTP and live-channel invocations plus queue consumer invocations (one per message: batch size 1, the worst case). */
  lambdaInvocations: number;
  queueMessages: number;
  /** Of `queueMessages`, those on each queue (their consumers batch differently). */
  hooksMessages: number;
  eventsMessages: number;
  kommoStatusMessages: number;
  timersMessages: number;
  /** Frames widgets sent on the live channel ($connect and $disconnect included): a WebSocket message and an invocation each. */
  liveMessagesIn: number;
  /** Bytes and log events of every line the handlers wrote (bench/log-bytes.ts), the consumers' batch lines aside. */
  logBytes: number;
  logLines: number;
  /** At batch size 1 (the worst case). */
  sqsRequests: number;
  dynamoWriteUnits: number;
  dynamoReadUnits: number;
  dynamoRequests: number;
  /** Calls to Kommo and to the chat service (events, status queries). */
  outboundCalls: number;
  kommoCalls: number;
  webSocketMessages: number;
}

/** Messages per consumer invocation on each queue; 1 everywhere is the worst case. */
export type Batching = Record<QueueName, number>;
export const UNBATCHED: Batching = { hooks: 1, events: 1, 'kommo-status': 1, timers: 1 };

const queueMessagesOf = (usage: EventUsage): Batching => ({
  hooks: usage.hooksMessages,
  events: usage.eventsMessages,
  'kommo-status': usage.kommoStatusMessages,
  timers: usage.timersMessages,
});

/** Consumer invocations of an event's queue messages at `batching`. */
export function queueInvocations(usage: EventUsage, batching: Batching): number {
  const messages = queueMessagesOf(usage);
  return (Object.keys(messages) as QueueName[]).reduce((sum, queue) => sum + messages[queue] / batching[queue], 0);
}

/**
 * What an event writes to CloudWatch Logs, in bytes: its handlers' lines; Lambda's START, END and
 * REPORT lines per invocation; a consumer's batch line per queue invocation; an access log line per
 * API request and per live-channel frame; 26 bytes per log event on top.
 */
export function eventLogBytes(usage: EventUsage, batching: Batching, sizes: LogSizes): number {
  const overhead = LOG_EVENT_OVERHEAD_BYTES;
  const direct = usage.apiRequests + usage.liveMessagesIn;
  const consumers = queueInvocations(usage, batching);
  return (
    usage.logBytes +
    usage.logLines * overhead +
    (direct + consumers) * (sizes.platformBytes + sizes.platformEvents * overhead) +
    consumers * (sizes.batchLineBytes + overhead) +
    usage.apiRequests * (sizes.httpAccessBytes + overhead) +
    usage.liveMessagesIn * (sizes.webSocketAccessBytes + overhead)
  );
}

/** Line sizes that do not depend on the event (bench/log-bytes.ts). */
export interface LogSizes {
  platformBytes: number;
  platformEvents: number;
  batchLineBytes: number;
  httpAccessBytes: number;
  webSocketAccessBytes: number;
}

/** The stack's default log retention (infra: `logRetention`, one month). */
export const LOG_RETENTION_MONTHS = 1;

/** A log byte, ingested and then stored for the retention (steady state: a month's ingest × retention months). */
export function logByteCost(retentionMonths = LOG_RETENTION_MONTHS): number {
  return (PRICES.logsIngestedGb + PRICES.logsStoredGbMonth * retentionMonths) / 1e9;
}

/** The stack's default (`tracing` prop): X-Ray off, so the month prices no traces unless a deployment turns it on. */
export const TRACING_BY_DEFAULT = false;

/**
 * The parts of an event's cost, at `batching`; `logSizes` omitted: logs and tracing left out (the old
 * month); `tracing`: X-Ray active tracing on (the stack's `tracing` prop).
 */
export function eventCostParts(
  usage: EventUsage,
  batching: Batching = UNBATCHED,
  logSizes?: LogSizes,
  tracing: boolean = TRACING_BY_DEFAULT,
  memoryGb: number = PRICES.lambdaMemoryGb,
): { requests: number; dynamo: number; webSocket: number; logs: number; tracing: number } {
  const messages = queueMessagesOf(usage);
  const consumers = queueInvocations(usage, batching);
  // Each message is sent once; a batch is one receive and one DeleteMessageBatch.
  const sqsRequests = (Object.keys(messages) as QueueName[]).reduce(
    (sum, queue) => sum + messages[queue] * (1 + (SQS_REQUESTS_PER_MESSAGE - 1) / batching[queue]),
    0,
  );
  const invocations = usage.apiRequests + usage.liveMessagesIn + consumers;
  return {
    requests:
      usage.apiRequests * PRICES.httpApiRequest +
      invocations * lambdaInvocationCost(memoryGb) +
      sqsRequests * PRICES.sqsRequest,
    dynamo: usage.dynamoWriteUnits * PRICES.dynamoWriteUnit + usage.dynamoReadUnits * PRICES.dynamoReadUnit,
    webSocket: (usage.webSocketMessages + usage.liveMessagesIn) * PRICES.webSocketMessage,
    logs: logSizes ? eventLogBytes(usage, batching, logSizes) * logByteCost() : 0,
    // Beyond the deployment's reservoir (`deploymentFixedCosts`), 5% of invocations are traced.
    tracing: logSizes && tracing ? invocations * XRAY_SAMPLING.rate * PRICES.xrayTraceRecorded : 0,
  };
}

export function eventCost(usage: EventUsage, batching: Batching = UNBATCHED, logSizes?: LogSizes): number {
  const parts = eventCostParts(usage, batching, logSizes);
  return parts.requests + parts.dynamo + parts.webSocket + parts.logs + parts.tracing;
}

/** What an event costs in requests alone: API requests, invocations and queue messages, no DynamoDB and no WebSocket. */
export function requestCost(usage: EventUsage, batching: Batching = UNBATCHED): number {
  return eventCostParts(usage, batching).requests;
}

/**
 * The account the monthly figure is for: 20 Kommo users, 500 conversations a day of 30 messages each
 * (half from the client, half from a Kommo user), someone typing before 40% of the messages, presence
 * heartbeats every 30 s while a client or a Kommo user is there.
 */
export const ACCOUNT_PROFILE = {
  days: 30,
  kommoUsers: 20,
  conversationsPerDay: 500,
  messagesPerConversation: 30,
  /** Share of messages someone typed for first. */
  typingShare: 0.4,
  /** A typing session lasts 12 s and ends with a stop. */
  typingSessionSeconds: 12,
  /**
   * The chat service repeats its typing start every 3 s while the client types (what chat clients
   * commonly send). One start per keystroke (10 a second) is the worst case, reported beside it.
   */
  chatTypingStartEverySeconds: 3,
  /** Kommo sends a typing hook about every 5 s while a Kommo user types: 3 for a 12-s session (an assumption). */
  kommoTypingHooksPerSession: 3,
  kommoTypingHookEverySeconds: 5,
  /** A conversation keeps its client online 10 minutes: one window opened, extended every 30 s, then lapsing. */
  clientOnlineSeconds: 600,
  heartbeatSeconds: 30,
  /** Kommo users keep the widget open 8 hours a day, one heartbeat every 30 s and one live-channel connection each. */
  kommoUserHoursPerDay: 8,
  /** Every Kommo user message is reported delivered and then read by the chat service; every client message is read in Kommo. */
  statusUpdatesPerKommoUserMessage: 2,
} as const;

/**
 * How often each measured event happens in a month of the profile. Typing and client presence are
 * counted as whole sessions (every hook or heartbeat of one, its timers and its end), so the timers
 * that fire while a session goes on are in the month, and each session's end is counted once.
 */
export function monthlyEventCounts(): Record<string, number> {
  const p = ACCOUNT_PROFILE;
  const conversations = p.conversationsPerDay * p.days;
  const sideMessages = conversations * (p.messagesPerConversation / 2);
  const typingSessionsPerSide = sideMessages * p.typingShare;
  const kommoUserDays = p.kommoUsers * p.days;
  const kommoUserHeartbeats = kommoUserDays * ((p.kommoUserHoursPerDay * 3600) / p.heartbeatSeconds);
  const liveConnectionsPerDay = Math.ceil(p.kommoUserHoursPerDay / LIVE_CONNECTION_HOURS);
  return {
    'kommo-typing-session': typingSessionsPerSide,
    'typing-session-throttled': typingSessionsPerSide,
    'status-delivered': sideMessages,
    'status-read': sideMessages * (p.statusUpdatesPerKommoUserMessage - 1),
    'presence-session': conversations,
    // The widget on the live channel, as the profile's Kommo users run it: API Gateway ends a WebSocket
    // connection after 2 hours, so a working day is 4 connections (ticket, connect, watch; closing),
    // and a ping every 30 s in between (each renews the Kommo user's window; its expiry timers included).
    'live-open': kommoUserDays * liveConnectionsPerDay,
    'live-ping': kommoUserHeartbeats,
    'live-close': kommoUserDays * liveConnectionsPerDay,
    'outgoing-message': sideMessages,
    'widget-chat-read': sideMessages,
  };
}

/**
 * The other choice a deployment can make for the Kommo user's presence (stack props
 * `kommoUserPingSeconds`, `kommoUserWindowSeconds`): a ping every 60 s, offline at most 150 s after the
 * last one. Priced from its own measure (`live-ping-60s`).
 */
export const SLOW_PING = { pingSeconds: 60, windowSeconds: 150 } as const;

/** API Gateway closes a WebSocket connection after 2 hours; the widget connects again. */
export const LIVE_CONNECTION_HOURS = 2;

/** Live-channel connection minutes in a month of the profile (one connection per Kommo user while the widget is open). */
export function monthlyConnectionMinutes(): number {
  const p = ACCOUNT_PROFILE;
  return p.kommoUsers * p.days * p.kommoUserHoursPerDay * 60;
}

/**
 * What one deployment costs a month whatever it serves, from the stack as the manifest and the code
 * make it: a custom metric per metric name (one dimension set, `service`), the alarms (a dead-letter
 * alarm per queue, an error alarm per function, the Kommo-403 alarm), the dashboard, a secret per
 * secret group and the GetSecretValue calls of warm containers (one per function around the clock,
 * each reading its secrets every 5 minutes), the alarm topic's KMS key, and the event source
 * mappings' long polls of empty queues (5 pollers per queue, one 20-s poll each).
 */
export interface Deployment {
  metricNames: number;
  dimensionSets: number;
  queues: number;
  functions: number;
  /** Secrets read by each function, summed over functions. */
  secretReads: number;
  secrets: number;
}

export function deploymentFixedCosts(deployment: Deployment): Record<string, number> {
  const minutesPerMonth = 30 * 24 * 60;
  return {
    'custom metrics': deployment.metricNames * deployment.dimensionSets * PRICES.customMetricMonth,
    alarms: (deployment.queues + deployment.functions + 1) * PRICES.alarmMonth,
    dashboard: PRICES.dashboardMonth,
    secrets: deployment.secrets * PRICES.secretMonth,
    'secret reads': deployment.secretReads * (minutesPerMonth / 5) * PRICES.secretsApiCall,
    'KMS key': PRICES.kmsKeyMonth,
    'empty queue polls': deployment.queues * 5 * 3 * minutesPerMonth * PRICES.sqsRequest,
  };
}

/** Seconds of a month the profile's traffic runs (its working hours): X-Ray's reservoir traces one request each. */
export function busySecondsPerMonth(): number {
  return ACCOUNT_PROFILE.days * ACCOUNT_PROFILE.kommoUserHoursPerDay * 3600;
}

/** X-Ray's reservoir: the first invocation of each busy second is traced whatever the rate (capped by the invocations). */
export function xrayReservoirCost(invocationsPerMonth: number): number {
  const reservoir = Math.min(invocationsPerMonth, busySecondsPerMonth() * XRAY_SAMPLING.reservoirPerSecond);
  // The 5% of `eventCostParts` is charged on every invocation; the reservoir adds its own traces on top.
  return reservoir * (1 - XRAY_SAMPLING.rate) * PRICES.xrayTraceRecorded;
}

/**
 * Messages per consumer invocation of `queue` at `accounts`, with the stack's batching window (0), from
 * the load run (bench/batching.ts, saved in bench/batching.json): at and above the accounts it ran,
 * the measured figure (a floor: batches only grow with the rate, so larger deployments are priced
 * high); below, the measured excess over one message shrunk in proportion to the rate.
 */
export function measuredMessagesPerInvocation(
  measured: { accounts: number; queues: Record<QueueName, { messagesPerInvocation: number }> } | undefined,
  accounts: number,
  queue: QueueName,
  ratePerSecond = 0,
): number {
  if (!measured) return 1;
  const atRun = measured.queues[queue].messagesPerInvocation;
  if (accounts < measured.accounts) return 1 + (atRun - 1) * (accounts / measured.accounts);
  // Far above the run, the mapping's concurrency cap forces fuller batches: it runs at most
  // CONSUMER_MAX_CONCURRENCY invocations of the assumed duration at once.
  const forced = (ratePerSecond * PRICES.lambdaDurationSeconds) / CONSUMER_MAX_CONCURRENCY;
  return Math.min(10, Math.max(atRun, forced));
}

/** The stack's default `consumerMaxConcurrency` (infra: `defaultConsumerMaxConcurrency`): invocations per mapping at once. */
export const CONSUMER_MAX_CONCURRENCY = 100;

/**
 * How many messages an SQS event source mapping hands to each invocation, for messages arriving at
 * `ratePerSecond` (the profile's working hours, all accounts). Lambda polls a queue with 5 pollers
 * at first (more under a backlog); a poller's batch closes when it holds `batchSize` messages or when
 * `windowSeconds` (the mapping's maximum batching window) has passed; with no window a poller takes
 * what arrived while its previous invocation ran (`busySeconds`). The arrivals split evenly over the
 * pollers. A model, used only for a batching window (the load run measures the stack's window, 0):
 * with no window it predicted more batching than the run measured (docs/cost-model.md, "Batching").
 */
export function messagesPerBatch(
  ratePerSecond: number,
  queue: { batchSize: number; windowSeconds: number },
  pollers = 5,
  busySeconds = PRICES.lambdaDurationSeconds,
): number {
  const gathering = Math.max(queue.windowSeconds, busySeconds);
  return Math.min(queue.batchSize, 1 + (ratePerSecond / pollers) * gathering);
}

/** The account counts the all-in month is printed for. */
export const ACCOUNT_SCALES = [1, 10, 100, 1_000, 10_000] as const;

/**
 * Bytes each event's handlers may log at INFO (bench/log-bytes.ts): the bench fails when an event logs
 * more than 10% over its ceiling, so a chatty line added to a hot path shows as a failed run.
 */
export const LOG_BYTES_CEILING: Readonly<Record<string, number>> = {
  'kommo-typing-session': 3050,
  'typing-session-throttled': 4261,
  'typing-session': 86647,
  'status-delivered': 959,
  'status-read': 958,
  'presence-session': 10108,
  'live-open': 2414,
  'live-ping': 414,
  'live-close': 1139,
  'outgoing-message': 930,
  'widget-chat-read': 696,
};
