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
  /** Every function is configured with 512 MB (functions/manifest.ts). */
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
} as const;

/** One Lambda invocation at the assumed duration: the request price plus the compute. */
export const LAMBDA_INVOCATION_COST =
  PRICES.lambdaInvocation + PRICES.lambdaGbSecond * PRICES.lambdaMemoryGb * PRICES.lambdaDurationSeconds;

/**
 * A queue message is three SQS requests: the producer's send, the event source mapping's receive, and
 * its delete after the consumer succeeds. The mapping also polls empty queues (long polling, about
 * 4 requests a minute per queue at rest); that is per queue, not per event, and is left out here.
 */
export const SQS_REQUESTS_PER_MESSAGE = 3;

/** What one event made the bridge do, counted on a whole local bridge. */
export interface EventUsage {
  apiRequests: number;
  /** HTTP invocations plus queue consumer invocations (one per message: batch size 1, the worst case). */
  lambdaInvocations: number;
  queueMessages: number;
  sqsRequests: number;
  dynamoWriteUnits: number;
  dynamoReadUnits: number;
  dynamoRequests: number;
  /** Calls to Kommo and to the chat service (events, status queries). */
  outboundCalls: number;
  kommoCalls: number;
  webSocketMessages: number;
}

export function eventCost(usage: EventUsage): number {
  return (
    usage.apiRequests * PRICES.httpApiRequest +
    usage.lambdaInvocations * LAMBDA_INVOCATION_COST +
    usage.sqsRequests * PRICES.sqsRequest +
    usage.dynamoWriteUnits * PRICES.dynamoWriteUnit +
    usage.dynamoReadUnits * PRICES.dynamoReadUnit +
    usage.webSocketMessages * PRICES.webSocketMessage
  );
}

/** What an event costs in requests alone: API requests, invocations and queue messages, no DynamoDB and no WebSocket. */
export function requestCost(usage: EventUsage): number {
  return (
    usage.apiRequests * PRICES.httpApiRequest +
    usage.lambdaInvocations * LAMBDA_INVOCATION_COST +
    usage.sqsRequests * PRICES.sqsRequest
  );
}

/**
 * The account the monthly figure is for: 20 Kommo users, 500 conversations a day of 30 messages each
 * (half from the client, half from a manager), someone typing before 40% of the messages, presence
 * heartbeats every 30 s while a client or a manager is there.
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
  /** Kommo sends a typing hook about every 5 s while a manager types: 3 for a 12-s session (an assumption). */
  kommoTypingHooksPerSession: 3,
  kommoTypingHookEverySeconds: 5,
  /** A conversation keeps its client online 10 minutes: one window opened, extended every 30 s, then lapsing. */
  clientOnlineSeconds: 600,
  heartbeatSeconds: 30,
  /** Managers keep the widget open 8 hours a day, one heartbeat every 30 s and one live-channel connection each. */
  managerHoursPerDay: 8,
  /** Every manager message is reported delivered and then read by the chat service; every client message is read in Kommo. */
  statusUpdatesPerManagerMessage: 2,
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
  const managerDays = p.kommoUsers * p.days;
  const managerHeartbeats = managerDays * ((p.managerHoursPerDay * 3600) / p.heartbeatSeconds);
  return {
    'kommo-typing-session': typingSessionsPerSide,
    'typing-session-throttled': typingSessionsPerSide,
    'status-delivered': sideMessages,
    'status-read': sideMessages * (p.statusUpdatesPerManagerMessage - 1),
    'presence-session': conversations,
    // The widget v2 (by Kommo chat id), which the profile's managers use: one window a manager-day,
    // opened, kept by a heartbeat every 30 s (its expiry timers included), then lapsing.
    'widget-chat-heartbeat-first': managerDays,
    'widget-chat-heartbeat': managerHeartbeats,
    'widget-chat-lapse': managerDays,
    'outgoing-message': sideMessages,
    'widget-chat-read': sideMessages,
  };
}

/** Live-channel connection minutes in a month of the profile (one connection per manager while the widget is open). */
export function monthlyConnectionMinutes(): number {
  const p = ACCOUNT_PROFILE;
  return p.kommoUsers * p.days * p.managerHoursPerDay * 60;
}
