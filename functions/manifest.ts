import type { ItemKind } from './core/adapters/dynamodb/item-kinds';
import type { SecretGroup } from './core/config';

/**
 * What the bridge is made of: its functions, their routes and queues. The CDK stack (infra/) and the
 * local runtime (local/) both read this one list, so what runs locally is what is deployed.
 */

export type QueueName = 'hooks' | 'events' | 'kommo-status' | 'timers';

export interface QueueSpec {
  name: QueueName;
  /** Environment variables holding the queue's and its dead-letter queue's URLs in Lambda. */
  urlVariable: string;
  deadLetterUrlVariable: string;
  /** Consumer function (a folder under functions/). */
  consumer: FunctionName;
  batchSize: number;
  /**
   * The event source mapping's maximum batching window (0-300 s): how long Lambda may gather messages
   * before it invokes with fewer than `batchSize`. Each second is up to a second of latency on every
   * message of the queue, for fewer invocations and SQS requests (docs/cost-model.md, "Batching").
   */
  maxBatchingWindowSeconds: number;
  /** Receives before SQS moves a message to the DLQ; the bridge dead-letters with a reason long before that. */
  maxReceiveCount: number;
  /** Consumer Lambda timeout; the queue's visibility timeout is six times this (AWS guidance for SQS event sources). */
  consumerTimeoutSeconds: number;
  /** What the queue carries, for people reading the stack. */
  purpose: string;
}

export const queues: readonly QueueSpec[] = [
  {
    name: 'hooks',
    urlVariable: 'HOOKS_QUEUE_URL',
    deadLetterUrlVariable: 'HOOKS_DLQ_URL',
    consumer: 'hook-worker',
    batchSize: 10,
    maxBatchingWindowSeconds: 0,
    maxReceiveCount: 5,
    consumerTimeoutSeconds: 30,
    purpose: 'Kommo hooks accepted by /kommo/{scope_id}, processed after the 200',
  },
  {
    name: 'events',
    urlVariable: 'EVENTS_QUEUE_URL',
    deadLetterUrlVariable: 'EVENTS_DLQ_URL',
    consumer: 'event-dispatcher',
    batchSize: 10,
    maxBatchingWindowSeconds: 0,
    maxReceiveCount: 5,
    consumerTimeoutSeconds: 30,
    purpose: 'signed events to the chat service (typing, presence, reads)',
  },
  {
    name: 'kommo-status',
    urlVariable: 'KOMMO_STATUS_QUEUE_URL',
    deadLetterUrlVariable: 'KOMMO_STATUS_DLQ_URL',
    consumer: 'kommo-status-sender',
    batchSize: 10,
    maxBatchingWindowSeconds: 0,
    maxReceiveCount: 5,
    consumerTimeoutSeconds: 30,
    purpose: 'delivery-status updates to send to Kommo, in order per message',
  },
  {
    name: 'timers',
    urlVariable: 'TIMERS_QUEUE_URL',
    deadLetterUrlVariable: 'TIMERS_DLQ_URL',
    consumer: 'timer-worker',
    batchSize: 10,
    maxBatchingWindowSeconds: 0,
    maxReceiveCount: 5,
    consumerTimeoutSeconds: 30,
    purpose:
      'delayed checks: typing refresh, typing expiry, client and Kommo user presence expiry, delivery status polls',
  },
];

export type FunctionName =
  | 'kommo-hook'
  | 'chat-typing'
  | 'chat-status'
  | 'chat-presence'
  | 'chat-conversations'
  | 'widget'
  | 'admin'
  | 'kommo-install'
  | 'not-found'
  | 'hook-worker'
  | 'event-dispatcher'
  | 'kommo-status-sender'
  | 'timer-worker'
  | 'live';

/** `OPTIONS` only for CORS preflights of the widget routes (the API itself has no CORS configuration). */
export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'DELETE' | 'OPTIONS';

