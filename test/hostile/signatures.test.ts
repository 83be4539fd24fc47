import fc from 'fast-check';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { signKommoHook } from '../../functions/core/domain/amojo-signature';
import { signKommoDisableHook } from '../../functions/core/domain/kommo-disable-hook';
import { StandardWebhookVerifier } from '../../functions/core/domain/standard-webhooks';
import { announcedPresence } from '../support/client-presence';
import { NO_EFFECT, observe, replayOf, replayRecord, watchBridge } from '../support/hostile';
import { propertyRuns } from '../support/hostile-arbitraries';
import {
  adminRequest,
  givenBridge,
  TEST_CLIENT_ID,
  TEST_KOMMO_ACCOUNT_ID,
  testSecrets,
  typingHook,
  type TestBridge,
  type TestResponse,
} from '../support/test-bridge';
import { expectContractError } from '../support/contract-errors';

/**
 * The signatures the bridge checks, on every route that carries one: Kommo's X-Signature on
 * `/kommo/{scope_id}`, Standard Webhooks on every `/chat/...` route, and Kommo's disable-hook
 * signature on `/kommo/uninstall`. What is refused changes nothing. A repeated `webhook-id`, even 20
 * copies at once, has one effect: on a claimed route every copy gets the first answer (or a 409); on
 * an idempotent one (the manifest's `replay`) every copy is processed again, to the same end state.
 * (test/e2e/chat-service-auth.test.ts and kommo-hook-intake.test.ts hold the basic cases for one route.)
 */

interface ChatRoute {
  name: string;
  method: 'GET' | 'POST' | 'PUT';
  path: (scopeId: string) => string;
  body?: unknown;
  /** The status a valid request gets on a fresh bridge. */
  status: number;
}

const chatRoutes: ChatRoute[] = [
  {
    name: 'POST /chat/{scope_id}/typing',
    method: 'POST',
    path: (scope) => `/chat/${scope}/typing`,
    body: { conversation_id: 'c-1', sender_id: 'u-1', state: 'start' },
    status: 202,
  },
  {
    name: 'POST /chat/{scope_id}/messages/{msgid}/status',
    method: 'POST',
    path: (scope) => `/chat/${scope}/messages/m-1/status`,
    body: { status: 'read' },
    status: 202,
  },
  {
    name: 'GET /chat/{scope_id}/messages/{msgid}/status',
    method: 'GET',
    path: (scope) => `/chat/${scope}/messages/m-1/status`,
    status: 404,
  },
  {
    name: 'POST /chat/{scope_id}/presence',
    method: 'POST',
    path: (scope) => `/chat/${scope}/presence`,
    body: { client_id: 'u-1', state: 'online' },
    status: 202,
  },
  {
    name: 'GET /chat/{scope_id}/presence/{client_id}',
    method: 'GET',
    path: (scope) => `/chat/${scope}/presence/u-1`,
    status: 200,
  },
  {
    name: 'PUT /chat/{scope_id}/conversations/{conversation_id}',
    method: 'PUT',
    path: (scope) => `/chat/${scope}/conversations/c-1`,
    body: { kommo_conversation_id: 'kommo-chat-1', client_id: 'u-1' },
    status: 200,
  },
];

const SIX_MINUTES = 360;

interface SignedParts {
  webhookId: string;
  timestamp: number;
  body: string;
  secret: string;
}

/** Standard Webhooks headers for `parts`, as the chat service signs them. */
function webhookHeaders(parts: SignedParts): Record<string, string> {
  return {
    'content-type': 'application/json',
    'webhook-id': parts.webhookId,
    'webhook-timestamp': String(parts.timestamp),
    'webhook-signature': new StandardWebhookVerifier(parts.secret).sign(parts.webhookId, parts.timestamp, parts.body),
  };
}

/** A defect: how a request differs from a correctly signed one. */
type Defect = (parts: SignedParts, bridge: TestBridge) => { headers: Record<string, string | undefined>; body: string };

