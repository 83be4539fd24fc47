import { readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { queues as queueSpecs, type QueueName } from '../functions/manifest';
import type { InProcessLiveClient } from '../local/live-gateway';
import { kommoMessageHookBody, kommoTypingHookBody, signedChatRequest, signedKommoHook } from '../local/requests';
import {
  SANDBOX_ACCOUNT_ID,
  startLocalRuntime,
  type LocalRuntime,
  SANDBOX_KOMMO_ORIGIN,
  sandboxWidgetToken,
} from '../local/runtime';
import { ACCOUNT_PROFILE, busySecondsPerMonth, monthlyEventCounts } from './cost-model';
import { percentile, type BenchResults } from './figures';

/**
 * Batching, measured: the account profile's working-hours traffic for `accounts` accounts, driven in
 * real time through the local runtime with each queue delivered the way an SQS event source mapping
 * delivers (`pollersPerQueue` invocations at once, the manifest's batch size and batching window),
 * and what each consumer was handed counted: messages per invocation. The cost model prices the
 * queues with these figures (bench/batching.json; docs/cost-model.md, "Batching").
 */

export const BATCHING_FILE = new URL('./batching.json', import.meta.url);

/** Lambda starts an SQS event source mapping with 5 pollers, and adds more only under a backlog. */
export const MAPPING_POLLERS = 5;

export interface MeasuredQueue {
  /** Messages the consumer received per second of the measured window, and the profile's rate for these accounts. */
  messagesPerSecond: number;
  profileMessagesPerSecond: number;
  invocations: number;
  messages: number;
  messagesPerInvocation: number;
  /** Invocations by batch size (messages handed to one invocation). */
  byBatchSize: Record<string, number>;
  /** Mean wall time of a consumer invocation here (DynamoDB Local, a shared machine): what lets messages gather. */
  meanInvocationMs: number;
}

export interface MeasuredBatching {
  measuredAt: string;
  accounts: number;
  pollersPerQueue: number;
  batchSize: Record<QueueName, number>;
  windowSeconds: Record<QueueName, number>;
  warmUpSeconds: number;
  measuredSeconds: number;
  cpuCount: number;
  loadAverage: { start: number; end: number };
  /** How late the driver sent its requests (the machine's headroom): p50, p99 and max, ms. */
  sendLagMs: { p50: number; p99: number; max: number };
  requests: number;
  failedRequests: number;
  queues: Record<QueueName, MeasuredQueue>;
}

/** Reads the committed measurement, or `undefined` when there is none. */
export function measuredBatching(file: URL = BATCHING_FILE): MeasuredBatching | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as MeasuredBatching;
  } catch {
    return undefined;
  }
}

/** A seeded generator, so two runs send the same schedule. */
function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Planned {
  at: number;
  run: () => Promise<void>;
}

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function measureBatching(
  results: BenchResults,
  log: (line: string) => void,
  options: { accounts: number; warmUpSeconds: number; measuredSeconds: number; runId: string },
): Promise<MeasuredBatching> {
  const loadAtStart = loadavg()[0]!;
  const runtime = await startLocalRuntime({
    env: {},
    port: 0,
    logLevel: 'error',
    pollersPerQueue: MAPPING_POLLERS,
    // The profile has no status polls (docs/cost-model.md, "The account profile").
    statusPolls: false,
  });
  try {
    return await drive(runtime, results, log, { ...options, loadAtStart });
  } finally {
    await runtime.stop();
  }
}

