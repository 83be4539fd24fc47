import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signKommoHook } from '../../functions/core/domain/amojo-signature';
import {
  DELIVERY_STATUSES,
  deliveryStatusRank,
  type DeliveryStatus,
} from '../../functions/core/domain/delivery-status';
import { givenBridgeWith, replayOf, tableItems } from './hostile';
import { HOSTILE_SEED } from './hostile-arbitraries';
import { TEST_START } from './manual-clock';
import { testSecrets, type TestBridge, type TestResponse } from './test-bridge';

/**
 * Mixed requests through the bridge in-process, many in flight, with 10% forged signatures, 5%
 * malformed bodies and 20% concurrent duplicates (copies of a request with the same webhook-id, or the
 * same hook bytes), while Kommo and the chat service fail some first attempts. The workload is built so
 * that what the valid requests must cause can be counted beforehand; afterwards the stores and the
 * sandboxes hold exactly that. Copies on a claimed route (status updates) get the first answer again;
 * copies on an idempotent one (typing, presence heartbeats, reads) are processed again, to the same end. `npm test` runs a small one (test/hostile), `npm run test:load` the
 * 10,000-request one (test/load): the same workload and the same exact counts, at two sizes.
 *
 * Why the counts are exact, not racy: within a phase, every request for one typing session, message or
 * client asks for the same thing (starts only, then stops only; one status; one presence state), so
 * concurrency decides only which copy wins, never the outcome. Phases are 1 s apart on the test clock,
 * and the clock moves only between phases, with no request or queue delivery under way: no timer,
 * lease or call deadline can expire because the machine is slow.
 */

export interface MixedLoadSize {
  /** Requests sent, copies included. */
  total: number;
  typingSessions: number;
  /** Messages that get delivery-status updates. */
  messages: number;
  /** Presence clients. */
  clients: number;
  /** Kommo typing hooks. */
  hooks: number;
  /** Requests in flight at once. */
  inFlight: number;
  /** Time allowed for sending everything and draining the queues (a test-runner limit, not an assertion). */
  preparationTimeoutMs: number;
}

const FORGED_SHARE = 0.1;
const MALFORMED_SHARE = 0.05;
const DUPLICATE_SHARE = 0.2;
const PHASES = 3;
const TYPING_REFRESH_SECONDS = 4;

/** mulberry32: a small seeded PRNG, so the workload is the same on every run. */
export function seededRandom(seed: number) {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
  return {
    next,
    int: (min: number, max: number) => min + Math.floor(next() * (max - min + 1)),
    pick: <T>(values: readonly T[]): T => values[Math.floor(next() * values.length)]!,
    chance: (p: number) => next() < p,
  };
}

type Kind = 'valid' | 'forged' | 'malformed';

/** One request of the plan; `copies` > 1 sends identical copies at once. */
interface PlannedRequest {
  kind: Kind;
  route: 'typing' | 'status' | 'presence' | 'hook' | 'get-status' | 'get-presence';
  method: 'GET' | 'POST';
  path: string;
  /** JSON body, or raw text for malformed ones. */
  body?: unknown;
  rawBody?: string;
  webhookId: string;
  copies: number;
  /** What every copy must be answered (409 also allowed for chat copies after the first). */
  expectedStatus: number;
  forgery?: 'secret' | 'stale' | 'truncated' | 'hook-signature';
}

/** Whether a signed chat request claims its webhook-id (the manifest's `replay`); hooks carry none. */
const isClaimed = (request: PlannedRequest) =>
  request.route !== 'hook' && replayOf(request.method, request.path) === 'claimed';

/** Small stable hash, to pick which calls the sandboxes fail. */
const hashOf = (text: string) => [...text].reduce((hash, char) => (Math.imul(hash, 31) + char.charCodeAt(0)) >>> 0, 7);
const kommoFailsFirst = (msgid: string) => hashOf(msgid) % 10 === 0;
const chatServiceFailsFirst = (eventId: string) => hashOf(eventId) % 20 === 0;