const signedThen =
  (change: (headers: Record<string, string | undefined>, parts: SignedParts) => void): Defect =>
  (parts) => {
    const headers: Record<string, string | undefined> = webhookHeaders(parts);
    change(headers, parts);
    return { headers, body: parts.body };
  };
const signatureValue = (headers: Record<string, string | undefined>) =>
  headers['webhook-signature']!.slice('v1,'.length);

const defects: [string, Defect, string][] = [
  ['without webhook-id', signedThen((headers) => delete headers['webhook-id']), 'missing_signature'],
  ['without webhook-timestamp', signedThen((headers) => delete headers['webhook-timestamp']), 'missing_signature'],
  ['without webhook-signature', signedThen((headers) => delete headers['webhook-signature']), 'missing_signature'],
  [
    'signed with another secret',
    (parts) => ({ headers: webhookHeaders({ ...parts, secret: testSecrets().chatServiceSecret }), body: parts.body }),
    'invalid_signature',
  ],
  [
    'with the signature truncated',
    signedThen((headers) => (headers['webhook-signature'] = `v1,${signatureValue(headers).slice(0, 43)}`)),
    'invalid_signature',
  ],
  [
    'with the signature in uppercase',
    signedThen((headers) => (headers['webhook-signature'] = `v1,${signatureValue(headers).toUpperCase()}`)),
    'invalid_signature',
  ],
  [
    'with the signature as hex instead of base64',
    signedThen(
      (headers) =>
        (headers['webhook-signature'] = `v1,${Buffer.from(signatureValue(headers), 'base64').toString('hex')}`),
    ),
    'invalid_signature',
  ],
  [
    'with a signature version other than v1',
    signedThen((headers) => (headers['webhook-signature'] = `v1a,${signatureValue(headers)}`)),
    'invalid_signature',
  ],
  [
    'signed for another webhook-id',
    signedThen((headers) => (headers['webhook-id'] = 'msg_other')),
    'invalid_signature',
  ],
  [
    'signed for another timestamp',
    signedThen((headers, parts) => (headers['webhook-timestamp'] = String(parts.timestamp - 1))),
    'invalid_signature',
  ],
  [
    'with the timestamp in milliseconds',
    signedThen((headers, parts) => (headers['webhook-timestamp'] = `${parts.timestamp}000`)),
    'invalid_signature',
  ],
  [
    'with a body changed after signing',
    (parts) => ({ headers: webhookHeaders(parts), body: `${parts.body} ` }),
    'invalid_signature',
  ],
  [
    'with a webhook-id of 257 characters',
    (parts) => ({ headers: webhookHeaders({ ...parts, webhookId: 'm'.repeat(257) }), body: parts.body }),
    'invalid_signature',
  ],
  [
    'with a webhook-id holding a space',
    (parts) => ({ headers: webhookHeaders({ ...parts, webhookId: 'msg 1' }), body: parts.body }),
    'invalid_signature',
  ],
  [
    '6 minutes old',
    (parts) => ({ headers: webhookHeaders({ ...parts, timestamp: parts.timestamp - SIX_MINUTES }), body: parts.body }),
    'stale_timestamp',
  ],
  [
    '6 minutes ahead',
    (parts) => ({ headers: webhookHeaders({ ...parts, timestamp: parts.timestamp + SIX_MINUTES }), body: parts.body }),
    'stale_timestamp',
  ],
  [
    '301 s old',
    (parts) => ({ headers: webhookHeaders({ ...parts, timestamp: parts.timestamp - 301 }), body: parts.body }),
    'stale_timestamp',
  ],
  [
    '301 s ahead',
    (parts) => ({ headers: webhookHeaders({ ...parts, timestamp: parts.timestamp + 301 }), body: parts.body }),
    'stale_timestamp',
  ],
  [
    'with a Kommo X-Signature instead',
    (parts, bridge) => ({
      headers: {
        'content-type': 'application/json',
        'x-signature': signKommoHook(parts.body, bridge.secrets.channelSecret),
      },
      body: parts.body,
    }),
    'missing_signature',
  ],
];