export interface HttpRoute {
  method: HttpMethod;
  /** API Gateway HTTP API route path, with `{name}` parameters. */
  path: string;
  function: FunctionName;
  /**
   * Chat-service routes only: whether a request claims its `webhook-id` (one conditional write, single
   * use across the whole API) or only has its signature and 5-minute timestamp checked. Claimed where a
   * repeat would do harm; `idempotent` where a repeat inside the timestamp window only extends what is
   * already there, or only reads (the contract's "Replay protection").
   */
  replay?: 'claimed' | 'idempotent';
}

/** The routes as written (`as const`), so that each route key is a type (`RouteKey`). */
const routeTable = [
  { method: 'POST', path: '/kommo/{scope_id}', function: 'kommo-hook' },
  { method: 'POST', path: '/chat/{scope_id}/typing', function: 'chat-typing', replay: 'idempotent' },
  { method: 'POST', path: '/chat/{scope_id}/messages/{msgid}/status', function: 'chat-status', replay: 'claimed' },
  { method: 'GET', path: '/chat/{scope_id}/messages/{msgid}/status', function: 'chat-status', replay: 'idempotent' },
  { method: 'POST', path: '/chat/{scope_id}/presence', function: 'chat-presence', replay: 'idempotent' },
  { method: 'GET', path: '/chat/{scope_id}/presence/{client_id}', function: 'chat-presence', replay: 'idempotent' },
  {
    method: 'PUT',
    path: '/chat/{scope_id}/conversations/{conversation_id}',
    function: 'chat-conversations',
    replay: 'claimed',
  },
  { method: 'POST', path: '/widget/presence', function: 'widget' },
  { method: 'OPTIONS', path: '/widget/presence', function: 'widget' },
  { method: 'GET', path: '/widget/clients/{client_id}/presence', function: 'widget' },
  { method: 'OPTIONS', path: '/widget/clients/{client_id}/presence', function: 'widget' },
  { method: 'POST', path: '/widget/conversations/{conversation_id}/read', function: 'widget' },
  { method: 'OPTIONS', path: '/widget/conversations/{conversation_id}/read', function: 'widget' },
  { method: 'GET', path: '/widget/chats/{kommo_conversation_id}', function: 'widget' },
  { method: 'OPTIONS', path: '/widget/chats/{kommo_conversation_id}', function: 'widget' },
  { method: 'POST', path: '/widget/chats/{kommo_conversation_id}/presence', function: 'widget' },
  { method: 'OPTIONS', path: '/widget/chats/{kommo_conversation_id}/presence', function: 'widget' },
  { method: 'POST', path: '/widget/chats/{kommo_conversation_id}/read', function: 'widget' },
  { method: 'OPTIONS', path: '/widget/chats/{kommo_conversation_id}/read', function: 'widget' },
  { method: 'POST', path: '/widget/live', function: 'widget' },
  { method: 'OPTIONS', path: '/widget/live', function: 'widget' },
  { method: 'POST', path: '/widget/field-check', function: 'widget' },
  { method: 'OPTIONS', path: '/widget/field-check', function: 'widget' },
  { method: 'POST', path: '/admin/connect', function: 'admin' },
  { method: 'POST', path: '/admin/disconnect', function: 'admin' },
  { method: 'GET', path: '/kommo/install', function: 'kommo-install' },
  { method: 'GET', path: '/kommo/uninstall', function: 'kommo-install' },
] as const satisfies readonly HttpRoute[];

export const httpRoutes: readonly HttpRoute[] = routeTable;

/**
 * API Gateway's route key (`POST /chat/{scope_id}/typing`, or `$connect` on the live channel: what a
 * handler sees as `event.routeKey` or `event.requestContext.routeKey`) of each route of function `F`.
 * Handlers that serve several routes key their sub-routing by it (`RouteTable`,
 * functions/core/http/route.ts), so a path renamed here fails `tsc`, not a request.
 */