function buildWorkload(scopeId: string, accountId: string, size: MixedLoadSize) {
  const random = seededRandom(HOSTILE_SEED);
  const { total, typingSessions, messages, clients, hooks } = size;
  const forgedCount = total * FORGED_SHARE;
  const malformedCount = total * MALFORMED_SHARE;
  const duplicateCopies = total * DUPLICATE_SHARE;
  const phases: PlannedRequest[][] = Array.from({ length: PHASES }, () => []);
  let ids = 0;
  const webhookId = () => `msg_load_${(ids += 1)}`;
  const expected = {
    kommoTypingCalls: 0,
    statusSequences: new Map<string, DeliveryStatus[]>(),
    transitions: 0,
    clientsWithTransitions: 0,
    hooks: 0,
    typingSessions: 0,
  };

  // Typing sessions: starts in phase 1 (1-3 requests, one ttl), half of them stopped in phase 2.
  for (let session = 0; session < typingSessions; session += 1) {
    const body = {
      conversation_id: `lc-${session}`,
      sender_id: `ls-${session}`,
      state: 'start',
      ttl_seconds: random.pick([2, 4, 6, 10, 20]),
    };
    for (let start = random.int(1, 3); start > 0; start -= 1)
      phases[0]!.push({
        kind: 'valid',
        route: 'typing',
        method: 'POST',
        path: `/chat/${scopeId}/typing`,
        body,
        webhookId: webhookId(),
        copies: 1,
        expectedStatus: 202,
      });
    const stopped = random.chance(0.5);
    if (stopped)
      phases[1]!.push({
        kind: 'valid',
        route: 'typing',
        method: 'POST',
        path: `/chat/${scopeId}/typing`,
        body: { ...body, state: 'stop' },
        webhookId: webhookId(),
        copies: 1,
        expectedStatus: 202,
      });
    // One call at the start; unstopped, one more at every refresh while typing lasts (claimRefresh needs activeUntil > now).
    expected.kommoTypingCalls += stopped ? 1 : Math.ceil(body.ttl_seconds / TYPING_REFRESH_SECONDS);
    expected.typingSessions += 1;
  }

  // Delivery statuses: per message and phase at most one status, sent 1-2 times.
  const posted = new Set<string>();
  const postedBefore: Set<string>[] = [];
  for (let message = 0; message < messages; message += 1) {
    const msgid = `lm-${message}`;
    let current: DeliveryStatus | undefined;
    const applied: DeliveryStatus[] = [];
    for (let phase = 0; phase < PHASES; phase += 1) {
      if (!random.chance(0.6)) continue;
      const status = random.pick(DELIVERY_STATUSES);
      const body = status === 'error' ? { status, error_code: 905, error: `failed ${message}` } : { status };
      for (let send = random.int(1, 2); send > 0; send -= 1)
        phases[phase]!.push({
          kind: 'valid',
          route: 'status',
          method: 'POST',
          path: `/chat/${scopeId}/messages/${msgid}/status`,
          body,
          webhookId: webhookId(),
          copies: 1,
          expectedStatus: 202,
        });
      if (current === undefined || deliveryStatusRank[status] > deliveryStatusRank[current]) {
        current = status;
        applied.push(status);
      }
    }
    if (applied.length > 0) expected.statusSequences.set(msgid, applied);
  }
  for (let phase = 0; phase < PHASES; phase += 1) {
    postedBefore.push(new Set(posted));
    for (const request of phases[phase]!) if (request.route === 'status') posted.add(request.path.split('/')[4]!);
  }

  // Presence: per client and phase one state (or none), 1-3 heartbeats; an online window still open at the end expires.
  for (let client = 0; client < clients; client += 1) {
    let online = false;
    let transitions = 0;
    for (let phase = 0; phase < PHASES; phase += 1) {
      const state = random.pick(['none', 'none', 'online', 'online', 'online', 'offline'] as const);
      if (state === 'none') continue;
      for (let beat = random.int(1, 3); beat > 0; beat -= 1) {
        phases[phase]!.push({
          kind: 'valid',
          route: 'presence',
          method: 'POST',
          path: `/chat/${scopeId}/presence`,
          body: { client_id: `lp-${client}`, state },
          webhookId: webhookId(),
          copies: 1,
          expectedStatus: 202,
        });
      }
      if ((state === 'online') !== online) transitions += 1;
      online = state === 'online';
    }
    if (online) transitions += 1;
    expected.transitions += transitions;
    if (transitions > 0) expected.clientsWithTransitions += 1;
  }

  // Kommo typing hooks: every one for its own Kommo user and chat.
  const hookBody = (hook: number, phase: number) => {
    const nowSeconds = Math.floor((TEST_START + phase * 1000) / 1000);
    return {
      account_id: accountId,
      time: nowSeconds,
      action: {
        typing: {
          user: { id: `lu-${hook}` },
          conversation: { id: `lk-${hook}`, client_id: `lcc-${hook}` },
          expired_at: nowSeconds + 5,
        },
      },
    };
  };
  for (let hook = 0; hook < hooks; hook += 1) {
    const phase = random.int(0, PHASES - 1);
    phases[phase]!.push({
      kind: 'valid',
      route: 'hook',
      method: 'POST',
      path: `/kommo/${scopeId}`,
      body: hookBody(hook, phase),
      webhookId: '',
      copies: 1,
      expectedStatus: 200,
    });
    expected.hooks += 1;
  }

  // Forged: valid-looking requests of every route with a bad signature.
  const validSoFar = () => phases.flatMap((requests, phase) => requests.map((request) => ({ request, phase })));
  const valid = validSoFar();
  for (let forged = 0; forged < forgedCount; forged += 1) {
    const { request, phase } = random.pick(valid);
    const forgery =
      request.route === 'hook' ? 'hook-signature' : random.pick(['secret', 'stale', 'truncated'] as const);
    phases[phase]!.push({
      ...request,
      kind: 'forged',
      webhookId: webhookId(),
      copies: 1,
      expectedStatus: 401,
      forgery,
    });
  }

  // Malformed: correctly signed bodies each route refuses.
  const malformedBodies = [
    {
      route: 'typing',
      path: `/chat/${scopeId}/typing`,
      rawBody: '{"conversation_id":"c","sender_id":"s","state":"maybe"}',
    },
    {
      route: 'typing',
      path: `/chat/${scopeId}/typing`,
      rawBody: '{"conversation_id":"c","sender_id":"s","state":"start","ttl_seconds":0}',
    },
    { route: 'status', path: `/chat/${scopeId}/messages/lm-0/status`, rawBody: '{"status":"seen"}' },
    { route: 'status', path: `/chat/${scopeId}/messages/lm-1/status`, rawBody: '{"status":"read","error_code":901}' },
    {
      route: 'presence',
      path: `/chat/${scopeId}/presence`,
      rawBody: '{"client_id":"lp-0","state":"online","ttl_seconds":5}',
    },
    { route: 'presence', path: `/chat/${scopeId}/presence`, rawBody: '{"client_id":' },
    {
      route: 'hook',
      path: `/kommo/${scopeId}`,
      rawBody: JSON.stringify({
        account_id: accountId,
        action: { typing: { user: { id: 'u' }, conversation: { id: 'c' } } },
      }),
    },
    { route: 'hook', path: `/kommo/${scopeId}`, rawBody: '[]' },
  ] as const;
  for (let malformed = 0; malformed < malformedCount; malformed += 1) {
    const body = random.pick(malformedBodies);
    phases[random.int(0, PHASES - 1)]!.push({
      kind: 'malformed',
      route: body.route,
      method: 'POST',
      path: body.path,
      rawBody: body.rawBody,
      webhookId: webhookId(),
      copies: 1,
      expectedStatus: 400,
    });
  }

  // Concurrent duplicates: extra copies of valid POSTs and hooks.
  const duplicable = phases.flat().filter((request) => request.kind === 'valid');
  for (let copies = 0; copies < duplicateCopies; ) {
    const request = random.pick(duplicable);
    const extra = Math.min(random.int(1, 4), duplicateCopies - copies);
    request.copies += extra;
    copies += extra;
  }

  // Reads fill the rest: known messages (200), unknown ones (404), any client's presence (200).
  const planned = () => phases.flat().reduce((sum, request) => sum + request.copies, 0);
  const plannedWrites = planned();
  if (plannedWrites > total)
    throw new Error(`the workload plans ${plannedWrites} requests before reads, more than the ${total} asked for`);
  for (let read = plannedWrites; read < total; read += 1) {
    const phase = random.int(1, PHASES - 1);
    const known = [...postedBefore[phase]!];
    const choice = random.next();
    if (choice < 0.4 && known.length > 0) {
      phases[phase]!.push({
        kind: 'valid',
        route: 'get-status',
        method: 'GET',
        path: `/chat/${scopeId}/messages/${random.pick(known)}/status`,
        webhookId: webhookId(),
        copies: 1,
        expectedStatus: 200,
      });
    } else if (choice < 0.6) {
      phases[phase]!.push({
        kind: 'valid',
        route: 'get-status',
        method: 'GET',
        path: `/chat/${scopeId}/messages/nowhere-${read}/status`,
        webhookId: webhookId(),
        copies: 1,
        expectedStatus: 404,
      });
    } else {
      phases[phase]!.push({
        kind: 'valid',
        route: 'get-presence',
        method: 'GET',
        path: `/chat/${scopeId}/presence/lp-${random.int(0, clients - 1)}`,
        webhookId: webhookId(),
        copies: 1,
        expectedStatus: 200,
      });
    }
  }

  // Shuffle each phase (Fisher-Yates), so routes and kinds interleave.
  for (const requests of phases) {
    for (let i = requests.length - 1; i > 0; i -= 1) {
      const j = Math.floor(random.next() * (i + 1));
      [requests[i], requests[j]] = [requests[j]!, requests[i]!];
    }
  }
  return { phases, expected };
}

