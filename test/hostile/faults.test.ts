import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createBridgeTable } from '../../functions/core/adapters/dynamodb/table';
import { signKommoHook } from '../../functions/core/domain/amojo-signature';
import { emitEvent } from '../../functions/core/use-cases/outbound-events';
import { freePort, localDynamoClient, startDynamoDbLocal, type RunningDynamoDb } from '../../local/dynamodb-local';
import { serveBridge } from '../../local/http-server';
import { announcedPresence, storedPresence } from '../support/client-presence';
import { ForwardTarget } from '../support/forward-target';
import { DynamoFaults, givenBridgeWith, nextAcceptedCall, type FaultMode } from '../support/hostile';
import { propertyRuns } from '../support/hostile-arbitraries';
import { TEST_START } from '../support/manual-clock';
import { givenBridge, messageHook, typingHook, type TestBridge, type TestResponse } from '../support/test-bridge';
import { expectErrorBody } from '../support/contract-errors';

/**
 * The other parties fail and the bridge holds: DynamoDB gone (the process stopped, or one call lost),
 * Kommo slow or failing, the chat service down, the hook forward target down. Requests get a JSON 5xx
 * and leave no partial state; nothing accepted is lost; everything recovers.
 */

/** A 5xx of the contract: JSON, the generic message, nothing of the cause. */
function expectOpaque5xx(response: TestResponse): void {
  expect(response.status, JSON.stringify(response.body)).toBeGreaterThanOrEqual(500);
  expectErrorBody(response);
  expect(JSON.stringify(response.body)).not.toMatch(
    /ECONNREFUSED|ECONNRESET|127\.0\.0\.1|localhost|dynamo|socket|Networking/i,
  );
}

describe('DynamoDB Local stopped mid-run', () => {
  /** Runner limits, not assertions: two Java starts take about 15 s idle and several times that on a loaded 2-core machine. */
  const JVM_START_LIMIT_MS = 120_000;

  it(
    'answers requests with a JSON 5xx and no partial state while it is gone, keeps accepted hooks, and recovers when it is back on the same port',
    async () => {
      // Prepare: a DynamoDB Local of this test's own, and a bridge on it that has done some work.
      let dynamo: RunningDynamoDb = await startDynamoDbLocal({ readyTimeoutMs: JVM_START_LIMIT_MS });
      const port = Number(new URL(dynamo.endpoint).port);
      const client = localDynamoClient(dynamo.endpoint);
      const bridge = await givenBridgeWith({ dynamo: client });
      try {
        await bridge.chat('POST', `/chat/${bridge.scopeId}/messages/m-1/status`, { status: 'delivered' });
        await bridge.chat('POST', `/chat/${bridge.scopeId}/typing`, {
          conversation_id: 'c-1',
          sender_id: 'u-1',
          state: 'start',
        });
        await bridge.advance(0);
        const kommoCallsBefore = bridge.kommo.calls.length;
        const timersBefore = bridge.bridge.queues.timers.depth;
        expect(kommoCallsBefore).toBe(2);

        // Act 1: DynamoDB goes away.
        await dynamo.stop();
        const requests = [
          [
            'POST',
            `/chat/${bridge.scopeId}/typing`,
            { conversation_id: 'c-2', sender_id: 'u-1', state: 'start' },
            'msg_down_typing',
          ],
          ['POST', `/chat/${bridge.scopeId}/messages/m-2/status`, { status: 'read' }, 'msg_down_status'],
          [
            'POST',
            `/chat/${bridge.scopeId}/presence`,
            { client_id: 'u-1', state: 'online', ttl_seconds: 10 },
            'msg_down_presence',
          ],
          ['GET', `/chat/${bridge.scopeId}/messages/m-1/status`, undefined, 'msg_down_get_status'],
          ['GET', `/chat/${bridge.scopeId}/presence/u-1`, undefined, 'msg_down_get_presence'],
        ] as const;
        const whileDown = [];
        for (const [method, path, body, webhookId] of requests)
          whileDown.push(await bridge.chat(method, path, body, { webhookId }));
        const hook = typingHook(bridge, { conversationId: 'kommo-chat-9' });
        const hookAnswer = await bridge.kommoHook(hook);
        await bridge.advance(5000);

        // Assess 1: opaque 5xx, nothing sent or queued by the failed requests; the accepted hook and the due timer wait, not lost.
        for (const answer of whileDown) expectOpaque5xx(answer);
        expect(hookAnswer).toMatchObject({ status: 200, body: { ok: true } });
        expect(bridge.kommo.calls).toHaveLength(kommoCallsBefore);
        expect(bridge.sink.events).toEqual([]);
        expect(bridge.bridge.queues['kommo-status'].depth).toBe(0);
        expect(bridge.bridge.queues.hooks.depth).toBe(1);
        expect(bridge.bridge.queues.timers.depth).toBe(timersBefore);
        expect(Object.values(bridge.bridge.deadLetterQueues).map((queue) => queue.depth)).toEqual([0, 0, 0, 0]);

        // Act 2: DynamoDB Local is back on the same port (in memory, so the table is made again); the chat service retries.
        dynamo = await startDynamoDbLocal({ port, readyTimeoutMs: JVM_START_LIMIT_MS });
        await createBridgeTable(client, bridge.tableName, { ttl: false });
        const retried = [];
        for (const [method, path, body, webhookId] of requests.slice(0, 3))
          retried.push(await bridge.chat(method, path, body, { webhookId }));
        await bridge.advance(200_000);

        // Assess 2: the retries are processed, and the hook accepted during the outage reached the chat service.
        expect(retried.map((answer) => [answer.status, answer.headers['webhook-replayed']])).toEqual([
          [202, undefined],
          [202, undefined],
          [202, undefined],
        ]);
        expect(
          bridge.kommo.typingCalls().filter((call) => call.body.conversation_id === 'c-2').length,
        ).toBeGreaterThanOrEqual(1);
        expect(
          bridge.kommo
            .deliveryStatusCalls()
            .filter((call) => call.msgid === 'm-2')
            .map((call) => call.body.delivery_status),
        ).toEqual([2]);
        expect(announcedPresence(bridge, 'u-1').map(([state]) => state)).toEqual(['online', 'offline']);
        expect(
          bridge.sink.events
            .filter((event) => event.data.kommo_conversation_id === 'kommo-chat-9')
            .map((event) => event.type),
        ).toContain('typing.stopped');
        expect(bridge.bridge.queues.hooks.depth).toBe(0);
        expect(Object.values(bridge.bridge.deadLetterQueues).map((queue) => queue.depth)).toEqual([0, 0, 0, 0]);
      } finally {
        await bridge.close();
        client.destroy();
        await dynamo.stop();
      }
    },
    2 * JVM_START_LIMIT_MS + 60_000,
  );
});