export type RouteKey<F extends FunctionName = FunctionName> =
  | (Extract<(typeof routeTable)[number], { function: F }> extends infer Route
      ? Route extends { method: infer Method extends string; path: infer Path extends string }
        ? `${Method} ${Path}`
        : never
      : never)
  | Extract<(typeof webSocketRouteTable)[number], { function: F }>['routeKey'];

/** Everything else (API Gateway `$default`): the contract's JSON 404 and 405. */
export const fallbackFunction: FunctionName = 'not-found';

/** The live channel's route keys on API Gateway's WebSocket API: every frame a client sends reaches `$default`. */
export type WebSocketRouteKey = '$connect' | '$disconnect' | '$default';

export interface WebSocketRoute {
  routeKey: WebSocketRouteKey;
  function: FunctionName;
}

/** The live channel (WebSocket): in AWS an API Gateway WebSocket API, locally the HTTP server's port. */
const webSocketRouteTable = [
  { routeKey: '$connect', function: 'live' },
  { routeKey: '$disconnect', function: 'live' },
  { routeKey: '$default', function: 'live' },
] as const satisfies readonly WebSocketRoute[];

export const webSocketRoutes: readonly WebSocketRoute[] = webSocketRouteTable;

/** The live channel's path: the WebSocket API's stage in AWS (`wss://…/live`), and the path on the local server. */
export const liveChannelPath = 'live';

/**
 * What a function does with the live channel: hands out its address (the widget's `POST /widget/live`),
 * pushes frames to its connections, or closes them (an account's disconnect). Each is one method of
 * the Management API, and `execute-api:ManageConnections` is granted for those methods only.
 */
export interface LiveChannelUse {
  address?: boolean;
  /** `POST @connections/{id}`. */
  push?: boolean;
  /** `DELETE @connections/{id}`. */
  close?: boolean;
}

/** A Management API method on `@connections/{id}`: POST pushes a frame, DELETE closes the connection. */
export type LiveChannelMethod = 'POST' | 'DELETE';

/** The Management API methods a function calls (`execute-api:ManageConnections` is granted per method). */
export function liveChannelMethods(use: LiveChannelUse | undefined): LiveChannelMethod[] {
  return [...(use?.push ? (['POST'] as const) : []), ...(use?.close ? (['DELETE'] as const) : [])];
}

/** The environment variables carrying the live channel's address and its Management API endpoint in Lambda. */
export const liveChannelVariables = { address: 'LIVE_CHANNEL_URL', push: 'LIVE_CONNECTIONS_ENDPOINT' } as const;

export interface FunctionSpec {
  name: FunctionName;
  description: string;
  /** Queues it sends to (their URL variables are set, and send rights granted). */
  sendsTo: readonly QueueName[];
  /** Queues whose dead-letter queue it writes its own dead letters to. */
  deadLettersTo: readonly QueueName[];
  /**
   * The table items it may touch, by kind (functions/core/adapters/dynamodb/item-kinds.ts): read only,
   * or read and write. IAM grants exactly these (`dynamodb:LeadingKeys`), and the local runtime refuses
   * anything else the same way.
   */
  table: 'none' | TableAccess;
  /** The secrets it reads (functions/core/config.ts, `secretGroups`); each is a Secrets Manager secret of its own. */
  secrets: readonly SecretGroup[];
  /** Its use of the live channel, if any. */
  liveChannel?: LiveChannelUse;
  timeoutSeconds: number;
  memoryMb: number;
}

export interface TableAccess {
  read: readonly ItemKind[];
  readWrite: readonly ItemKind[];
}

/** The environment variable holding each secret's ARN in Lambda; set only for the functions that hold it. */
export const secretArnVariables: Readonly<Record<SecretGroup, string>> = {
  'kommo-channel-id': 'KOMMO_CHANNEL_ID_SECRET_ARN',
  'kommo-channel': 'KOMMO_CHANNEL_SECRET_ARN',
  'chat-service': 'CHAT_SERVICE_SECRET_ARN',
  'kommo-integration': 'KOMMO_INTEGRATION_SECRET_ARN',
  admin: 'ADMIN_SECRET_ARN',
};