/** Admits work, first come first served, while fewer than `limit` requests are in flight; a group of copies is admitted as a whole. */
function inFlightLimit(limit: number) {
  let inFlight = 0;
  const waiting: { size: number; admit: () => void }[] = [];
  const admitWaiting = () => {
    while (waiting.length > 0 && (inFlight === 0 || inFlight + waiting[0]!.size <= limit)) {
      const next = waiting.shift()!;
      inFlight += next.size;
      next.admit();
    }
  };
  return async <T>(size: number, work: () => Promise<T>): Promise<T> => {
    await new Promise<void>((admit) => {
      waiting.push({ size, admit });
      admitWaiting();
    });
    try {
      return await work();
    } finally {
      inFlight -= size;
      admitWaiting();
    }
  };
}

export function describeMixedLoad(size: MixedLoadSize): void {
  const { total } = size;
  const forgedCount = total * FORGED_SHARE;
  const malformedCount = total * MALFORMED_SHARE;
  const duplicateCopies = total * DUPLICATE_SHARE;
  const count = total.toLocaleString('en');

  describe(`${count} mixed requests with forged, malformed and duplicate ones, while Kommo and the chat service fail first attempts`, () => {
    let bridge: TestBridge;
    let workload: ReturnType<typeof buildWorkload>;
    const answers: { request: PlannedRequest; responses: TestResponse[] }[] = [];
    let elapsedMs = 0;

    beforeAll(async () => {
      // Prepare
      bridge = await givenBridgeWith({
        quiet: true,
        settings: { TYPING_REFRESH_SECONDS: String(TYPING_REFRESH_SECONDS) },
      });
      workload = buildWorkload(bridge.scopeId, bridge.accountId, size);
      const kommoFailed = new Set<string>();
      bridge.kommo.respondWith((call) => {
        if (call.method !== 'delivery_status' || !kommoFailsFirst(call.msgid)) return undefined;
        const key = `${call.msgid}:${call.body.delivery_status}`;
        if (kommoFailed.has(key)) return undefined;
        kommoFailed.add(key);
        return { status: 503 };
      });
      const chatFailed = new Set<string>();
      bridge.sink.respondWith((event) => {
        if (!chatServiceFailsFirst(event.id) || chatFailed.has(event.id)) return undefined;
        chatFailed.add(event.id);
        return { status: 503 };
      });
      const otherSecret = testSecrets();

      const sendOne = (request: PlannedRequest): Promise<TestResponse> => {
        if (request.route === 'hook') {
          const raw = request.rawBody ?? JSON.stringify(request.body);
          const signature = request.forgery
            ? signKommoHook(raw, otherSecret.channelSecret)
            : signKommoHook(raw, bridge.secrets.channelSecret);
          return bridge.kommoHook(undefined, { rawBody: raw, signature });
        }
        const options = {
          webhookId: request.webhookId,
          ...(request.rawBody !== undefined ? { rawBody: request.rawBody } : {}),
          ...(request.forgery === 'secret' ? { secret: otherSecret.chatServiceSecret } : {}),
          ...(request.forgery === 'stale' ? { timestampSeconds: Math.floor(bridge.clock.now() / 1000) - 360 } : {}),
          ...(request.forgery === 'truncated' ? { headers: { 'webhook-signature': 'v1,dHJ1bmNhdGVk' } } : {}),
        };
        return bridge.chat(request.method, request.path, request.body, options);
      };

      // Act: the phases, 1 s apart, with the queue consumers running alongside the requests.
      const started = performance.now();
      const admit = inFlightLimit(size.inFlight);
      for (let phase = 0; phase < PHASES; phase += 1) {
        if (phase > 0) bridge.clock.advanceBy(1000);
        let sending = true;
        const consumers = (async () => {
          while (sending) {
            await bridge.bridge.settle();
            // Like SQS long polling: look again shortly, without spinning.
            await new Promise((resolve) => setTimeout(resolve, 20));
          }
        })();
        await Promise.all(
          workload.phases[phase]!.map((request) =>
            admit(request.copies, async () => {
              const responses = await Promise.all(Array.from({ length: request.copies }, () => sendOne(request)));
              answers.push({ request, responses });
            }),
          ),
        );
        sending = false;
        await consumers;
      }
      await bridge.advance(10 * 60_000);
      elapsedMs = performance.now() - started;
    }, size.preparationTimeoutMs);

    afterAll(async () => {
      // For the record: how long 10,000 requests and their aftermath take here.
      console.info(`mixed load: ${total} requests in ${(elapsedMs / 1000).toFixed(1)} s`);
      await bridge?.close();
    });

    const all = () =>
      answers.flatMap(({ request, responses }) => responses.map((response, copy) => ({ request, response, copy })));

    it(`sent exactly the planned mix: ${count} requests, 10% forged, 5% malformed, 20% concurrent copies`, () => {
      const requests = all();
      expect(requests).toHaveLength(total);
      expect(requests.filter(({ request }) => request.kind === 'forged')).toHaveLength(forgedCount);
      expect(requests.filter(({ request }) => request.kind === 'malformed')).toHaveLength(malformedCount);
      expect(requests.filter(({ copy }) => copy > 0)).toHaveLength(duplicateCopies);
    });

    it('answered every forged request 401 and every malformed one 400, and nothing else so', () => {
      const statuses = all().map(({ response }) => response.status);
      expect(statuses.filter((status) => status === 401)).toHaveLength(forgedCount);
      expect(statuses.filter((status) => status === 400)).toHaveLength(malformedCount);
      expect(statuses.filter((status) => status >= 500)).toEqual([]);
      for (const { request, response } of all()) {
        if (request.kind !== 'valid') expect(response.status).toBe(request.expectedStatus);
      }
    });

    it('answered every valid request as planned; a concurrent copy on a claimed route got the first answer again or a 409, on an idempotent one the same answer anew', () => {
      const unexpected = [];
      for (const { request, responses } of answers) {
        if (request.kind !== 'valid') continue;
        if (!isClaimed(request)) {
          // Hooks and idempotent chat routes: every copy processed, none answered from a replay record.
          for (const response of responses) {
            if (response.status !== request.expectedStatus || response.headers['webhook-replayed'] !== undefined)
              unexpected.push({ path: request.path, status: response.status, body: response.body });
            if (request.route !== 'hook') expect(response.body).toEqual(responses[0]!.body);
          }
          continue;
        }
        const firsts = responses.filter(
          (response) => response.status !== 409 && response.headers['webhook-replayed'] === undefined,
        );
        if (firsts.length !== 1) unexpected.push({ path: request.path, firsts: firsts.length });
        for (const response of responses) {
          const asPlanned =
            response.status === request.expectedStatus &&
            (response.headers['webhook-replayed'] !== undefined || response === firsts[0]);
          const inProgress = response.status === 409 && response.body.error.code === 'request_in_progress';
          if (!asPlanned && !inProgress)
            unexpected.push({ path: request.path, status: response.status, body: response.body });
          if (response.headers['webhook-replayed'] !== undefined) expect(response.body).toEqual(firsts[0]!.body);
        }
      }
      expect(unexpected).toEqual([]);
    });

    it('made exactly the Kommo typing calls the typing sessions need', () => {
      expect(bridge.kommo.typingCalls()).toHaveLength(workload.expected.kommoTypingCalls);
    });

    it('applied each forward status transition once, answered applied: true once for it, and sent it to Kommo once, in order', () => {
      const expectedSequences = Object.fromEntries(
        [...workload.expected.statusSequences].map(([msgid, statuses]) => [
          msgid,
          statuses.map((status) => ({ delivered: 1, read: 2, error: -1 })[status]),
        ]),
      );
      const sent: Record<string, number[]> = {};
      for (const call of bridge.kommo.deliveryStatusCalls()) (sent[call.msgid] ??= []).push(call.body.delivery_status);
      const transitions = [...workload.expected.statusSequences.values()].reduce(
        (sum, statuses) => sum + statuses.length,
        0,
      );
      const appliedAnswers = all().filter(
        ({ request, response }) =>
          request.kind === 'valid' &&
          request.route === 'status' &&
          response.body?.applied === true &&
          response.headers['webhook-replayed'] === undefined,
      );

      expect(sent).toEqual(expectedSequences);
      expect(appliedAnswers).toHaveLength(transitions);
      expect(bridge.kommo.rejected.map((refusal) => refusal.status)).toEqual(
        Array(
          [...workload.expected.statusSequences]
            .filter(([msgid]) => kommoFailsFirst(msgid))
            .reduce((sum, [, statuses]) => sum + statuses.length, 0),
        ).fill(503),
      );
    });

    it('announced every valid Kommo typing hook once as typing.started, and once as typing.stopped', () => {
      expect(bridge.sink.eventsOfType('typing.started')).toHaveLength(workload.expected.hooks);
      expect(bridge.sink.eventsOfType('typing.stopped')).toHaveLength(workload.expected.hooks);
      expect(bridge.sink.rejected.every((refusal) => refusal.scripted && refusal.status === 503)).toBe(true);
      expect(bridge.sink.rejected.map((refusal) => refusal.webhookId).sort()).toEqual(
        bridge.sink.events
          .map((event) => event.id)
          .filter(chatServiceFailsFirst)
          .sort(),
      );
    });

    it('holds exactly the items the valid requests make, and nothing queued or dead-lettered', async () => {
      const items = await tableItems(bridge.dynamo, bridge.tableName);
      const count = (test: (pk: string, sk: string) => boolean) =>
        items.filter((item) => test(item.pk?.S ?? '', item.sk?.S ?? '')).length;
      // Replay records: every authenticated request on a claimed route (status updates, refused bodies too), none for the idempotent ones.
      const claimedIds = new Set(
        answers
          .filter(({ request }) => request.kind !== 'forged' && isClaimed(request))
          .map(({ request }) => request.webhookId),
      );

      expect({
        replayRecords: count((pk) => pk.startsWith('WEBHOOK#')),
        statusRecords: count((pk) => pk.startsWith('STATUS#')),
        typingSessions: count((pk) => pk.startsWith('TYPING#')),
        kommoUserTyping: count((pk) => pk.startsWith('MTYPING#')),
        // Every hook is about a Kommo chat of its own, which the conversation directory learns.
        kommoChats: count((pk) => pk.startsWith('CHAT#')),
        // Client presence keeps one item per client; its transitions are announced, not stored one by one.
        presenceTransitions: bridge.metrics.get('PresenceTransition'),
        clientsSeen: count((pk, sk) => pk.startsWith('PRESENCE#') && sk === 'STATE#SEEN'),
        openPresenceWindows: items.filter(
          (item) => item.pk?.S?.startsWith('PRESENCE#') && item.onlineUntilMs !== undefined,
        ).length,
        other: count(
          (pk) =>
            !['WEBHOOK#', 'STATUS#', 'TYPING#', 'MTYPING#', 'CHAT#', 'PRESENCE#'].some((prefix) =>
              pk.startsWith(prefix),
            ),
        ),
      }).toEqual({
        replayRecords: claimedIds.size,
        statusRecords: workload.expected.statusSequences.size,
        typingSessions: workload.expected.typingSessions,
        kommoUserTyping: workload.expected.hooks,
        kommoChats: workload.expected.hooks,
        presenceTransitions: workload.expected.transitions,
        clientsSeen: workload.expected.clientsWithTransitions,
        openPresenceWindows: 0,
        other: 0,
      });
      expect(Object.values(bridge.bridge.queues).map((queue) => queue.depth)).toEqual([0, 0, 0, 0]);
      expect(Object.values(bridge.bridge.deadLetterQueues).map((queue) => queue.depth)).toEqual([0, 0, 0, 0]);
    });
  });
}
