import { randomUUID } from 'node:crypto';
import { GetItemCommand, ScanCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { expect } from 'vitest';
import { RecordingLog } from '../../functions/core/adapters/telemetry/in-memory';
import type { BridgeConfig } from '../../functions/core/config';
import { httpRoutes, queues as queueSpecs, type HttpRoute, type QueueName } from '../../functions/manifest';
import type { SandboxServer } from '../../local/sandbox/sandbox-server';
import { expectContractError } from './contract-errors';
import { givenBridge, type TestBridge, type TestResponse } from './test-bridge';

/**
 * Support for the hostile-input and failure suite (test/hostile): what a request left behind, the
 * contract's error shape, DynamoDB fault injection, bounded concurrency, and a bridge that can run on
 * a DynamoDB Local of its own or without logging (for load).
 */

/** A log that keeps nothing: under load, per-request log lines only cost time. */
export class DiscardingLog extends RecordingLog {
  override debug(): void {}
  override info(): void {}
  override warn(): void {}
  override error(): void {}
}

export interface BridgeOptions {
  /** DynamoDB client to run on; by default one for the run's shared DynamoDB Local. */
  dynamo?: DynamoDBClient;
  settings?: Partial<Record<keyof BridgeConfig, string>>;
  /** Keep no log lines (load tests). */
  quiet?: boolean;
}

/** `givenBridge()` with a choice of DynamoDB client and log; the widget and admin settings stay on. */
export function givenBridgeWith(options: BridgeOptions = {}): Promise<TestBridge> {
  return givenBridge(options.settings, {
    ...(options.dynamo ? { dynamo: options.dynamo } : {}),
    ...(options.quiet ? { log: new DiscardingLog({ level: 'silent' }) } : {}),
  });
}

/**
 * An error page (the install route answers people, in HTML): a 4xx, UTF-8 HTML under a CSP that
 * allows nothing but the page's own style, with no element or attribute that loads or runs anything.
 */
export function expectErrorPage(response: TestResponse, statuses?: readonly number[]): void {
  const page = String(response.body);
  if (statuses) expect(statuses, `status ${response.status} ${page}`).toContain(response.status);
  expect(response.status, page).toBeGreaterThanOrEqual(400);
  expect(response.status, page).toBeLessThan(500);
  expect(response.headers['content-type']).toBe('text/html; charset=utf-8');
  expect(String(response.headers['content-security-policy'])).toMatch(/^default-src 'none'; /);
  expect(page).toMatch(/^<!doctype html>\n/);
  expect(page).not.toMatch(/<(script|img|link|iframe|form|object|embed|svg)\b|<[^>]*\s(src|href|action|on\w+)=/i);
  expect(page).not.toMatch(/stack|\n\s+at |\.ts:\d+|node_modules/i);
}

/** Routes that answer people with pages rather than programs with JSON. */
export const PAGE_ROUTES: ReadonlySet<string> = new Set(['GET /kommo/install']);

/** The error a route gives: the contract's JSON error, or an error page for a page route. */
export function expectRouteError(routeKey: string, response: TestResponse, statuses?: readonly number[]): void {
  if (PAGE_ROUTES.has(routeKey)) expectErrorPage(response, statuses);
  else expectContractError(response, statuses);
}

/** Every item of a table, as DynamoDB returns them. */
export async function tableItems(client: DynamoDBClient, tableName: string): Promise<Record<string, AttributeValue>[]> {
  const items: Record<string, AttributeValue>[] = [];
  let startKey: Record<string, AttributeValue> | undefined;
  do {
    const page = await client.send(
      new ScanCommand({ TableName: tableName, ExclusiveStartKey: startKey, ConsistentRead: true }),
    );
    items.push(...(page.Items ?? []));
    startKey = page.LastEvaluatedKey;
  } while (startKey);
  return items;
}

/**
 * How a `/chat/...` route is protected from replays (the manifest's `replay`): `claimed` routes write a
 * replay record per webhook-id, `idempotent` ones only check the signature and timestamp. `path` is the
 * route's template or a path that matches it.
 */
export function replayOf(method: string, path: string): NonNullable<HttpRoute['replay']> {
  const route = httpRoutes.find(
    (candidate) =>
      candidate.method === method &&
      (candidate.path === path || new RegExp(`^${candidate.path.replace(/\{[^}]+\}/g, '[^/]+')}$`).test(path)),
  );
  if (route?.replay === undefined) throw new Error(`${method} ${path} is no /chat/... route of the manifest`);
  return route.replay;
}

/** A Standard Webhooks replay record (`WEBHOOK#<webhook-id>`), written for every authenticated request on a claimed `/chat/...` route. */
export interface ReplayRecord {
  state: string | undefined;
  statusCode: number | undefined;
}

export async function replayRecord(
  bridge: TestBridge,
  webhookId: string,
  client: DynamoDBClient = bridge.dynamo,
): Promise<ReplayRecord | undefined> {
  const { Item } = await client.send(
    new GetItemCommand({
      TableName: bridge.tableName,
      Key: { pk: { S: `WEBHOOK#${webhookId}` }, sk: { S: 'REQUEST' } },
      ConsistentRead: true,
    }),
  );
  return Item
    ? { state: Item.state?.S, statusCode: Item.statusCode?.N === undefined ? undefined : Number(Item.statusCode.N) }
    : undefined;
}

/** Everything a request can leave behind: stored items, queued messages, dead letters, calls to other parties. */
export interface BridgeTrace {
  /** `pk|sk` of every item that is not a replay record. */
  items: string[];
  /** How many replay records (`WEBHOOK#…`) the table holds. */
  replays: number;
  queued: Record<QueueName, number>;
  deadLetters: Record<QueueName, number>;
  kommoCalls: number;
  kommoRefusals: number;
  chatEvents: number;
  chatRefusals: number;
}

/** The keys of every item (one consistent scan, keys only). */
async function itemKeys(client: DynamoDBClient, tableName: string): Promise<string[]> {
  const keys: string[] = [];
  let startKey: Record<string, AttributeValue> | undefined;
  do {
    const page = await client.send(
      new ScanCommand({
        TableName: tableName,
        ExclusiveStartKey: startKey,
        ConsistentRead: true,
        ProjectionExpression: 'pk, sk',
      }),
    );
    for (const item of page.Items ?? []) keys.push(`${item.pk?.S ?? ''}|${item.sk?.S ?? ''}`);
    startKey = page.LastEvaluatedKey;
  } while (startKey);
  return keys;
}

export async function traceOf(bridge: TestBridge, client: DynamoDBClient = bridge.dynamo): Promise<BridgeTrace> {
  const keys = await itemKeys(client, bridge.tableName);
  // Replay records: claimed webhook ids, and used widget one-time tokens (a widget request uses its token even when refused for its input).
  const effects = keys.filter((key) => !key.startsWith('WEBHOOK#') && !key.startsWith('WIDGET_TOKEN#'));
  const queued = {} as Record<QueueName, number>;
  const deadLetters = {} as Record<QueueName, number>;
  for (const { name } of queueSpecs) {
    queued[name] = bridge.bridge.queues[name].depth;
    deadLetters[name] = bridge.bridge.deadLetterQueues[name].depth;
  }
  return {
    items: effects.sort(),
    replays: keys.length - effects.length,
    queued,
    deadLetters,
    kommoCalls: bridge.kommo.calls.length,
    kommoRefusals: bridge.kommo.rejected.length,
    chatEvents: bridge.sink.events.length,
    chatRefusals: bridge.sink.rejected.length,
  };
}

/** What changed between two traces: the effects (`NO_EFFECT` when none) and how many replay records were added. */
export function changesBetween(before: BridgeTrace, after: BridgeTrace) {
  const known = new Set(before.items);
  const delta = (a: Record<QueueName, number>, b: Record<QueueName, number>) =>
    Object.fromEntries(queueSpecs.map(({ name }) => [name, b[name] - a[name]]).filter(([, change]) => change !== 0));
  return {
    effects: {
      newItems: after.items.filter((item) => !known.has(item)),
      queued: delta(before.queued, after.queued),
      deadLetters: delta(before.deadLetters, after.deadLetters),
      kommoCalls: after.kommoCalls - before.kommoCalls,
      kommoRefusals: after.kommoRefusals - before.kommoRefusals,
      chatEvents: after.chatEvents - before.chatEvents,
      chatRefusals: after.chatRefusals - before.chatRefusals,
    },
    newReplays: after.replays - before.replays,
  };
}

/** The effects of a request that changed nothing. */
export const NO_EFFECT = {
  newItems: [],
  queued: {},
  deadLetters: {},
  kommoCalls: 0,
  kommoRefusals: 0,
  chatEvents: 0,
  chatRefusals: 0,
};

export type Observed<T> = { result: T } & ReturnType<typeof changesBetween>;

/** Runs `act` and reports what it changed. */
export async function observe<T>(bridge: TestBridge, act: () => Promise<T>): Promise<Observed<T>> {
  const before = await traceOf(bridge);
  const result = await act();
  return { result, ...changesBetween(before, await traceOf(bridge)) };
}

/**
 * `observe` for a property's runs, one table scan per run: each run's trace is the next run's
 * starting point, so a run is judged by its own changes even after an earlier run failed (which keeps
 * fast-check's shrinking honest). Anything done to the bridge outside `observe` needs a `rebase()`.
 */
export async function watchBridge(bridge: TestBridge) {
  let last = await traceOf(bridge);
  return {
    async observe<T>(act: () => Promise<T>): Promise<Observed<T>> {
      const before = last;
      const result = await act();
      last = await traceOf(bridge);
      return { result, ...changesBetween(before, last) };
    },
    async rebase(): Promise<void> {
      last = await traceOf(bridge);
    },
  };
}

/** Runs `tasks` with at most `limit` in flight; results keep the tasks' order. */
export async function runBounded<T>(tasks: readonly (() => Promise<T>)[], limit: number): Promise<T[]> {
  const results = new Array<T>(tasks.length);
  let next = 0;
  const worker = async () => {
    while (next < tasks.length) {
      const index = next;
      next += 1;
      results[index] = await tasks[index]!();
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, worker));
  return results;
}

export type FaultMode = 'request-lost' | 'answer-lost';

/**
 * Fault injection on a DynamoDB client (every adapter of the bridge shares its middleware stack):
 * while armed, the `nth` command either never reaches DynamoDB (`request-lost`, as on a refused
 * connection) or is applied and its answer lost (`answer-lost`, as on a timeout after the write).
 * Either way the caller sees a network error, once. `commands` lists what ran while armed (only those
 * whose input holds `touching`, when armed with it: the one request about a given key, whatever runs around it).
 */
export class DynamoFaults {
  readonly commands: string[] = [];
  private armed = false;
  private failAt = 0;
  private mode: FaultMode = 'request-lost';
  private touching: string | undefined;

  constructor(client: DynamoDBClient) {
    client.middlewareStack.add(
      (next, context) => async (args) => {
        if (!this.armed) return next(args);
        if (this.touching !== undefined && !JSON.stringify(args.input).includes(this.touching)) return next(args);
        const name = String((context as { commandName?: string }).commandName ?? 'command').replace(/Command$/, '');
        this.commands.push(name);
        if (this.commands.length !== this.failAt) return next(args);
        const fault = Object.assign(new Error('connect ECONNREFUSED (injected fault)'), {
          name: 'NetworkingError',
          $metadata: {},
        });
        if (this.mode === 'request-lost') throw fault;
        await next(args);
        throw fault;
      },
      { step: 'initialize', name: `injectedDynamoFault-${randomUUID()}` },
    );
  }

  /** Counts commands from now on (those whose input holds `touching`, if given) and fails the `nth` (1-based; 0 fails none). */
  arm(nth: number, mode: FaultMode = 'request-lost', touching?: string): void {
    this.commands.length = 0;
    this.failAt = nth;
    this.mode = mode;
    this.touching = touching;
    this.armed = true;
  }

  disarm(): string[] {
    this.armed = false;
    return [...this.commands];
  }
}

/**
 * The next call `sandbox` accepts, which it then answers as usual (held, if its answers are held): the
 * moment a test knows a call is in flight. Replaces the sandbox's `respondWith` script.
 */
export function nextAcceptedCall<Call>(sandbox: SandboxServer<Call>): Promise<Call> {
  return new Promise((resolve) =>
    sandbox.respondWith((call) => {
      sandbox.respondWith(undefined);
      resolve(call);
      return undefined;
    }),
  );
}