describe('Standard Webhooks on every /chat/... route', () => {
  let bridge: TestBridge;
  beforeAll(async () => {
    bridge = await givenBridge();
  });
  afterAll(async () => {
    await bridge.close();
  });

  const cases = chatRoutes.flatMap((route) =>
    defects.map(([defect, make, code]) => ({ route: route.name, defect, make, code, target: route })),
  );

  it.each(cases)(
    '$route: a request $defect is refused with 401 ($code) and changes nothing',
    async ({ target, make, code }) => {
      // Prepare
      const parts: SignedParts = {
        webhookId: `msg_${Math.random().toString(36).slice(2)}`,
        timestamp: Math.floor(bridge.clock.now() / 1000),
        body: target.body === undefined ? '' : JSON.stringify(target.body),
        secret: bridge.secrets.chatServiceSecret,
      };
      const { headers, body } = make(parts, bridge);
      const sent = Object.fromEntries(
        Object.entries(headers).filter((entry): entry is [string, string] => entry[1] !== undefined),
      );

      // Act
      const outcome = await observe(bridge, () =>
        bridge.send(target.method, target.path(bridge.scopeId), sent, Buffer.from(body)),
      );

      // Assess
      expectContractError(outcome.result, [401]);
      expect(outcome.result.body.error.code).toBe(code);
      expect(outcome.effects).toEqual(NO_EFFECT);
      expect(outcome.newReplays).toBe(0);
    },
  );

  it.each(chatRoutes)('$name: timestamps exactly 5 minutes old or ahead are still accepted', async (route) => {
    // Prepare
    const now = Math.floor(bridge.clock.now() / 1000);

    // Act
    const answers = [
      await bridge.chat(route.method, route.path(bridge.scopeId), route.body, { timestampSeconds: now - 300 }),
      await bridge.chat(route.method, route.path(bridge.scopeId), route.body, { timestampSeconds: now + 300 }),
    ];

    // Assess
    expect(answers.map((answer) => answer.status)).not.toContain(401);
  });

  it('accepts a signature list in which one of several signatures is valid (key rotation)', async () => {
    // Prepare
    const parts: SignedParts = {
      webhookId: 'msg_rotation',
      timestamp: Math.floor(bridge.clock.now() / 1000),
      body: '',
      secret: bridge.secrets.chatServiceSecret,
    };
    const stale = webhookHeaders({ ...parts, secret: testSecrets().chatServiceSecret })['webhook-signature'];
    const headers = webhookHeaders(parts);
    headers['webhook-signature'] = `${stale} ${headers['webhook-signature']}`;

    // Act
    const response = await bridge.send('GET', `/chat/${bridge.scopeId}/presence/u-1`, headers, Buffer.alloc(0));

    // Assess
    expect(response.status).toBe(200);
  });

  it('refuses any single-character change of a valid signature', async () => {
    const watch = await watchBridge(bridge);
    await fc.assert(
      fc.asyncProperty(
        fc.nat(),
        fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/='),
        async (position, replacement) => {
          // Prepare
          const parts: SignedParts = {
            webhookId: 'msg_mutated',
            timestamp: Math.floor(bridge.clock.now() / 1000),
            body: '{"client_id":"u-1","state":"online"}',
            secret: bridge.secrets.chatServiceSecret,
          };
          const headers = webhookHeaders(parts);
          const value = signatureValue(headers);
          const index = position % value.length;
          fc.pre(value[index] !== replacement);
          headers['webhook-signature'] = `v1,${value.slice(0, index)}${replacement}${value.slice(index + 1)}`;

          // Act
          const outcome = await watch.observe(() =>
            bridge.send('POST', `/chat/${bridge.scopeId}/presence`, headers, Buffer.from(parts.body)),
          );

          // Assess
          expectContractError(outcome.result, [401]);
          expect(outcome.effects).toEqual(NO_EFFECT);
        },
      ),
      propertyRuns(100),
    );
  });
});