// ---- one DynamoDB call lost ---------------------------------------------------------------------

interface SweepScenario {
  name: string;
  request: (bridge: TestBridge, n: number) => { path: string; body: unknown };
  /** How long the queues run before the end state is read. */
  settleMs: number;
  /** The end state, read through the sandboxes and the bridge's own answers. */
  endState: (bridge: TestBridge, n: number) => Promise<unknown>;
}

const sweepScenarios: SweepScenario[] = [
  {
    name: 'a typing start',
    request: (bridge, n) => ({
      path: `/chat/${bridge.scopeId}/typing`,
      body: { conversation_id: `c-${n}`, sender_id: 'u-1', state: 'start' },
    }),
    settleMs: 30_000,
    endState: async (bridge, n) => ({
      kommoTypingCalls: bridge.kommo.typingCalls().filter((call) => call.body.conversation_id === `c-${n}`).length,
    }),
  },
  {
    name: 'a status update',
    request: (bridge, n) => ({ path: `/chat/${bridge.scopeId}/messages/m-${n}/status`, body: { status: 'delivered' } }),
    settleMs: 30_000,
    endState: async (bridge, n) => {
      const view = (await bridge.chat('GET', `/chat/${bridge.scopeId}/messages/m-${n}/status`)).body;
      return {
        kommoCalls: bridge.kommo
          .deliveryStatusCalls()
          .filter((call) => call.msgid === `m-${n}`)
          .map((call) => call.body.delivery_status),
        status: view.status,
        kommo: view.kommo,
      };
    },
  },
  {
    name: 'a presence heartbeat',
    request: (bridge, n) => ({
      path: `/chat/${bridge.scopeId}/presence`,
      body: { client_id: `u-${n}`, state: 'online', ttl_seconds: 10 },
    }),
    settleMs: 60_000,
    // Read as the settle leaves it: the window lapsed and closed, its last heartbeat kept as last seen.
    endState: async (bridge, n) => {
      const stored = await storedPresence(bridge, `u-${n}`);
      const view = (await bridge.chat('GET', `/chat/${bridge.scopeId}/presence/u-${n}`)).body;
      return {
        online: view.online,
        lastSeenMsAgo: bridge.clock.now() - Date.parse(view.last_seen_at),
        state: stored?.state,
        changedMsAgo: bridge.clock.now() - Number(stored?.changedAtMs),
        window: stored?.onlineUntilMs,
      };
    },
  },
];