const http = { timeoutSeconds: 10, memoryMb: 512 } as const;
const consumerSettings = (queue: QueueName) => {
  const spec = queues.find((candidate) => candidate.name === queue);
  if (!spec) throw new Error(`The manifest names queue "${queue}" but does not declare it`);
  return { timeoutSeconds: spec.consumerTimeoutSeconds, memoryMb: 512 };
};

export const functions: readonly FunctionSpec[] = [
  {
    name: 'kommo-hook',
    description: 'Kommo webhook intake: verify, accept, answer 200',
    sendsTo: ['hooks'],
    deadLettersTo: [],
    table: 'none',
    secrets: ['kommo-channel-id', 'kommo-channel'],
    ...http,
  },
  {
    name: 'chat-typing',
    description: 'Client typing from the chat service',
    sendsTo: ['timers'],
    deadLettersTo: [],
    // Typing requests are idempotent: no webhook-id claims (replay records).
    table: { read: [], readWrite: ['clientTyping'] },
    // The first typing call goes to Kommo from the request itself, so "typing" shows at once.
    secrets: ['kommo-channel-id', 'chat-service', 'kommo-channel'],
    ...http,
  },
  {
    name: 'chat-status',
    description: 'Delivery status from the chat service, and its query',
    sendsTo: ['kommo-status'],
    deadLettersTo: [],
    table: { read: [], readWrite: ['replay', 'status'] },
    secrets: ['kommo-channel-id', 'chat-service'],
    ...http,
  },
  {
    name: 'chat-presence',
    description: 'Client presence heartbeats and queries',
    sendsTo: ['timers'],
    deadLettersTo: [],
    // A presence transition is pushed to the live connections watching the client; a gone one's watcher is removed.
    // Heartbeats and queries are idempotent: no webhook-id claims (replay records).
    table: { read: [], readWrite: ['presence', 'liveWatcher'] },
    secrets: ['kommo-channel-id', 'chat-service'],
    liveChannel: { push: true },
    ...http,
  },
  {
    name: 'chat-conversations',
    description: 'The chat service registers which Kommo chat each of its conversations is',
    sendsTo: [],
    deadLettersTo: [],
    table: { read: [], readWrite: ['replay', 'conversation'] },
    secrets: ['kommo-channel-id', 'chat-service'],
    ...http,
  },
  {
    name: 'widget',
    description: "Kommo widget: Kommo users' presence and reads, client presence queries",
    sendsTo: ['timers', 'events'],
    deadLettersTo: [],
    table: {
      read: ['accountByKommo', 'presence', 'conversation'],
      readWrite: ['kommoUserPresence', 'liveTicket'],
    },
    secrets: ['kommo-integration'],
    // `POST /widget/live` answers the live channel's URL with a ticket.
    liveChannel: { address: true },
    ...http,
  },
  {
    name: 'admin',
    description: 'Operator: connect and disconnect Kommo accounts',
    sendsTo: [],
    deadLettersTo: [],
    // A disconnect finds the account's live connections and closes them (DELETE @connections/{id}).
    table: { read: ['liveAccount'], readWrite: ['accountByKommo', 'accountByAmojo'] },
    secrets: ['kommo-channel-id', 'admin', 'kommo-channel'],
    liveChannel: { close: true },
    ...http,
  },
  {
    name: 'kommo-install',
    description:
      "Kommo integration's redirect URI and disable hook: connects an account on install, disconnects it on uninstall",
    sendsTo: [],
    deadLettersTo: [],
    // The account bindings, as admin has; an install's code is claimed like a webhook-id, so a reload is answered once.
    // An uninstall closes the account's live connections, as admin's disconnect does.
    // Code exchanges are counted per account host and per caller (installLimit).
    table: { read: ['liveAccount'], readWrite: ['replay', 'installLimit', 'accountByKommo', 'accountByAmojo'] },
    // The integration's secret exchanges codes and verifies the disable hook; the channel secret signs Kommo's connect and disconnect.
    secrets: ['kommo-channel-id', 'kommo-integration', 'kommo-channel'],
    liveChannel: { close: true },
    // Two calls to the account's host (10 s budget together) and Kommo's connect (KOMMO_TIMEOUT_MS): more than the 10 s of
    // the other HTTP functions, and under the 20 s an unanswered replay claim holds (adapters/dynamodb/replay-store.ts).
    timeoutSeconds: 15,
    memoryMb: 512,
  },
  {
    name: 'not-found',
    description: 'JSON 404/405 for every other route',
    sendsTo: [],
    deadLettersTo: [],
    table: 'none',
    secrets: [],
    timeoutSeconds: 3,
    memoryMb: 256,
  },
  {
    name: 'hook-worker',
    description: 'Processes accepted Kommo hooks',
    sendsTo: ['hooks', 'events', 'timers'],
    // A typing event it could not deliver is retried on the events queue, or dead-lettered there.
    deadLettersTo: ['hooks', 'events'],
    table: { read: [], readWrite: ['kommoUserTyping', 'conversation', 'statusPoll'] },
    // It signs the typing.started of a hook and sends it itself, one queue hop fewer per hook (docs/cost-model.md).
    // Forwarded hooks keep Kommo's own X-Signature, and a status poll it starts is queued, not made.
    secrets: ['chat-service'],
    ...consumerSettings('hooks'),
  },
  {
    name: 'event-dispatcher',
    description: 'Delivers signed events to the chat service',
    sendsTo: ['events'],
    deadLettersTo: ['events'],
    table: 'none',
    secrets: ['chat-service'],
    ...consumerSettings('events'),
  },
  {
    name: 'kommo-status-sender',
    description: 'Sends delivery statuses to Kommo in order',
    sendsTo: ['kommo-status'],
    deadLettersTo: ['kommo-status'],
    table: { read: [], readWrite: ['status'] },
    secrets: ['kommo-channel-id', 'kommo-channel'],
    ...consumerSettings('kommo-status'),
  },
  {
    name: 'timer-worker',
    description:
      'Typing refresh, typing expiry and presence expiry checks (clients and Kommo users), delivery status polls',
    sendsTo: ['timers', 'events', 'kommo-status'],
    // A typing.stopped it could not deliver is retried on the events queue, or dead-lettered there.
    deadLettersTo: ['timers', 'events'],
    table: {
      read: [],
      readWrite: [
        'clientTyping',
        'kommoUserTyping',
        'presence',
        'kommoUserPresence',
        'userPresence',
        'statusPoll',
        'status',
        'liveWatcher',
      ],
    },
    // Typing refreshes are calls to Kommo; status polls are signed queries to the chat service, and typing.stopped a signed event.
    secrets: ['kommo-channel-id', 'kommo-channel', 'chat-service'],
    // A client presence window that ends is pushed to the live connections watching the client.
    liveChannel: { push: true },
    ...consumerSettings('timers'),
  },
  {
    name: 'live',
    description: "The widget's live channel (WebSocket): connect with a ticket, watch chats, ping, disconnect",
    // A watch is the Kommo user's presence in the chat: its timers and presence.changed events.
    sendsTo: ['timers', 'events'],
    deadLettersTo: [],
    // Every frame and `$connect` checks that the account is still connected; a connection that outlived it is closed.
    table: {
      read: ['presence', 'conversation', 'accountByKommo'],
      readWrite: [
        'liveTicket',
        'liveConnection',
        'liveAccount',
        'liveWatch',
        'liveWatcher',
        'kommoUserPresence',
        'userPresence',
      ],
    },
    secrets: [],
    liveChannel: { push: true, close: true },
    ...http,
  },
];