describe('replayed webhook-ids', () => {
  let bridge: TestBridge;
  beforeEach(async () => {
    bridge = await givenBridge();
  });
  afterEach(async () => {
    await bridge.close();
  });

  /** What a route's request changed that matters, `settleMs` later, read through the bridge's own answers and the sandboxes. */
  async function effectsOf(route: ChatRoute, on: TestBridge = bridge, settleMs = 0) {
    await on.advance(settleMs);
    return {
      kommoTyping: on.kommo.typingCalls().length,
      kommoStatus: on.kommo.deliveryStatusCalls().length,
      presenceTransitions: announcedPresence(on, 'u-1').map(([state]) => state),
      conversation: await on.deps.conversations.byKommoConversation(on.scopeId, 'kommo-chat-1'),
      timers: on.bridge.queues.timers.depth,
      route: route.name,
    };
  }

  const claimedRoutes = chatRoutes.filter((route) => replayOf(route.method, route.path('{scope_id}')) === 'claimed');
  const idempotentRoutes = chatRoutes.filter(
    (route) => replayOf(route.method, route.path('{scope_id}')) === 'idempotent',
  );

  it('both kinds of route are covered: the status update and the conversation registration are claimed, the others idempotent', () => {
    expect(claimedRoutes.map((route) => route.name)).toEqual([
      'POST /chat/{scope_id}/messages/{msgid}/status',
      'PUT /chat/{scope_id}/conversations/{conversation_id}',
    ]);
    expect(idempotentRoutes).toHaveLength(chatRoutes.length - 2);
  });

  /** The answer and effects of one request, `settleMs` later, on a bridge of its own. */
  async function referenceOf(route: ChatRoute, settleMs = 0) {
    const reference = await givenBridge();
    const single = await reference.chat(route.method, route.path(reference.scopeId), route.body, {
      webhookId: 'msg_once',
    });
    const expected = await effectsOf(route, reference, settleMs);
    await reference.close();
    return { single, expected };
  }

  /** Long enough for every timer a request starts to run out (typing refreshes, the presence window's end). */
  const UNTIL_TIMERS_END = 10 * 60_000;

  it.each(idempotentRoutes)(
    "$name: 20 simultaneous copies of one signed request are each processed again, to one request's end state and answer, with no replay record",
    async (route) => {
      // Prepare: where one request ends once its timers have run (racing presence heartbeats each queue an expiry check; the spare ones end unused).
      const { single, expected } = await referenceOf(route, UNTIL_TIMERS_END);

      // Act
      const copies = await Promise.all(
        Array.from({ length: 20 }, () =>
          bridge.chat(route.method, route.path(bridge.scopeId), route.body, { webhookId: 'msg_twenty' }),
        ),
      );
      const later = await bridge.chat(route.method, route.path(bridge.scopeId), route.body, {
        webhookId: 'msg_twenty',
      });

      // Assess
      expect(single.status).toBe(route.status);
      for (const copy of [...copies, later]) {
        expect({ status: copy.status, body: copy.body, replayed: copy.headers['webhook-replayed'] }).toEqual({
          status: single.status,
          body: single.body,
          replayed: undefined,
        });
      }
      expect(await effectsOf(route, bridge, UNTIL_TIMERS_END)).toEqual(expected);
      expect(await replayRecord(bridge, 'msg_twenty')).toBeUndefined();
    },
  );

  it.each(claimedRoutes)(
    '$name: 20 simultaneous copies of one signed request have one effect, and every copy gets the first answer or a 409',
    async (route) => {
      // Prepare: the effect of one request, on a bridge of its own.
      const { single, expected } = await referenceOf(route);

      // Act
      const copies = await Promise.all(
        Array.from({ length: 20 }, () =>
          bridge.chat(route.method, route.path(bridge.scopeId), route.body, { webhookId: 'msg_twenty' }),
        ),
      );
      const later = await bridge.chat(route.method, route.path(bridge.scopeId), route.body, {
        webhookId: 'msg_twenty',
      });

      // Assess
      expect(single.status).toBe(route.status);
      const firsts = copies.filter(
        (copy) => copy.status === route.status && copy.headers['webhook-replayed'] === undefined,
      );
      expect(firsts).toHaveLength(1);
      for (const copy of copies) {
        if (copy.status === 409) {
          expectContractError(copy, [409]);
          expect(copy.body.error.code).toBe('request_in_progress');
        } else {
          expect({ status: copy.status, body: copy.body }).toEqual({
            status: firsts[0]!.status,
            body: firsts[0]!.body,
          });
        }
      }
      expect(later).toMatchObject({
        status: firsts[0]!.status,
        body: firsts[0]!.body,
        headers: { 'webhook-replayed': 'true' },
      });
      expect(await effectsOf(route)).toEqual(expected);
      expect(await replayRecord(bridge, 'msg_twenty')).toEqual({ state: 'answered', statusCode: route.status });
    },
  );

  it('a webhook-id reused on another claimed route, with a validly signed other body, is refused with 409 webhook_id_used and changes nothing', async () => {
    // Prepare
    const first = await bridge.chat(
      'PUT',
      `/chat/${bridge.scopeId}/conversations/c-1`,
      { kommo_conversation_id: 'kommo-chat-1', client_id: 'u-1' },
      { webhookId: 'msg_reused' },
    );
    bridge.clock.advanceBy(1000);

    // Act
    const outcome = await observe(bridge, () =>
      bridge.chat(
        'POST',
        `/chat/${bridge.scopeId}/messages/m-1/status`,
        { status: 'read' },
        { webhookId: 'msg_reused' },
      ),
    );

    // Assess
    expect(first.status).toBe(200);
    expectContractError(outcome.result, [409]);
    expect(outcome.result.body.error.code).toBe('webhook_id_used');
    expect(outcome.result.headers['webhook-replayed']).toBeUndefined();
    expect(outcome.effects).toEqual(NO_EFFECT);
    expect(outcome.newReplays).toBe(0);
    expect(await replayRecord(bridge, 'msg_reused')).toEqual({ state: 'answered', statusCode: 200 });
    expect((await bridge.chat('GET', `/chat/${bridge.scopeId}/messages/m-1/status`)).status).toBe(404);
  });

  it('a webhook-id used on an idempotent route is not claimed: a claimed route may still use it, once', async () => {
    // Prepare
    const typing = await bridge.chat(
      'POST',
      `/chat/${bridge.scopeId}/typing`,
      { conversation_id: 'c-1', sender_id: 'u-1', state: 'start' },
      { webhookId: 'msg_shared' },
    );
    bridge.clock.advanceBy(1000);

    // Act
    const status = await observe(bridge, () =>
      bridge.chat(
        'POST',
        `/chat/${bridge.scopeId}/messages/m-1/status`,
        { status: 'read' },
        { webhookId: 'msg_shared' },
      ),
    );
    const elsewhere = await observe(bridge, () =>
      bridge.chat(
        'POST',
        `/chat/${bridge.scopeId}/messages/m-2/status`,
        { status: 'read' },
        { webhookId: 'msg_shared' },
      ),
    );
    await bridge.advance(60_000);

    // Assess
    expect(typing.status).toBe(202);
    expect(status.result).toMatchObject({ status: 202, body: { ok: true, applied: true, status: 'read' } });
    expect(status.result.headers['webhook-replayed']).toBeUndefined();
    expect(status.newReplays).toBe(1);
    expectContractError(elsewhere.result, [409]);
    expect(elsewhere.result.body.error.code).toBe('webhook_id_used');
    expect(elsewhere.effects).toEqual(NO_EFFECT);
    expect(await replayRecord(bridge, 'msg_shared')).toEqual({ state: 'answered', statusCode: 202 });
    expect(bridge.kommo.deliveryStatusCalls().map((call) => call.msgid)).toEqual(['m-1']);
  });

  it('a forged request that reuses a known webhook-id is refused, and does not learn the stored answer', async () => {
    // Prepare
    await bridge.chat(
      'POST',
      `/chat/${bridge.scopeId}/messages/m-1/status`,
      { status: 'read' },
      { webhookId: 'msg_known' },
    );

    // Act
    const forged = await observe(bridge, () =>
      bridge.chat(
        'POST',
        `/chat/${bridge.scopeId}/messages/m-1/status`,
        { status: 'read' },
        { webhookId: 'msg_known', secret: testSecrets().chatServiceSecret },
      ),
    );

    // Assess
    expectContractError(forged.result, [401]);
    expect(forged.result.headers['webhook-replayed']).toBeUndefined();
    expect(forged.effects).toEqual(NO_EFFECT);
  });

  it('a refused request does not use up its webhook-id: the correctly signed one is processed', async () => {
    // Prepare: on a claimed route, where a used id would be answered from its record.
    const body = { status: 'read' };
    const refused = await bridge.chat('POST', `/chat/${bridge.scopeId}/messages/m-1/status`, body, {
      webhookId: 'msg_retry',
      secret: testSecrets().chatServiceSecret,
    });

    // Act
    const accepted = await bridge.chat('POST', `/chat/${bridge.scopeId}/messages/m-1/status`, body, {
      webhookId: 'msg_retry',
    });
    await bridge.advance(60_000);

    // Assess
    expect(refused.status).toBe(401);
    expect(accepted).toMatchObject({ status: 202, body: { ok: true, applied: true, status: 'read' } });
    expect(accepted.headers['webhook-replayed']).toBeUndefined();
    expect(bridge.kommo.deliveryStatusCalls().map((call) => call.msgid)).toEqual(['m-1']);
  });

  it('a replay 4 minutes later, re-signed with a fresh timestamp, still gets the first answer', async () => {
    // Prepare
    const first = await bridge.chat(
      'POST',
      `/chat/${bridge.scopeId}/messages/m-1/status`,
      { status: 'delivered' },
      { webhookId: 'msg_late' },
    );
    await bridge.advance(4 * 60_000);

    // Act
    const replay = await observe(bridge, () =>
      bridge.chat(
        'POST',
        `/chat/${bridge.scopeId}/messages/m-1/status`,
        { status: 'delivered' },
        { webhookId: 'msg_late' },
      ),
    );

    // Assess
    expect(replay.result).toMatchObject({ status: 202, body: first.body, headers: { 'webhook-replayed': 'true' } });
    expect(replay.effects).toEqual(NO_EFFECT);
    expect(bridge.kommo.deliveryStatusCalls()).toHaveLength(1);
  });
});