const sweepCases = (['request-lost', 'answer-lost'] as FaultMode[]).flatMap((mode) =>
  sweepScenarios.map((scenario) => ({ ...scenario, mode })),
);

describe('one DynamoDB call of a request lost', () => {
  let bridge: TestBridge;
  let faults: DynamoFaults;
  beforeEach(async () => {
    bridge = await givenBridge();
    faults = new DynamoFaults(bridge.dynamo);
  });
  afterEach(async () => {
    faults.disarm();
    await bridge.close();
  });

  it.each(sweepCases)(
    "$name, with each of its DynamoDB calls $mode in turn: a JSON 5xx, and the chat service's retry ends where a request without the fault ends",
    async ({ request, settleMs, endState, mode }) => {
      // Prepare: the request without a fault, counting its DynamoDB calls.
      const send = (n: number, webhookId: string) => {
        const { path, body } = request(bridge, n);
        return bridge.chat('POST', path, body, { webhookId });
      };
      faults.arm(0);
      const reference = await send(0, 'msg_reference');
      const calls = faults.disarm();
      await bridge.advance(settleMs);
      const expected = await endState(bridge, 0);
      expect(reference.status).toBe(202);

      // Act: the k-th call fails; the chat service sends the same request again at once.
      const mismatches: unknown[] = [];
      // A lost answer to the replay claim itself (call 1) is its own test below.
      for (let k = mode === 'answer-lost' ? 2 : 1; k <= calls.length; k += 1) {
        faults.arm(k, mode);
        const first = await send(k, `msg_fault_${k}`);
        faults.disarm();
        let retry: TestResponse | undefined;
        if (first.status >= 500) {
          expectOpaque5xx(first);
          retry = await send(k, `msg_fault_${k}`);
        }
        await bridge.advance(settleMs);
        const end = await endState(bridge, k);
        if (!isDeepStrictEqual(end, expected) || (retry && retry.status !== 202)) {
          mismatches.push({ failedCall: `${k} ${calls[k - 1]}`, first: first.status, retry: retry?.status, end });
        }
      }

      // Assess
      expect(calls.length).toBeGreaterThan(1);
      expect(mismatches, `expected every run to end as ${JSON.stringify(expected)}`).toEqual([]);
    },
  );

  it('the presence expiry timer, with each of its DynamoDB calls lost in turn, still records the offline', async () => {
    // Prepare
    const heartbeat = (client: string) =>
      bridge.chat('POST', `/chat/${bridge.scopeId}/presence`, { client_id: client, state: 'online', ttl_seconds: 10 });
    // Where the window ended: the stored offline at the window's end (10 s after the heartbeat), and the answer to a query.
    const endState = async (client: string, heartbeatAtMs: number) => {
      const stored = await storedPresence(bridge, client);
      return {
        state: stored?.state,
        closedAfterMs: Number(stored?.changedAtMs) - heartbeatAtMs,
        window: stored?.onlineUntilMs,
        online: (await bridge.chat('GET', `/chat/${bridge.scopeId}/presence/${client}`)).body.online,
      };
    };
    const closedAtItsEnd = { state: 'offline', closedAfterMs: 10_000, window: undefined, online: false };
    const referenceAtMs = bridge.clock.now();
    await heartbeat('u-reference');
    faults.arm(0);
    await bridge.advance(11_000);
    const calls = faults.disarm();
    expect(await endState('u-reference', referenceAtMs)).toEqual(closedAtItsEnd);

    // Act
    const mismatches: unknown[] = [];
    for (const mode of ['request-lost', 'answer-lost'] as FaultMode[]) {
      for (let k = 1; k <= calls.length; k += 1) {
        const client = `u-${mode}-${k}`;
        const heartbeatAtMs = bridge.clock.now();
        await heartbeat(client);
        faults.arm(k, mode);
        await bridge.advance(11_000);
        faults.disarm();
        // Past the queue's visibility timeout: the failed timer runs again.
        await bridge.advance(400_000);
        const end = await endState(client, heartbeatAtMs);
        if (!isDeepStrictEqual(end, closedAtItsEnd)) mismatches.push({ mode, failedCall: `${k} ${calls[k - 1]}`, end });
      }
    }

    // Assess
    expect(calls.length).toBeGreaterThan(1);
    expect(mismatches).toEqual([]);
  });

  it('a replay claim whose DynamoDB answer was lost holds its webhook-id no longer than a request can run: the retry 30 s later is processed', async () => {
    // Prepare: the claim is written, but the bridge never hears so.
    faults.arm(1, 'answer-lost');
    const first = await bridge.chat(
      'POST',
      `/chat/${bridge.scopeId}/messages/m-1/status`,
      { status: 'read' },
      { webhookId: 'msg_lost_claim' },
    );
    faults.disarm();

    // Act: the chat service retries after 30 s (the HTTP functions time out after 10 s).
    await bridge.advance(30_000);
    const retry = await bridge.chat(
      'POST',
      `/chat/${bridge.scopeId}/messages/m-1/status`,
      { status: 'read' },
      { webhookId: 'msg_lost_claim' },
    );
    await bridge.advance(10_000);

    // Assess
    expectOpaque5xx(first);
    expect(retry).toMatchObject({ status: 202, body: { ok: true, applied: true, status: 'read' } });
    expect(bridge.kommo.deliveryStatusCalls().map((call) => call.body)).toEqual([{ msgid: 'm-1', delivery_status: 2 }]);
  });
});