async function drive(
  runtime: LocalRuntime,
  results: BenchResults,
  log: (line: string) => void,
  options: { accounts: number; warmUpSeconds: number; measuredSeconds: number; runId: string; loadAtStart: number },
): Promise<MeasuredBatching> {
  const { bridge, config } = runtime;
  const scope = runtime.scopeId!;
  const random = seeded(23);
  let requests = 0;
  let failedRequests = 0;
  const failures: string[] = [];

  const send = async (method: string, url: string, headers: Record<string, string>, raw: string) => {
    requests += 1;
    const answer = await bridge.invoke({ method, url, headers, body: Buffer.from(raw) });
    if (answer.statusCode >= 300) {
      failedRequests += 1;
      if (failures.length < 5) failures.push(`${method} ${url}: ${answer.statusCode} ${answer.body ?? ''}`);
    }
    return answer;
  };
  const chat = (method: string, path: string, body: unknown) => {
    const raw = JSON.stringify(body);
    return send(method, `/chat/${scope}${path}`, signedChatRequest(config.CHAT_SERVICE_SECRET, raw), raw);
  };
  const hook = (raw: string) => send('POST', `/kommo/${scope}`, signedKommoHook(config.KOMMO_CHANNEL_SECRET, raw), raw);
  const origin = SANDBOX_KOMMO_ORIGIN;
  const widget = async (userId: number, path: string, body?: unknown) => {
    const token = await sandboxWidgetToken(config, { nowMs: Date.now(), kommoUserId: userId });
    const raw = body === undefined ? '' : JSON.stringify(body);
    return send(
      'POST',
      path,
      { origin, 'x-auth-token': token, ...(raw ? { 'content-type': 'application/json' } : {}) },
      raw,
    );
  };

  // Each account's Kommo users keep the widget open on the live channel, watching a chat of their own.
  const p = ACCOUNT_PROFILE;
  const kommoUsers: { userId: number; kommoChat: string; socket?: InProcessLiveClient }[] = [];
  for (let account = 0; account < options.accounts; account += 1)
    for (let user = 0; user < p.kommoUsers; user += 1)
      kommoUsers.push({ userId: 7001 + account * 100 + user, kommoChat: `kc-${options.runId}-${account}-${user}` });
  for (const kommoUser of kommoUsers) {
    await chat('PUT', `/conversations/c-${kommoUser.kommoChat}`, {
      kommo_conversation_id: kommoUser.kommoChat,
      client_id: `u-${kommoUser.kommoChat}`,
    });
    const ticket = await widget(kommoUser.userId, '/widget/live');
    if (ticket.statusCode !== 200) throw new Error(`POST /widget/live: ${ticket.statusCode} ${ticket.body}`);
    kommoUser.socket = await bridge.live.connectInProcess((JSON.parse(ticket.body!) as { url: string }).url);
    if (kommoUser.socket.status !== 200) throw new Error(`live connect: ${kommoUser.socket.status}`);
    await kommoUser.socket.sendFrame({ action: 'watch', kommo_conversation_id: kommoUser.kommoChat });
  }
  if (failedRequests > 0) throw new Error(`setting up the Kommo users failed: ${failures.join(' | ')}`);

  // The profile's working-hours rates, per second, for all the accounts.
  const busy = busySecondsPerMonth();
  const counts = monthlyEventCounts();
  const rate = (event: string) => (counts[event]! / busy) * options.accounts;
  const totalMs = (options.warmUpSeconds + options.measuredSeconds) * 1000;
  const plan: Planned[] = [];
  /** Poisson arrivals at `perSecond`, each starting a session of timed steps. */
  const arrivals = (perSecond: number, session: (id: string) => [number, () => Promise<unknown>][]) => {
    for (let at = -Math.log(1 - random()) * (1000 / perSecond), n = 0; at < totalMs; n += 1) {
      const id = `${options.runId}-${n}-${Math.floor(random() * 1e9)}`;
      for (const [offset, step] of session(id)) plan.push({ at: at + offset, run: async () => void (await step()) });
      at += -Math.log(1 - random()) * (1000 / perSecond);
    }
  };
  /** A periodic sender with a random phase, every `everyMs`. */
  const periodic = (everyMs: number, step: () => Promise<unknown>) => {
    for (let at = random() * everyMs; at < totalMs; at += everyMs)
      plan.push({ at, run: async () => void (await step()) });
  };

  // A Kommo user's typing: a Kommo hook every 5 s, 3 of them.
  arrivals(rate('kommo-typing-session'), (id) =>
    Array.from({ length: p.kommoTypingHooksPerSession }, (_, index) => [
      index * p.kommoTypingHookEverySeconds * 1000,
      () =>
        hook(
          kommoTypingHookBody(SANDBOX_ACCOUNT_ID, {
            kommoConversationId: `kt-${id}`,
            clientConversationId: `ct-${id}`,
            userId: 'kommo-user',
          }),
        ),
    ]),
  );
  // A client's typing through the chat service: a start every 3 s for 12 s, then the stop.
  arrivals(rate('typing-session-throttled'), (id) => [
    ...Array.from(
      { length: p.typingSessionSeconds / p.chatTypingStartEverySeconds },
      (_, index) =>
        [
          index * p.chatTypingStartEverySeconds * 1000,
          () => chat('POST', '/typing', { conversation_id: `ty-${id}`, sender_id: `s-${id}`, state: 'start' }),
        ] as [number, () => Promise<unknown>],
    ),
    [
      p.typingSessionSeconds * 1000,
      () => chat('POST', '/typing', { conversation_id: `ty-${id}`, sender_id: `s-${id}`, state: 'stop' }),
    ],
  ]);
  // A Kommo user's message: Kommo's hook; the chat service reports it delivered, then read 10 s later.
  arrivals(rate('outgoing-message'), (id) => [
    [
      0,
      () =>
        hook(
          kommoMessageHookBody(SANDBOX_ACCOUNT_ID, {
            msgid: `m-${id}`,
            kommoConversationId: `km-${id}`,
            clientConversationId: `cm-${id}`,
            clientId: `u-${id}`,
          }),
        ),
    ],
    [1000, () => chat('POST', `/messages/m-${id}/status`, { status: 'delivered' })],
    [11_000, () => chat('POST', `/messages/m-${id}/status`, { status: 'read' })],
  ]);
  // A Kommo user reads a client's message in the widget.
  arrivals(rate('widget-chat-read'), () => {
    const kommoUser = kommoUsers[Math.floor(random() * kommoUsers.length)]!;
    return [[0, () => widget(kommoUser.userId, `/widget/chats/${kommoUser.kommoChat}/read`, {})]];
  });
  // Clients online: as many as the profile's stays overlap, each with a heartbeat every 30 s.
  const clients = Math.round(rate('presence-session') * p.clientOnlineSeconds);
  for (let client = 0; client < clients; client += 1)
    periodic(p.heartbeatSeconds * 1000, () =>
      chat('POST', '/presence', { client_id: `pc-${options.runId}-${client}`, state: 'online' }),
    );
  // Every Kommo user's widget pings every 30 s.
  for (const kommoUser of kommoUsers)
    periodic(p.heartbeatSeconds * 1000, () => kommoUser.socket!.sendFrame({ action: 'ping' }));
  plan.sort((a, b) => a.at - b.at);

  const snapshot = () =>
    Object.fromEntries(
      queueSpecs.map((spec) => {
        const { invocations, messages, busyMs, byBatchSize } = bridge.queues[spec.name].deliveries;
        return [spec.name, { invocations, messages, busyMs, byBatchSize: new Map(byBatchSize) }];
      }),
    ) as Record<QueueName, { invocations: number; messages: number; busyMs: number; byBatchSize: Map<number, number> }>;

  log(
    `  ${options.accounts} accounts: ${plan.length} requests and frames over ${totalMs / 1000} s (${options.warmUpSeconds} s warm-up), ${kommoUsers.length} live connections, ${clients} clients online`,
  );
  const lags: number[] = [];
  const inFlight = new Set<Promise<void>>();
  const startedAt = performance.now();
  let before: ReturnType<typeof snapshot> | undefined;
  let after: ReturnType<typeof snapshot> | undefined;
  let measureStart = 0;
  let measureEnd = 0;
  const warmUpMs = options.warmUpSeconds * 1000;
  for (let index = 0; index < plan.length || after === undefined; ) {
    const now = performance.now() - startedAt;
    if (before === undefined && now >= warmUpMs) {
      before = snapshot();
      measureStart = now;
    }
    if (after === undefined && now >= totalMs) {
      after = snapshot();
      measureEnd = now;
    }
    while (index < plan.length && plan[index]!.at <= now) {
      const planned = plan[index++]!;
      if (planned.at >= warmUpMs) lags.push(now - planned.at);
      const running: Promise<void> = planned
        .run()
        .catch((error: unknown) => {
          failedRequests += 1;
          if (failures.length < 5) failures.push(error instanceof Error ? error.message : String(error));
        })
        .finally(() => inFlight.delete(running));
      inFlight.add(running);
    }
    const next = Math.min(plan[index]?.at ?? totalMs, before === undefined ? warmUpMs : totalMs);
    await delay(Math.max(1, Math.min(20, next - (performance.now() - startedAt))));
  }
  await Promise.allSettled([...inFlight]);

  const seconds = (measureEnd - measureStart) / 1000;
  const previousMonth = previousQueueMessages();
  const measuredQueues = {} as Record<QueueName, MeasuredQueue>;
  for (const spec of queueSpecs) {
    const start = before![spec.name];
    const end = after![spec.name];
    const invocations = end.invocations - start.invocations;
    const messages = end.messages - start.messages;
    const byBatchSize: Record<string, number> = {};
    for (const [size, count] of end.byBatchSize) {
      const inWindow = count - (start.byBatchSize.get(size) ?? 0);
      if (inWindow > 0) byBatchSize[String(size)] = inWindow;
    }
    measuredQueues[spec.name] = {
      messagesPerSecond: messages / seconds,
      profileMessagesPerSecond: ((previousMonth?.[spec.name] ?? Number.NaN) / busy) * options.accounts,
      invocations,
      messages,
      messagesPerInvocation: invocations === 0 ? 1 : messages / invocations,
      byBatchSize,
      meanInvocationMs: invocations === 0 ? 0 : (end.busyMs - start.busyMs) / invocations,
    };
  }
  const measured: MeasuredBatching = {
    measuredAt: new Date().toISOString(),
    accounts: options.accounts,
    pollersPerQueue: MAPPING_POLLERS,
    batchSize: Object.fromEntries(queueSpecs.map((spec) => [spec.name, spec.batchSize])) as Record<QueueName, number>,
    windowSeconds: Object.fromEntries(queueSpecs.map((spec) => [spec.name, spec.maxBatchingWindowSeconds])) as Record<
      QueueName,
      number
    >,
    warmUpSeconds: options.warmUpSeconds,
    measuredSeconds: Math.round(seconds * 10) / 10,
    cpuCount: cpus().length,
    loadAverage: { start: round2(options.loadAtStart), end: round2(loadavg()[0]!) },
    sendLagMs: { p50: round2(percentile(lags, 50)), p99: round2(percentile(lags, 99)), max: round2(Math.max(...lags)) },
    requests,
    failedRequests,
    queues: measuredQueues,
  };

  for (const spec of queueSpecs) {
    const queue = measuredQueues[spec.name];
    results.add({
      name: `batching.${spec.name}.messages_per_invocation`,
      section: 'batching',
      label: `${spec.name}: messages per invocation`,
      value: queue.messagesPerInvocation,
      unit: 'calls',
      meaning: `Messages the ${spec.consumer} consumer received per invocation over ${measured.measuredSeconds} s of the profile's working-hours traffic for ${options.accounts} accounts (${queue.messagesPerSecond.toFixed(1)} msg/s), ${MAPPING_POLLERS} pollers, batch size ${spec.batchSize}, window ${spec.maxBatchingWindowSeconds} s.`,
    });
    log(
      `  ${spec.name.padEnd(13)} ${queue.messagesPerSecond.toFixed(1).padStart(6)} msg/s (profile ${queue.profileMessagesPerSecond.toFixed(1)}), ${queue.invocations} invocations, ${queue.messagesPerInvocation.toFixed(2)} messages each, ${queue.meanInvocationMs.toFixed(0)} ms each; by batch size ${JSON.stringify(queue.byBatchSize)}`,
    );
  }
  log(
    `  sent ${requests} requests (${failedRequests} failed), late by p50 ${measured.sendLagMs.p50} ms, p99 ${measured.sendLagMs.p99} ms; load average ${measured.loadAverage.start} → ${measured.loadAverage.end} on ${measured.cpuCount} CPUs`,
  );
  results.expect(
    'batching: every request of the load run answered 2xx',
    failedRequests === 0,
    `${failedRequests} of ${requests} failed${failures.length > 0 ? `: ${failures.join(' | ')}` : ''}`,
  );
  results.details.batching = measured;
  return measured;
}

const round2 = (value: number) => Math.round(value * 100) / 100;

/** The profile's queue messages per account-month, as the last committed cost run counted them. */
function previousQueueMessages(): Record<QueueName, number> | undefined {
  try {
    const committed = JSON.parse(readFileSync(new URL('./results.json', import.meta.url), 'utf8')) as {
      details?: { costPerAccountMonth?: { queueMessagesPerAccountMonth?: Record<QueueName, number> } };
    };
    return committed.details?.costPerAccountMonth?.queueMessagesPerAccountMonth;
  } catch {
    return undefined;
  }
}

/** Writes the measurement where the cost model reads it. */
export function saveMeasuredBatching(measured: MeasuredBatching, file: URL = BATCHING_FILE): void {
  writeFileSync(file, `${JSON.stringify(measured, null, 2)}\n`);
}