describe('Kommo X-Signature on POST /kommo/{scope_id}', () => {
  let bridge: TestBridge;
  beforeEach(async () => {
    bridge = await givenBridge();
  });
  afterEach(async () => {
    await bridge.close();
  });

  const hexDigit = fc.constantFrom(...'0123456789abcdefABCDEF');
  /** Every way to miss the right signature by a character or two. */
  const nearMiss = (right: string) =>
    fc
      .oneof(
        fc.tuple(fc.nat(), hexDigit).map(([at, digit]) => {
          const i = at % right.length;
          return `${right.slice(0, i)}${digit}${right.slice(i + 1)}`;
        }),
        fc.nat().map((at) => {
          const i = at % right.length;
          return `${right.slice(0, i)}${right.slice(i + 1)}`;
        }),
        fc.tuple(fc.nat(), hexDigit).map(([at, digit]) => {
          const i = at % (right.length + 1);
          return `${right.slice(0, i)}${digit}${right.slice(i)}`;
        }),
        fc.nat().map((at) => {
          const i = at % (right.length - 1);
          return `${right.slice(0, i)}${right[i + 1]}${right[i]}${right.slice(i + 2)}`;
        }),
        fc.nat().map((at) => {
          const i = at % right.length;
          return `${right.slice(0, i)}${right[i]!.toUpperCase()}${right.slice(i + 1)}`;
        }),
        fc.constantFrom(`${right}\n`, ` ${right}`, `${right},${right}`, `sha1=${right}`, right.toUpperCase()),
      )
      .filter((signature) => signature !== right);

  it('refuses every near miss of the right signature with 401 and changes nothing', async () => {
    const body = Buffer.from(JSON.stringify(typingHook(bridge)));
    const right = signKommoHook(body, bridge.secrets.channelSecret);
    const watch = await watchBridge(bridge);
    await fc.assert(
      fc.asyncProperty(nearMiss(right), async (signature) => {
        const outcome = await watch.observe(() => bridge.kommoHook(undefined, { rawBody: body, signature }));

        expectContractError(outcome.result, [401]);
        expect(outcome.result.body.error.code).toBe('invalid_signature');
        expect(outcome.effects).toEqual(NO_EFFECT);
      }),
      propertyRuns(150),
    );
  });

  it('refuses a signed hook with any byte changed, added or removed (trailing line breaks aside), and changes nothing', async () => {
    const body = Buffer.from(JSON.stringify(typingHook(bridge)));
    const signature = signKommoHook(body, bridge.secrets.channelSecret);
    const watch = await watchBridge(bridge);
    await fc.assert(
      fc.asyncProperty(
        fc.nat(),
        fc.integer({ min: 0, max: 255 }),
        fc.constantFrom('replace', 'insert', 'remove'),
        async (at, byte, kind) => {
          // Prepare
          const index = at % body.length;
          const changed = Buffer.from(body);
          const tampered =
            kind === 'replace'
              ? changed.fill(byte, index, index + 1)
              : kind === 'insert'
                ? Buffer.concat([body.subarray(0, index), Buffer.from([byte]), body.subarray(index)])
                : Buffer.concat([body.subarray(0, index), body.subarray(index + 1)]);
          fc.pre(!tampered.equals(body));

          // Act
          const outcome = await watch.observe(() => bridge.kommoHook(undefined, { rawBody: tampered, signature }));

          // Assess
          expectContractError(outcome.result);
          expect(outcome.effects).toEqual(NO_EFFECT);
        },
      ),
      propertyRuns(150),
    );
  });

  it('accepts the hook with a trailing line break that was not signed (a documented allowance), and nothing else appended', async () => {
    // Prepare
    const body = JSON.stringify(typingHook(bridge));
    const signature = signKommoHook(body, bridge.secrets.channelSecret);

    // Act
    const withLineBreak = await bridge.kommoHook(undefined, { rawBody: `${body}\r\n`, signature });
    const withSpace = await bridge.kommoHook(undefined, { rawBody: `${body} `, signature });

    // Assess
    expect(withLineBreak.status).toBe(200);
    expectContractError(withSpace, [401]);
  });

  it('20 simultaneous copies of one signed typing hook are all acknowledged and reach the chat service as one typing.started and one typing.stopped', async () => {
    // Prepare
    const hook = typingHook(bridge);

    // Act
    const answers = await Promise.all(Array.from({ length: 20 }, () => bridge.kommoHook(hook)));
    await bridge.advance(30_000);

    // Assess
    expect(answers.every((answer) => answer.status === 200)).toBe(true);
    expect(bridge.sink.events.map((event) => event.type)).toEqual(['typing.started', 'typing.stopped']);
    expect(bridge.sink.rejected).toEqual([]);
    expect(bridge.bridge.deadLetters('events')).toEqual([]);
  });

  it('a hook signed with the channel secret is refused on a /chat/... route, and a chat-service signature on /kommo', async () => {
    // Prepare
    const hook = JSON.stringify(typingHook(bridge));
    const verifier = new StandardWebhookVerifier(bridge.secrets.chatServiceSecret);
    const now = Math.floor(bridge.clock.now() / 1000);

    // Act
    const onKommo = await observe(bridge, () =>
      bridge.send(
        'POST',
        `/kommo/${bridge.scopeId}`,
        {
          'content-type': 'application/json',
          'webhook-id': 'msg_1',
          'webhook-timestamp': String(now),
          'webhook-signature': verifier.sign('msg_1', now, hook),
        },
        Buffer.from(hook),
      ),
    );
    const onChat = await observe(bridge, () =>
      bridge.send(
        'POST',
        `/chat/${bridge.scopeId}/typing`,
        {
          'content-type': 'application/json',
          'x-signature': signKommoHook(
            '{"conversation_id":"c","sender_id":"s","state":"start"}',
            bridge.secrets.channelSecret,
          ),
        },
        Buffer.from('{"conversation_id":"c","sender_id":"s","state":"start"}'),
      ),
    );

    // Assess
    for (const outcome of [onKommo, onChat]) {
      expectContractError(outcome.result as TestResponse, [401]);
      expect(outcome.effects).toEqual(NO_EFFECT);
    }
  });
});