// ---- Kommo slow or failing ----------------------------------------------------------------------

describe('Kommo slow or failing', () => {
  let bridge: TestBridge;
  afterEach(async () => {
    await bridge.close();
  });

  it('Kommo, then the chat service, not answering: hook intake over HTTP answers 200 all the while the workers wait on them', async () => {
    // Prepare: both hold every answer until released; the status sender is the first worker to call out.
    bridge = await givenBridge();
    const releaseKommo = bridge.kommo.holdAnswers();
    const releaseChatService = bridge.sink.holdAnswers();
    await bridge.chat('POST', `/chat/${bridge.scopeId}/messages/m-1/status`, { status: 'read' });
    const server = await serveBridge(bridge.bridge, { port: 0 });
    const sendHook = async (i: number) => {
      const body = Buffer.from(JSON.stringify(typingHook(bridge, { userId: `user-${i}` })));
      const response = await fetch(`${server.url}/kommo/${bridge.scopeId}`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-signature': signKommoHook(body, bridge.secrets.channelSecret),
        },
        body,
      });
      await response.text();
      return response.status;
    };
    try {
      let workersDone = false;
      const kommoCalled = nextAcceptedCall(bridge.kommo);
      const workers = bridge.bridge.settle().then(() => {
        workersDone = true;
      });
      await kommoCalled;

      // Act: hooks arrive while the status sender waits on Kommo, then while the dispatcher waits on the chat service.
      const whileKommoWaits: number[] = [];
      for (let i = 0; i < 5; i += 1) whileKommoWaits.push(await sendHook(i));
      const chatServiceCalled = nextAcceptedCall(bridge.sink);
      releaseKommo();
      await chatServiceCalled;
      const whileChatServiceWaits: number[] = [];
      for (let i = 5; i < 10; i += 1) whileChatServiceWaits.push(await sendHook(i));
      const workersStillWaiting = !workersDone;
      releaseChatService();
      await workers;
      await bridge.advance(60_000);

      // Assess
      expect(whileKommoWaits).toEqual(Array(5).fill(200));
      expect(whileChatServiceWaits).toEqual(Array(5).fill(200));
      expect(workersStillWaiting).toBe(true);
      expect(bridge.kommo.deliveryStatusCalls().map((call) => call.body)).toEqual([
        { msgid: 'm-1', delivery_status: 2 },
      ]);
      expect(bridge.sink.eventsOfType('typing.started')).toHaveLength(10);
    } finally {
      await server.close();
    }
  });

  it('Kommo answering 503 and 429 to the first three attempts of every call: every update of 4 messages still arrives, in order', async () => {
    // Prepare
    bridge = await givenBridge();
    const attempts = new Map<string, number>();
    bridge.kommo.respondWith((call) => {
      if (call.method !== 'delivery_status') return undefined;
      const key = `${call.msgid}:${call.body.delivery_status}`;
      const attempt = (attempts.get(key) ?? 0) + 1;
      attempts.set(key, attempt);
      return attempt <= 3 ? { status: attempt === 2 ? 429 : 503 } : undefined;
    });
    const updates = [{ status: 'delivered' }, { status: 'read' }, { status: 'error', error_code: 902 }];

    // Act
    for (let m = 0; m < 4; m += 1) {
      for (const update of updates) await bridge.chat('POST', `/chat/${bridge.scopeId}/messages/m-${m}/status`, update);
    }
    await bridge.advance(15 * 60_000);

    // Assess
    for (let m = 0; m < 4; m += 1) {
      expect(
        bridge.kommo
          .deliveryStatusCalls()
          .filter((call) => call.msgid === `m-${m}`)
          .map((call) => call.body.delivery_status),
      ).toEqual([1, 2, -1]);
    }
    expect(bridge.kommo.rejected.map((refusal) => refusal.status).sort()).toEqual(
      [...Array(12).fill(429), ...Array(24).fill(503)].sort(),
    );
    expect(bridge.bridge.deadLetters('kommo-status')).toEqual([]);
    expect(bridge.bridge.queues['kommo-status'].depth).toBe(0);
  });
});