describe("Kommo's disable-hook signature on GET /kommo/uninstall", () => {
  let bridge: TestBridge;
  beforeEach(async () => {
    bridge = await givenBridge();
    await adminRequest(bridge, '/admin/connect', {
      amojo_account_id: bridge.accountId,
      kommo_account_id: TEST_KOMMO_ACCOUNT_ID,
      title: 'Test channel',
    });
  });
  afterEach(async () => {
    await bridge.close();
  });

  const accountId = String(TEST_KOMMO_ACCOUNT_ID);
  const hook = (signature: string, clientUuid = TEST_CLIENT_ID) =>
    bridge.send(
      'GET',
      `/kommo/uninstall?account_id=${accountId}&client_uuid=${clientUuid}&signature=${signature}`,
      {},
      Buffer.alloc(0),
    );

  it('a signature one hex digit off, at any position, is refused with 401 and changes nothing', async () => {
    const valid = signKommoDisableHook(TEST_CLIENT_ID, accountId, bridge.secrets.kommoClientSecret);
    const watch = await watchBridge(bridge);
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: valid.length - 1 }),
        fc.integer({ min: 1, max: 15 }),
        async (position, shift) => {
          const digit = ((Number.parseInt(valid[position]!, 16) + shift) % 16).toString(16);
          const outcome = await watch.observe(() =>
            hook(`${valid.slice(0, position)}${digit}${valid.slice(position + 1)}`),
          );

          expectContractError(outcome.result, [401]);
          expect(outcome.result.body.error.code).toBe('invalid_signature');
          expect(outcome.effects).toEqual(NO_EFFECT);
        },
      ),
      propertyRuns(40),
    );
  });

  it.each([
    [
      'the channel secret',
      (bridge: TestBridge) => signKommoDisableHook(TEST_CLIENT_ID, accountId, bridge.secrets.channelSecret),
    ],
    [
      'the chat-service secret',
      (bridge: TestBridge) => signKommoDisableHook(TEST_CLIENT_ID, accountId, bridge.secrets.chatServiceSecret),
    ],
    [
      'the admin token',
      (bridge: TestBridge) => signKommoDisableHook(TEST_CLIENT_ID, accountId, bridge.secrets.adminToken),
    ],
    [
      'SHA-1 instead of SHA-256',
      (bridge: TestBridge) => signKommoHook(`${TEST_CLIENT_ID}|${accountId}`, bridge.secrets.kommoClientSecret),
    ],
    [
      'the message in the other order',
      (bridge: TestBridge) => signKommoDisableHook(accountId, TEST_CLIENT_ID, bridge.secrets.kommoClientSecret),
    ],
  ])('signed with %s: 401, and the account stays connected', async (_, sign) => {
    // Act
    const outcome = await observe(bridge, () => hook(sign(bridge)));

    // Assess
    expectContractError(outcome.result, [401]);
    expect(outcome.effects).toEqual(NO_EFFECT);
    expect(bridge.kommo.isConnected(bridge.scopeId)).toBe(true);
  });
});