// ---- the chat service down ----------------------------------------------------------------------

describe('the chat service failing', () => {
  let bridge: TestBridge;
  beforeEach(async () => {
    bridge = await givenBridge();
  });
  afterEach(async () => {
    await bridge.close();
  });

  const readEvent = () => ({
    scope_id: bridge.scopeId,
    account_id: bridge.accountId,
    conversation_id: 'c-1',
    read_at: new Date(TEST_START).toISOString(),
  });

  it.each([500, 502, 503, 429])(
    'answering %i to every delivery: the event is retried to the budget, then dead-lettered with the reason',
    async (status) => {
      // Prepare
      bridge.sink.respondWith(() => ({ status }));

      // Act
      const event = await emitEvent(bridge.deps, 'conversation.read', readEvent());
      await bridge.advance(60 * 60_000);

      // Assess
      const attemptsMade = bridge.sink.rejected.filter((refusal) => refusal.webhookId === event.id).length;
      expect(attemptsMade).toBe(bridge.config.DELIVERY_MAX_ATTEMPTS);
      expect(bridge.bridge.deadLetters('events')).toEqual([
        expect.objectContaining({
          attempts: bridge.config.DELIVERY_MAX_ATTEMPTS,
          reason: `gave up after ${bridge.config.DELIVERY_MAX_ATTEMPTS} attempts: chat service answered ${status} to conversation.read`,
          message: expect.objectContaining({ event: expect.objectContaining({ id: event.id }) }),
        }),
      ]);
      expect(bridge.bridge.queues.events.depth).toBe(0);
    },
  );

  it('not answering before the bridge clock passes CHAT_SERVICE_TIMEOUT_MS: the event is retried and recorded once (the chat service de-duplicates on webhook-id)', async () => {
    // Prepare
    await bridge.close();
    bridge = await givenBridge({ CHAT_SERVICE_TIMEOUT_MS: '200' });
    const releaseAnswers = bridge.sink.holdAnswers();
    const delivered = nextAcceptedCall(bridge.sink);

    // Act: the first delivery is given up when the clock reaches its deadline; the retry is answered.
    await emitEvent(bridge.deps, 'conversation.read', readEvent());
    const dispatching = bridge.bridge.settle();
    await delivered;
    bridge.clock.advanceBy(200);
    await dispatching;
    releaseAnswers();
    await bridge.advance(60_000);

    // Assess
    expect(bridge.sink.eventsOfType('conversation.read')).toHaveLength(1);
    expect(bridge.sink.duplicates).toBe(1);
    expect(bridge.metrics.get('EventRetried')).toBe(1);
    expect(bridge.bridge.deadLetters('events')).toEqual([]);
  });
});

// ---- hook forwarding ----------------------------------------------------------------------------

describe('KOMMO_HOOK_FORWARD_URL', () => {
  let bridge: TestBridge;
  let target: ForwardTarget;
  afterEach(async () => {
    await bridge.close();
    await target.close();
  });

  async function givenForwarding(url?: string) {
    target = new ForwardTarget();
    const targetUrl = await target.start();
    bridge = await givenBridge({ KOMMO_HOOK_FORWARD_URL: url ?? targetUrl });
  }

  it('pointing at a server that is down: the hook is acknowledged, retried, then dead-lettered with the reason and its bytes', async () => {
    // Prepare: a port nobody listens on.
    await givenForwarding(`http://127.0.0.1:${await freePort()}/hooks`);
    const raw = JSON.stringify(messageHook(bridge.accountId));

    // Act
    const answer = await bridge.kommoHook(undefined, { rawBody: raw });
    await bridge.advance(60 * 60_000);

    // Assess
    expect(answer).toMatchObject({ status: 200, body: { ok: true } });
    const letters = bridge.bridge.deadLetters('hooks') as {
      reason: string;
      attempts: number;
      message: { rawBody: string; signature: string; scopeId: string };
    }[];
    expect(letters).toHaveLength(1);
    expect(letters[0]!.attempts).toBe(bridge.config.DELIVERY_MAX_ATTEMPTS);
    expect(letters[0]!.reason).toMatch(
      new RegExp(`^gave up after ${bridge.config.DELIVERY_MAX_ATTEMPTS} attempts: .*network error`),
    );
    expect(Buffer.from(letters[0]!.message.rawBody, 'base64').toString('utf8')).toBe(raw);
    expect(letters[0]!.message.signature).toBe(signKommoHook(raw, bridge.secrets.channelSecret));
    expect(bridge.bridge.queues.hooks.depth).toBe(0);
  });

  it('answering 503 twice: delivered on the third attempt', async () => {
    // Prepare
    await givenForwarding();
    target.answerNext(503, 503);

    // Act
    await bridge.kommoHook(messageHook(bridge.accountId));
    await bridge.advance(60_000);

    // Assess
    expect(target.received).toHaveLength(3);
    expect(new Set(target.received.map((request) => request.body.toString('base64'))).size).toBe(1);
    expect(bridge.metrics.get('HookForwarded')).toBe(1);
    expect(bridge.bridge.deadLetters('hooks')).toEqual([]);
  });

  it('answering 400: dead-lettered at once as a final answer, not retried', async () => {
    // Prepare
    await givenForwarding();
    target.answerNext(400);

    // Act
    await bridge.kommoHook(messageHook(bridge.accountId));
    await bridge.advance(60 * 60_000);

    // Assess
    expect(target.received).toHaveLength(1);
    expect(bridge.bridge.deadLetters('hooks')).toEqual([
      expect.objectContaining({ attempts: 1, reason: expect.stringMatching(/^final answer: .*400/) }),
    ]);
  });

  it('forwards every hook it does not consume with the same bytes and X-Signature, plus X-Kommo-Scope-Id', async () => {
    // Prepare
    await givenForwarding();
    const extra = fc.dictionary(
      fc.string({ minLength: 1, maxLength: 8 }).filter((key) => !['account_id', 'message', 'action'].includes(key)),
      fc.jsonValue({ maxDepth: 2 }),
      { maxKeys: 3 },
    );
    const hookText = fc
      .oneof(
        fc
          .tuple(fc.string({ unit: 'binary', minLength: 1, maxLength: 40 }), extra)
          .map(([text, more]) => ({ ...more, ...messageHook(bridge.accountId), note: text })),
        extra.map((more) => ({
          ...more,
          account_id: bridge.accountId,
          action: { reaction: { emoji: '👍', message: { id: 'm' } } },
        })),
        extra.map((more) => ({ ...more, account_id: bridge.accountId, action: { something_new: { id: 1 } } })),
      )
      .chain((hook) =>
        fc.constantFrom(
          JSON.stringify(hook),
          JSON.stringify(hook, null, 2),
          `${JSON.stringify(hook)}\n`,
          JSON.stringify(hook).replace(
            /[\u0080-\uffff]/g,
            (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`,
          ),
        ),
      );

    await fc.assert(
      fc.asyncProperty(hookText, async (raw) => {
        // Act
        const answer = await bridge.kommoHook(undefined, { rawBody: raw });
        await bridge.advance(0);

        // Assess
        expect(answer.status).toBe(200);
        const forwarded = target.received.at(-1)!;
        expect(forwarded.method).toBe('POST');
        expect(forwarded.body.equals(Buffer.from(raw))).toBe(true);
        expect(forwarded.headers['x-signature']).toBe(signKommoHook(raw, bridge.secrets.channelSecret));
        expect(forwarded.headers['x-kommo-scope-id']).toBe(bridge.scopeId);
      }),
      propertyRuns(40),
    );
    expect(target.received).toHaveLength(bridge.metrics.get('HookForwarded'));
    expect(bridge.bridge.deadLetters('hooks')).toEqual([]);
  });
});
