import { createHmac, randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { signKommoHook } from '../../functions/core/domain/amojo-signature';
import { kommoAccountHost } from '../../functions/core/domain/kommo-origin';
import { httpRoutes } from '../../functions/manifest';
import { serveBridge } from '../../local/http-server';
import {
  asJsonText,
  asPathSegment,
  badChatId,
  badWholeNumber,
  blankText,
  deeplyNested,
  hugeNumberLiteral,
  jsonJunk,
  nearValid,
  notANumber,
  notAString,
  notJsonBytes,
  oversizedBody,
  oversizedString,
  propertyRuns,
  segmentStyle,
  setPath,
} from '../support/hostile-arbitraries';
import {
  expectErrorPage,
  expectRouteError,
  NO_EFFECT,
  observe,
  replayOf,
  replayRecord,
  watchBridge,
  type Observed,
} from '../support/hostile';
import { givenBridge, TEST_CLIENT_ID, typingHook, type TestBridge, type TestResponse } from '../support/test-bridge';
import { expectContractError, expectErrorBody } from '../support/contract-errors';

/**
 * Every route of functions/manifest.ts (and every route that is not there) under random and malformed
 * bodies, headers and path parameters: the answer is always a 4xx with the contract's error body, and
 * nothing is stored (but the replay record of an authenticated request on a claimed `/chat/...` route,
 * the manifest's `replay`), queued or sent.
 */

let bridge: TestBridge;
beforeEach(async () => {
  bridge = await givenBridge();
});
afterEach(async () => {
  await bridge.close();
});

/** Runs per property: enough to find the bugs listed at the end of this file, few enough to keep `npm test` quick. */
const RUNS = 50;
let webhookCounter = 0;
const nextWebhookId = () => `msg_hostile_${(webhookCounter += 1)}`;

const CHANNEL_ID = 'c0ffee00-0000-4000-8000-000000000001';
const ACCOUNT_ID = '52e591f7-c98f-4255-8495-827210138c81';
const SCOPE_ID = `${CHANNEL_ID}_${ACCOUNT_ID}`;

const chatId = fc.string({ minLength: 1, maxLength: 40 });

// ---- valid bodies and the rules that break them ----------------------------------------------

const validTyping = fc.record({
  conversation_id: chatId,
  sender_id: chatId,
  state: fc.constantFrom('start', 'stop'),
  ttl_seconds: fc.integer({ min: 1, max: 60 }),
});
const typingRules = {
  conversation_id: { invalid: badChatId, required: true },
  sender_id: { invalid: badChatId, required: true },
  state: {
    invalid: fc.oneof(
      notAString,
      fc.string({ maxLength: 10 }).filter((state) => state !== 'start' && state !== 'stop'),
    ),
    required: true,
  },
  ttl_seconds: { invalid: badWholeNumber(1, 60), required: false },
};

const validPresence = fc.record({
  client_id: chatId,
  state: fc.constantFrom('online', 'offline'),
  ttl_seconds: fc.integer({ min: 10, max: 3600 }),
});
const presenceRules = {
  client_id: { invalid: badChatId, required: true },
  state: {
    invalid: fc.oneof(
      notAString,
      fc.string({ maxLength: 10 }).filter((state) => state !== 'online' && state !== 'offline'),
    ),
    required: true,
  },
  ttl_seconds: { invalid: badWholeNumber(10, 3600), required: false },
};

const validRegistration = fc.record({ kommo_conversation_id: chatId, client_id: chatId });
const registrationRules = {
  kommo_conversation_id: { invalid: badChatId, required: true },
  client_id: { invalid: badChatId, required: true },
};

const badStatus = fc.oneof(
  notAString,
  fc.string({ maxLength: 10 }).filter((status) => !['delivered', 'read', 'error'].includes(status)),
);
const badErrorCode = fc.oneof(
  notANumber,
  fc.integer().filter((code) => code < 901 || code > 905),
  fc.constantFrom(901.5, 904.999, 1e308, 2 ** 53),
);
const badErrorText = fc.oneof(
  notAString,
  blankText,
  fc.string({ minLength: 501, maxLength: 700 }),
  fc.string({ unit: 'binary', minLength: 501, maxLength: 600 }),
);
/** Error fields are refused with `delivered` and `read`, even well-formed ones. */
const statusForward = nearValid(fc.record({ status: fc.constantFrom('delivered', 'read') }), {
  status: { invalid: badStatus, required: true },
  error_code: { invalid: fc.oneof(badErrorCode, fc.constantFrom(901, 902, 903, 904, 905)), required: false },
  error: { invalid: fc.oneof(badErrorText, fc.string({ minLength: 1, maxLength: 20 })), required: false },
});
const statusError = nearValid(
  fc.record({ status: fc.constant('error'), error_code: fc.constantFrom(901, 902, 903, 904) }),
  {
    status: { invalid: badStatus, required: true },
    error_code: { invalid: badErrorCode, required: true },
    error: { invalid: badErrorText, required: false },
  },
);
const statusError905 = nearValid(
  fc.record({
    status: fc.constant('error'),
    error_code: fc.constant(905),
    error: fc.string({ minLength: 1, maxLength: 40 }).filter((text) => /\S/.test(text)),
  }),
  {
    status: { invalid: badStatus, required: true },
    error_code: { invalid: badErrorCode, required: true },
    error: { invalid: badErrorText, required: true },
  },
);

/** Bodies any strict JSON-object route refuses: not JSON, not an object, too deep, or near-valid. */
const refusedBody = (
  nearValidBodies: fc.Arbitrary<Record<string, unknown>>,
  numberTemplate: (literal: string) => string,
) =>
  fc.oneof(
    { arbitrary: notJsonBytes, weight: 2 },
    {
      arbitrary: asJsonText(
        jsonJunk.filter((value) => value === null || typeof value !== 'object' || Array.isArray(value)),
      ),
      weight: 2,
    },
    { arbitrary: deeplyNested, weight: 1 },
    { arbitrary: hugeNumberLiteral.map((literal) => Buffer.from(numberTemplate(literal))), weight: 1 },
    { arbitrary: asJsonText(nearValidBodies), weight: 8 },
  );

interface PostRoute {
  name: string;
  /** POST unless said otherwise. */
  method?: 'PUT';
  path: (scopeId: string) => string;
  validBody: fc.Arbitrary<Record<string, unknown>>;
  refusedBody: fc.Arbitrary<Buffer>;
}

const postRoutes: PostRoute[] = [
  {
    name: 'POST /chat/{scope_id}/typing',
    path: (scope) => `/chat/${scope}/typing`,
    validBody: validTyping,
    refusedBody: refusedBody(
      nearValid(validTyping, typingRules),
      (n) => `{"conversation_id":"c","sender_id":"s","state":"start","ttl_seconds":${n}}`,
    ),
  },
  {
    name: 'POST /chat/{scope_id}/messages/{msgid}/status',
    path: (scope) => `/chat/${scope}/messages/m-1/status`,
    validBody: fc.constantFrom({ status: 'delivered' }, { status: 'read' }, { status: 'error', error_code: 901 }),
    refusedBody: refusedBody(
      fc.oneof(statusForward, statusError, statusError905),
      (n) => `{"status":"error","error_code":${n}}`,
    ),
  },
  {
    name: 'POST /chat/{scope_id}/presence',
    path: (scope) => `/chat/${scope}/presence`,
    validBody: validPresence,
    refusedBody: refusedBody(
      nearValid(validPresence, presenceRules),
      (n) => `{"client_id":"u","state":"online","ttl_seconds":${n}}`,
    ),
  },
  {
    name: 'PUT /chat/{scope_id}/conversations/{conversation_id}',
    method: 'PUT',
    path: (scope) => `/chat/${scope}/conversations/c-1`,
    validBody: validRegistration,
    refusedBody: refusedBody(
      nearValid(validRegistration, registrationRules),
      (n) => `{"kommo_conversation_id":"k","client_id":${n}}`,
    ),
  },
];

interface ChatRoute {
  name: string;
  method: 'GET' | 'POST' | 'PUT';
  path: (scopeId: string) => string;
  body?: unknown;
}

const chatRoutes: ChatRoute[] = [
  {
    name: 'POST /chat/{scope_id}/typing',
    method: 'POST',
    path: (scope) => `/chat/${scope}/typing`,
    body: { conversation_id: 'c-1', sender_id: 'u-1', state: 'start' },
  },
  {
    name: 'POST /chat/{scope_id}/messages/{msgid}/status',
    method: 'POST',
    path: (scope) => `/chat/${scope}/messages/m-1/status`,
    body: { status: 'read' },
  },
  {
    name: 'GET /chat/{scope_id}/messages/{msgid}/status',
    method: 'GET',
    path: (scope) => `/chat/${scope}/messages/m-1/status`,
  },
  {
    name: 'POST /chat/{scope_id}/presence',
    method: 'POST',
    path: (scope) => `/chat/${scope}/presence`,
    body: { client_id: 'u-1', state: 'online' },
  },
  { name: 'GET /chat/{scope_id}/presence/{client_id}', method: 'GET', path: (scope) => `/chat/${scope}/presence/u-1` },
  {
    name: 'PUT /chat/{scope_id}/conversations/{conversation_id}',
    method: 'PUT',
    path: (scope) => `/chat/${scope}/conversations/c-1`,
    body: { kommo_conversation_id: 'k-1', client_id: 'u-1' },
  },
];

it('the route-specific properties below name only routes of the manifest', () => {
  const manifest = httpRoutes.map((route) => `${route.method} ${route.path}`);

  expect(manifest).toEqual(
    expect.arrayContaining([...chatRoutes.map((route) => route.name), 'POST /kommo/{scope_id}']),
  );
});

/**
 * Asserts a signed request was refused and stored nothing but, on a claimed route, its replay record
 * (none for 413: the size check comes first). An idempotent route claims no webhook-id: nothing at all.
 */
async function expectRefusedLeavingOnlyItsClaim(
  outcome: Observed<TestResponse>,
  webhookId: string,
  statuses: number[],
  replay: 'claimed' | 'idempotent',
) {
  expectContractError(outcome.result, statuses);
  expect(outcome.effects).toEqual(NO_EFFECT);
  if (outcome.result.status === 413 || replay === 'idempotent') {
    expect(outcome.newReplays).toBe(0);
    expect(await replayRecord(bridge, webhookId)).toBeUndefined();
    return;
  }
  expect(outcome.newReplays).toBe(1);
  expect(await replayRecord(bridge, webhookId)).toEqual({ state: 'answered', statusCode: outcome.result.status });
}

// ---- every route of the manifest, whatever it is -------------------------------------------------

/** Fills a route's `{parameters}` with random path segments (this bridge's scope half of the time). */
const filledPath = (path: string) =>
  fc
    .array(
      fc.oneof(
        fc.constant(SCOPE_ID),
        fc.string({ minLength: 1, maxLength: 40 }).map(encodeURIComponent),
        fc.webSegment().filter((part) => part.length > 0),
      ),
      { minLength: 3, maxLength: 3 },
    )
    .map((values) => {
      let index = 0;
      return path.replace(/\{[^}]+\}/g, () => values[index++ % values.length]!);
    });

const junkHeaders = fc.dictionary(
  fc.constantFrom(
    'x-signature',
    'webhook-id',
    'webhook-timestamp',
    'webhook-signature',
    'x-auth-token',
    'authorization',
    'origin',
    'content-type',
    'cookie',
  ),
  fc.oneof(
    fc.string({ maxLength: 80 }),
    fc.constantFrom(
      'Bearer ',
      'Bearer x',
      'v1,',
      'https://evil.example',
      'eyJhbGciOiJub25lIn0.e30.',
      'application/json',
    ),
  ),
  { maxKeys: 5 },
);

describe.each(httpRoutes)('$method $path (any route of the manifest)', (route) => {
  it('answers a request without valid credentials, with any body, headers and parameters, with a 4xx and changes nothing', async () => {
    const watch = await watchBridge(bridge);
    await fc.assert(
      fc.asyncProperty(
        filledPath(route.path),
        junkHeaders,
        fc.oneof(fc.constant(Buffer.alloc(0)), notJsonBytes, asJsonText(jsonJunk), deeplyNested),
        async (path, headers, body) => {
          const outcome = await watch.observe(() => bridge.send(route.method, path, headers, body));

          expectRouteError(`${route.method} ${route.path}`, outcome.result);
          expect(outcome.effects).toEqual(NO_EFFECT);
          expect(outcome.newReplays).toBe(0);
        },
      ),
      propertyRuns(RUNS),
    );
  });
});

// ---- Standard Webhooks headers ------------------------------------------------------------------

const headerJunk = fc.oneof(
  fc.string({ maxLength: 80 }),
  fc.string({ unit: 'binary', maxLength: 30 }),
  fc.constantFrom('', ' ', ',', 'v1,', 'v1, ', 'null'),
);
const base64Of = (size: number) =>
  fc.uint8Array({ minLength: size, maxLength: size }).map((bytes) => Buffer.from(bytes).toString('base64'));
/** Standard Webhooks headers that never carry a valid signature: absent, junk, or well-formed but made up. */
const forgedWebhookHeaders = fc.record(
  {
    'webhook-id': fc.oneof(headerJunk, fc.stringMatching(/^msg_[A-Za-z0-9]{1,20}$/)),
    'webhook-timestamp': fc.oneof(headerJunk, fc.constant('NOW'), fc.integer({ min: -1e12, max: 1e13 }).map(String)),
    'webhook-signature': fc.oneof(
      headerJunk,
      base64Of(32).map((signature) => `v1,${signature}`),
      fc
        .array(
          base64Of(32).map((signature) => `v1,${signature}`),
          { minLength: 2, maxLength: 5 },
        )
        .map((list) => list.join(' ')),
      base64Of(32).map((signature) => `v1a,${signature}`),
    ),
    'content-type': fc.oneof(fc.constant('application/json'), headerJunk),
  },
  { requiredKeys: [] },
);

describe.each(chatRoutes)('$name', (route) => {
  it('answers 401 to any request without a valid Standard Webhooks signature, and stores nothing', async () => {
    const watch = await watchBridge(bridge);
    await fc.assert(
      fc.asyncProperty(
        forgedWebhookHeaders,
        fc.oneof(notJsonBytes, asJsonText(jsonJunk), fc.constant(Buffer.from(JSON.stringify(route.body ?? '')))),
        async (headers, body) => {
          // Prepare
          const now = String(Math.floor(bridge.clock.now() / 1000));
          const sent = Object.fromEntries(
            Object.entries(headers).map(([name, value]) => [name, value === 'NOW' ? now : value]),
          );

          // Act
          const outcome = await watch.observe(() => bridge.send(route.method, route.path(bridge.scopeId), sent, body));

          // Assess
          expectContractError(outcome.result, [401]);
          expect(outcome.effects).toEqual(NO_EFFECT);
          expect(outcome.newReplays).toBe(0);
        },
      ),
      propertyRuns(40),
    );
  });
});

// ---- bodies -------------------------------------------------------------------------------------

describe.each(postRoutes)('$name', (route) => {
  const replay = replayOf(route.method ?? 'POST', route.path(SCOPE_ID));

  it('answers 400 (or 413) to a correctly signed body that breaks the schema, keeping only its replay record if the route is claimed', async () => {
    const watch = await watchBridge(bridge);
    await fc.assert(
      fc.asyncProperty(
        fc.oneof({ arbitrary: route.refusedBody, weight: 20 }, { arbitrary: oversizedBody, weight: 1 }),
        async (body) => {
          // Prepare
          const webhookId = nextWebhookId();

          // Act
          const outcome = await watch.observe(() =>
            bridge.chat(route.method ?? 'POST', route.path(bridge.scopeId), undefined, { rawBody: body, webhookId }),
          );

          // Assess
          await expectRefusedLeavingOnlyItsClaim(outcome, webhookId, [400, 413], replay);
          if (outcome.result.status === 400) expect(outcome.result.body.error.code).toMatch(/^invalid_(json|field)$/);
        },
      ),
      propertyRuns(80),
    );
  });

  it('reads the same body the same way whatever Content-Type says (it is signed over the bytes)', async () => {
    const watch = await watchBridge(bridge);
    await fc.assert(
      fc.asyncProperty(
        route.refusedBody,
        fc.option(
          fc.oneof(
            headerJunk,
            fc.constantFrom(
              'text/plain',
              'application/octet-stream',
              'multipart/form-data; boundary=x',
              'APPLICATION/JSON; charset=latin1',
            ),
          ),
        ),
        async (body, contentType) => {
          // Prepare
          const webhookId = nextWebhookId();
          const headers: Record<string, string> = contentType === null ? {} : { 'content-type': contentType };
          const asJson = await bridge.chat(route.method ?? 'POST', route.path(bridge.scopeId), undefined, {
            rawBody: body,
            webhookId: `${webhookId}_json`,
          });
          await watch.rebase();

          // Act
          const outcome = await watch.observe(() =>
            bridge.chat(route.method ?? 'POST', route.path(bridge.scopeId), undefined, {
              rawBody: body,
              webhookId,
              headers,
            }),
          );

          // Assess
          await expectRefusedLeavingOnlyItsClaim(outcome, webhookId, [400, 413], replay);
          expect(outcome.result.body).toEqual(asJson.body);
        },
      ),
      propertyRuns(30),
    );
  });
});

it('accepts a valid body under any Content-Type, or none, with the same bytes signed', async () => {
  const watch = await watchBridge(bridge);
  await fc.assert(
    fc.asyncProperty(
      fc.string({ unit: 'binary', minLength: 1, maxLength: 60 }).filter((id) => id.length <= 128),
      fc.option(fc.oneof(headerJunk, fc.constantFrom('text/plain', 'application/octet-stream', 'image/png'))),
      async (clientId, contentType) => {
        // Prepare: an offline for a client that is not online is accepted and changes nothing (a heartbeat claims no webhook-id).
        const webhookId = nextWebhookId();
        const headers: Record<string, string> = contentType === null ? {} : { 'content-type': contentType };

        // Act
        const outcome = await watch.observe(() =>
          bridge.chat(
            'POST',
            `/chat/${bridge.scopeId}/presence`,
            { client_id: clientId, state: 'offline' },
            { webhookId, headers },
          ),
        );

        // Assess
        expect(outcome.result).toMatchObject({ status: 202, body: { ok: true } });
        expect(outcome.effects).toEqual(NO_EFFECT);
        expect(outcome.newReplays).toBe(0);
        expect(await replayRecord(bridge, webhookId)).toBeUndefined();
      },
    ),
    propertyRuns(RUNS),
  );
});

// ---- path parameters ----------------------------------------------------------------------------

const scopePattern = /^[A-Za-z0-9-]{1,64}$/;
const isThisBridgesScope = (scope: string) =>
  scope.startsWith(`${CHANNEL_ID}_`) && scopePattern.test(scope.slice(CHANNEL_ID.length + 1));

/** Scope ids (decoded) of no scope of this bridge: anything, very long, another channel's, or this channel with a malformed account. */
const foreignScope = fc
  .oneof(
    fc.string({ minLength: 1, maxLength: 80 }),
    fc.string({ unit: 'binary', minLength: 1, maxLength: 40 }),
    fc.string({ minLength: 300, maxLength: 4000 }),
    fc.string({ maxLength: 70 }).map((account) => `${CHANNEL_ID}_${account}`),
    fc.constantFrom(
      `${CHANNEL_ID}_`,
      `${CHANNEL_ID}_../..`,
      `${CHANNEL_ID}_${ACCOUNT_ID}/x`,
      `${CHANNEL_ID}_${ACCOUNT_ID}#x`,
      `${CHANNEL_ID}_${ACCOUNT_ID} `,
      `${CHANNEL_ID.toUpperCase()}_${ACCOUNT_ID}`,
      CHANNEL_ID,
      ACCOUNT_ID,
    ),
    fc.string({ minLength: 1, maxLength: 40 }).map((account) => `ffffffff-0000-4000-8000-000000000000_${account}`),
  )
  .filter((scope) => !isThisBridgesScope(scope));

/** Message and client ids (decoded) over 128 characters. */
const oversizedId = fc.oneof(
  fc.string({ minLength: 129, maxLength: 5000 }),
  fc.string({ unit: 'binary', minLength: 129, maxLength: 400 }),
);

interface ParamCase {
  name: string;
  method: 'GET' | 'POST' | 'PUT';
  path: (segment: string) => string;
  decoded: fc.Arbitrary<string>;
  body?: unknown;
  statuses: number[];
}

const paramCases: ParamCase[] = [
  {
    name: 'scope_id of POST .../typing',
    method: 'POST',
    path: (s) => `/chat/${s}/typing`,
    decoded: foreignScope,
    body: { conversation_id: 'c-1', sender_id: 'u-1', state: 'start' },
    statuses: [404],
  },
  {
    name: 'scope_id of POST .../status',
    method: 'POST',
    path: (s) => `/chat/${s}/messages/m-1/status`,
    decoded: foreignScope,
    body: { status: 'read' },
    statuses: [404],
  },
  {
    name: 'scope_id of GET .../status',
    method: 'GET',
    path: (s) => `/chat/${s}/messages/m-1/status`,
    decoded: foreignScope,
    statuses: [404],
  },
  {
    name: 'scope_id of POST .../presence',
    method: 'POST',
    path: (s) => `/chat/${s}/presence`,
    decoded: foreignScope,
    body: { client_id: 'u-1', state: 'online' },
    statuses: [404],
  },
  {
    name: 'scope_id of GET .../presence/{client_id}',
    method: 'GET',
    path: (s) => `/chat/${s}/presence/u-1`,
    decoded: foreignScope,
    statuses: [404],
  },
  {
    name: 'msgid of POST .../status',
    method: 'POST',
    path: (s) => `/chat/${SCOPE_ID}/messages/${s}/status`,
    decoded: oversizedId,
    body: { status: 'read' },
    statuses: [400],
  },
  {
    name: 'msgid of GET .../status',
    method: 'GET',
    path: (s) => `/chat/${SCOPE_ID}/messages/${s}/status`,
    decoded: oversizedId,
    statuses: [400],
  },
  {
    name: 'client_id of GET .../presence/{client_id}',
    method: 'GET',
    path: (s) => `/chat/${SCOPE_ID}/presence/${s}`,
    decoded: oversizedId,
    statuses: [400],
  },
  {
    name: 'scope_id of PUT .../conversations/{conversation_id}',
    method: 'PUT',
    path: (s) => `/chat/${s}/conversations/c-1`,
    decoded: foreignScope,
    body: { kommo_conversation_id: 'k-1', client_id: 'u-1' },
    statuses: [404],
  },
  {
    name: 'conversation_id of PUT .../conversations/{conversation_id}',
    method: 'PUT',
    path: (s) => `/chat/${SCOPE_ID}/conversations/${s}`,
    decoded: oversizedId,
    body: { kommo_conversation_id: 'k-1', client_id: 'u-1' },
    statuses: [400],
  },
];

describe.each(paramCases)('path parameter: $name', (param) => {
  const replay = replayOf(param.method, param.path('x'));

  it('is refused with 4xx after authentication, and nothing is stored but, on a claimed route, its replay record', async () => {
    const watch = await watchBridge(bridge);
    await fc.assert(
      fc.asyncProperty(param.decoded, segmentStyle, async (decoded, style) => {
        // Prepare
        const webhookId = nextWebhookId();

        // Act
        const outcome = await watch.observe(() =>
          bridge.chat(param.method, param.path(asPathSegment(decoded, style)), param.body, { webhookId }),
        );

        // Assess
        await expectRefusedLeavingOnlyItsClaim(outcome, webhookId, param.statuses, replay);
      }),
      propertyRuns(40),
    );
  });
});

describe('reads', () => {
  it('GET .../presence/{client_id} answers for any client id, percent-decoded, and writes nothing', async () => {
    const watch = await watchBridge(bridge);
    await fc.assert(
      fc.asyncProperty(
        fc.string({ unit: 'binary', minLength: 1, maxLength: 64 }).filter((id) => id.length <= 128),
        segmentStyle,
        async (clientId, style) => {
          const webhookId = nextWebhookId();

          const outcome = await watch.observe(() =>
            bridge.chat('GET', `/chat/${bridge.scopeId}/presence/${asPathSegment(clientId, style)}`, undefined, {
              webhookId,
            }),
          );

          expect(outcome.result).toMatchObject({
            status: 200,
            body: { client_id: clientId, online: false, last_seen_at: null, expires_at: null },
          });
          expect(outcome.effects).toEqual(NO_EFFECT);
          expect(outcome.newReplays).toBe(0);
          expect(await replayRecord(bridge, webhookId)).toBeUndefined();
        },
      ),
      propertyRuns(RUNS),
    );
  });

  it('GET .../messages/{msgid}/status of any unknown message is 404 and writes nothing', async () => {
    const watch = await watchBridge(bridge);
    await fc.assert(
      fc.asyncProperty(
        fc.string({ unit: 'binary', minLength: 1, maxLength: 64 }).filter((id) => id.length <= 128),
        segmentStyle,
        async (msgid, style) => {
          const webhookId = nextWebhookId();

          const outcome = await watch.observe(() =>
            bridge.chat('GET', `/chat/${bridge.scopeId}/messages/${asPathSegment(msgid, style)}/status`, undefined, {
              webhookId,
            }),
          );

          await expectRefusedLeavingOnlyItsClaim(outcome, webhookId, [404], 'idempotent');
          expect(outcome.result.body.error.code).toBe('unknown_message');
        },
      ),
      propertyRuns(RUNS),
    );
  });
});

// ---- Kommo hooks --------------------------------------------------------------------------------

const kommoId = fc.string({ minLength: 1, maxLength: 40 });
const validTypingHook = fc
  .record({ user: kommoId, conversation: kommoId, client: kommoId })
  .map(({ user, conversation, client }) => ({
    account_id: ACCOUNT_ID,
    time: 1_795_000_000,
    action: {
      typing: { user: { id: user }, conversation: { id: conversation, client_id: client }, expired_at: 4_000_000_000 },
    },
  }));
const validMessageHook = fc.record({ conversation: kommoId, message: kommoId }).map(({ conversation, message }) => ({
  account_id: ACCOUNT_ID,
  time: 1_795_000_000,
  message: {
    receiver: { id: 'r-1' },
    sender: { id: 's-1' },
    conversation: { id: conversation },
    timestamp: 1_795_000_000,
    message: { id: message, type: 'text', text: 'hi' },
  },
}));
const validReactionHook = fc.constant({ account_id: ACCOUNT_ID, action: { reaction: { type: 'react', emoji: '+1' } } });

/** Not a Kommo id (a string of 1-128 characters). */
const badKommoId = fc.oneof(notAString, fc.constant(''), oversizedString);
/** Not a positive whole number; positive ones that are merely in the past are acknowledged, not refused. */
const badExpiry = fc.oneof(
  notANumber,
  fc.integer({ max: 0 }),
  fc.double({ noNaN: true, noDefaultInfinity: true }).filter((value) => !Number.isInteger(value)),
  fc.constantFrom(2 ** 53, 1e300),
);
const otherAccount = fc.uuid().filter((account) => account !== ACCOUNT_ID);

/** A hook that breaks one of Kommo's rules the intake checks, or names another account than its scope. */
const refusedHook = fc.oneof(
  fc
    .tuple(
      validTypingHook,
      fc.oneof(
        badKommoId.map((value) => [['account_id'], value] as const),
        otherAccount.map((value) => [['account_id'], value] as const),
        badKommoId.map((value) => [['action', 'typing', 'user', 'id'], value] as const),
        badKommoId.map((value) => [['action', 'typing', 'conversation', 'id'], value] as const),
        fc
          .oneof(notAString, fc.constant(''), oversizedString)
          .map((value) => [['action', 'typing', 'conversation', 'client_id'], value] as const),
        badExpiry.map((value) => [['action', 'typing', 'expired_at'], value] as const),
        fc.oneof(notANumber, fc.constant(1.5)).map((value) => [['time'], value] as const),
        fc
          .oneof(fc.integer(), fc.boolean(), fc.constant(null))
          .map((value) => [['action', 'typing', 'post_id'], value] as const),
        fc
          .oneof(
            notAString.filter((value) => value === null || typeof value !== 'object' || Array.isArray(value)),
            fc.string(),
          )
          .map((value) => [['action', 'typing'], value] as const),
        fc
          .oneof(fc.string(), fc.integer(), fc.constant(null))
          .map((value) => [['action', 'typing', 'user'], value] as const),
      ),
    )
    .map(([hook, [path, value]]) => setPath(hook, path, value)),
  fc
    .tuple(
      validMessageHook,
      fc.oneof(
        badKommoId.map((value) => [['message', 'message', 'id'], value] as const),
        fc.oneof(notAString, fc.constant('')).map((value) => [['message', 'message', 'type'], value] as const),
        badKommoId.map((value) => [['message', 'conversation', 'id'], value] as const),
        fc
          .oneof(fc.string(), fc.integer(), fc.constant(null))
          .map((value) => [['message', 'receiver'], value] as const),
        fc.oneof(notANumber, fc.constant(0.5)).map((value) => [['message', 'timestamp'], value] as const),
        otherAccount.map((value) => [['account_id'], value] as const),
      ),
    )
    .map(([hook, [path, value]]) => setPath(hook, path, value)),
  fc
    .tuple(validReactionHook, fc.oneof(fc.string(), fc.integer(), fc.constant(null), fc.array(fc.integer())))
    .map(([hook, value]) => setPath(hook, ['action', 'reaction'], value)),
  jsonJunk.filter(
    (value) =>
      !(
        value !== null &&
        typeof value === 'object' &&
        !Array.isArray(value) &&
        (value as { account_id?: unknown }).account_id === ACCOUNT_ID
      ),
  ),
);

const anyHookBody = fc.oneof(
  notJsonBytes,
  asJsonText(jsonJunk),
  asJsonText(fc.oneof(validTypingHook, validMessageHook, validReactionHook, refusedHook)),
);

describe('POST /kommo/{scope_id}', () => {
  it('answers 401 to any body without the right X-Signature, and stores, queues and forwards nothing', async () => {
    const otherSecret = randomBytes(20).toString('hex');
    const forgedSignature = (body: Buffer) =>
      fc.oneof(
        fc.constant(null),
        headerJunk,
        fc.stringMatching(/^[0-9a-f]{40}$/),
        fc.constant(signKommoHook(body, bridge.secrets.channelSecret).toUpperCase()),
        fc.constant(signKommoHook(body, otherSecret)),
        fc.constant(createHmac('sha256', bridge.secrets.channelSecret).update(body).digest('hex')),
        fc.constant(`sha1=${signKommoHook(body, bridge.secrets.channelSecret)}`),
        fc.constant(` ${signKommoHook(body, bridge.secrets.channelSecret)}`),
        fc.constant(signKommoHook(body, bridge.secrets.channelSecret).slice(0, 39)),
        fc.constant(signKommoHook(Buffer.concat([body, Buffer.from(' ')]), bridge.secrets.channelSecret)),
      );
    const watch = await watchBridge(bridge);
    await fc.assert(
      fc.asyncProperty(
        anyHookBody.chain((body) => fc.tuple(fc.constant(body), forgedSignature(body))),
        async ([body, signature]) => {
          const outcome = await watch.observe(() => bridge.kommoHook(undefined, { rawBody: body, signature }));

          expectContractError(outcome.result, [401]);
          expect(outcome.effects).toEqual(NO_EFFECT);
          expect(outcome.newReplays).toBe(0);
        },
      ),
      propertyRuns(80),
    );
  });

  it('answers 400 (or 413) to a correctly signed body that is not a hook of this account, and stores, queues and forwards nothing', async () => {
    const watch = await watchBridge(bridge);
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          { arbitrary: notJsonBytes, weight: 2 },
          {
            arbitrary: deeplyNested.map((nested) => Buffer.concat([Buffer.from('{"x":'), nested, Buffer.from('}')])),
            weight: 1,
          },
          { arbitrary: asJsonText(refusedHook), weight: 10 },
          { arbitrary: oversizedBody, weight: 1 },
        ),
        async (body) => {
          const outcome = await watch.observe(() => bridge.kommoHook(undefined, { rawBody: body }));

          expectContractError(outcome.result, [400, 413]);
          expect(outcome.effects).toEqual(NO_EFFECT);
          expect(outcome.newReplays).toBe(0);
        },
      ),
      propertyRuns(80),
    );
  });

  it("answers 404 to a correctly signed hook sent to a scope that is not this bridge's", async () => {
    const watch = await watchBridge(bridge);
    await fc.assert(
      fc.asyncProperty(foreignScope, segmentStyle, validTypingHook, async (scope, style, hook) => {
        const outcome = await watch.observe(() => bridge.kommoHook(hook, { scope: asPathSegment(scope, style) }));

        expectContractError(outcome.result, [404]);
        expect(outcome.result.body.error.code).toBe('unknown_scope');
        expect(outcome.effects).toEqual(NO_EFFECT);
      }),
      propertyRuns(RUNS),
    );
  });
});

// ---- Kommo install and disable hook (query strings) ----------------------------------------------

/** Referers that are not a Kommo account host: look-alikes, hosts with more in them, addresses, junk. */
const foreignReferer = fc
  .oneof(
    fc.domain(),
    fc.ipV4(),
    fc.ipV6().map((address) => `[${address}]`),
    fc.webUrl(),
    fc.string({ maxLength: 60 }),
    fc.string({ unit: 'binary', maxLength: 30 }),
    fc.constantFrom(
      'kommo.com.evil.io',
      'x.kommo.com@evil.io',
      'testaccount.kommo.com:443',
      'testaccount.kommo.com.',
      'a.b.kommo.com',
      'TESTACCOUNT.kommo.com',
      'testaccount.amocrm.org',
    ),
    fc
      .tuple(
        fc.constantFrom('testaccount.kommo.com', 'shop.amocrm.ru'),
        fc.constantFrom('.', ':', '@', '/', '%', '#', '?', ' ', '\\', '\u0000'),
        fc.string({ maxLength: 10 }),
      )
      .map((parts) => parts.join('')),
  )
  .filter((referer) => kommoAccountHost(referer) === undefined);
const queryValue = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 20 }),
  fc.constantFrom('', 'access_denied', '1', '2', 'def50200abc'),
);
const queryOf = (pairs: [string, string][]) =>
  pairs.map(([name, value]) => `${encodeURIComponent(name)}=${encodeURIComponent(value)}`).join('&');

describe('GET /kommo/install with a query that is not a valid install', () => {
  it('answers a page (200 only for a refusal in Kommo, else 4xx), calls Kommo for nothing, and stores nothing', async () => {
    const watch = await watchBridge(bridge);
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.oneof(
            fc.tuple(fc.constant('referer'), foreignReferer),
            fc.tuple(
              fc.constantFrom('code', 'platform', 'state', 'from_widget', 'error', 'client_id', 'referer[]', 'CODE'),
              queryValue,
            ),
          ),
          { maxLength: 6 },
        ),
        fc.option(
          fc.string({ maxLength: 30 }).map((junk) => `&${encodeURI(junk)}`),
          { nil: '' },
        ),
        async (pairs, junk) => {
          // Act
          const outcome = await watch.observe(() =>
            bridge.send('GET', `/kommo/install?${queryOf(pairs)}${junk}`, { accept: 'text/html' }, Buffer.alloc(0)),
          );

          // Assess
          if (outcome.result.status === 200) expect(String(outcome.result.body)).toContain('<h1>Not connected</h1>');
          else expectErrorPage(outcome.result);
          expect(outcome.effects).toEqual(NO_EFFECT);
          expect(outcome.newReplays).toBe(0);
        },
      ),
      propertyRuns(RUNS),
    );
  });
});

describe("GET /kommo/uninstall without Kommo's signature", () => {
  it('answers 401 whatever the query, and changes nothing', async () => {
    const watch = await watchBridge(bridge);
    const hex64 = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((bytes) => Buffer.from(bytes).toString('hex'));
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.oneof(
            fc.tuple(fc.constant('client_uuid'), fc.oneof(fc.constant(TEST_CLIENT_ID), fc.uuid(), queryValue)),
            fc.tuple(fc.constant('account_id'), fc.oneof(fc.integer({ min: 1, max: 2 ** 40 }).map(String), queryValue)),
            fc.tuple(
              fc.constant('signature'),
              fc.oneof(
                hex64,
                hex64.map((hex) => hex.toUpperCase()),
                queryValue,
              ),
            ),
            fc.tuple(fc.string({ maxLength: 12 }), queryValue),
          ),
          { maxLength: 6 },
        ),
        async (pairs) => {
          // Act
          const outcome = await watch.observe(() =>
            bridge.send('GET', `/kommo/uninstall?${queryOf(pairs)}`, {}, Buffer.alloc(0)),
          );

          // Assess
          expectContractError(outcome.result, [401]);
          expect(outcome.effects).toEqual(NO_EFFECT);
          expect(outcome.newReplays).toBe(0);
        },
      ),
      propertyRuns(RUNS),
    );
  });
});

// ---- routes that do not exist -------------------------------------------------------------------

const routePatterns = httpRoutes.map((route) => ({
  method: route.method,
  pattern: new RegExp(`^${route.path.replace(/\{[^}]+\}/g, '[^/]+')}$`),
}));
const methodsServing = (path: string) =>
  routePatterns.filter((route) => route.pattern.test(path)).map((route) => route.method as string);

const anyMethod = fc.oneof(
  fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS', 'TRACE', 'PROPFIND', 'get', 'Post'),
  fc.stringMatching(/^[A-Z]{1,12}$/),
);
const segment = fc.oneof(
  fc.webSegment(),
  fc.string({ maxLength: 20 }).map(encodeURIComponent),
  fc.constantFrom('', '.', '..', 'kommo', 'chat', 'typing', 'presence', 'messages', 'status', SCOPE_ID),
);
const anyPath = fc.oneof(
  fc.array(segment, { maxLength: 7 }).map((segments) => `/${segments.join('/')}`),
  fc
    .tuple(fc.constantFrom(...httpRoutes.map((route) => route.path)), fc.array(segment, { minLength: 1, maxLength: 2 }))
    .map(([path, extra]) => `${path.replace(/\{[^}]+\}/g, SCOPE_ID)}/${extra.join('/')}`),
  fc.constantFrom(...httpRoutes.map((route) => route.path)).map((path) => path.replace(/\{[^}]+\}/g, SCOPE_ID)),
  fc.integer({ min: 2_000, max: 100_000 }).map((length) => `/${'a'.repeat(length)}`),
  fc.constantFrom('/', '//', '/kommo', '/kommo/', '/chat', `/chat/${SCOPE_ID}`, `/chat/${SCOPE_ID}/typing/`, '*', ''),
);
const queryString = fc.option(
  fc.string({ maxLength: 30 }).map((query) => `?${encodeURI(query)}`),
  { nil: '' },
);

describe('routes and methods the manifest does not serve', () => {
  it('answer 404 for an unknown path and 405 for a known path with another method, and change nothing', async () => {
    const watch = await watchBridge(bridge);
    await fc.assert(
      fc.asyncProperty(
        anyMethod,
        anyPath,
        queryString,
        fc.oneof(fc.constant(Buffer.alloc(0)), notJsonBytes, asJsonText(jsonJunk)),
        async (method, path, query, body) => {
          // Prepare: only requests no route serves, so that the fallback answers.
          const upper = method.toUpperCase();
          fc.pre(!methodsServing(path).includes(upper));

          // Act
          const outcome = await watch.observe(() =>
            bridge.send(method, `${path}${query}`, { 'content-type': 'application/json' }, body),
          );

          // Assess
          const allowed = methodsServing(path);
          if (allowed.length > 0) {
            expectContractError(outcome.result, [405]);
            expect(outcome.result.body.error.code).toBe('method_not_allowed');
          } else {
            expectContractError(outcome.result, [404]);
            expect(outcome.result.body.error.code).toBe('unknown_route');
          }
          expect(outcome.effects).toEqual(NO_EFFECT);
          expect(outcome.newReplays).toBe(0);
        },
      ),
      propertyRuns(80),
    );
  });

  it('answer over the real HTTP server (npm start) with the same JSON errors, never a 5xx', async () => {
    // Prepare
    const server = await serveBridge(bridge.bridge, { port: 0 });
    try {
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'),
          fc.oneof(
            anyPath.filter((path) => path.startsWith('/') && path.length < 8000),
            fc
              .constantFrom(...httpRoutes.map((route) => route.path))
              .map((path) => path.replace(/\{[^}]+\}/g, SCOPE_ID)),
          ),
          fc.oneof(notJsonBytes, asJsonText(jsonJunk), asJsonText(refusedHook)),
          fc.dictionary(
            fc.constantFrom(
              'x-signature',
              'webhook-id',
              'webhook-timestamp',
              'webhook-signature',
              'content-type',
              'x-kommo-scope-id',
            ),
            fc.stringMatching(/^[\x21-\x7e]{0,60}$/),
            { maxKeys: 4 },
          ),
          async (method, path, body, headers) => {
            // Act
            const response = await fetch(`${server.url}${path}`, {
              method,
              headers,
              ...(method === 'GET' ? {} : { body }),
            });
            const text = await response.text();

            // Assess
            const page = response.headers.get('content-type')?.startsWith('text/html') ?? false;
            const answer: TestResponse = {
              status: response.status,
              body: page ? text : JSON.parse(text),
              headers: Object.fromEntries(response.headers),
            };
            if (page) expectErrorPage(answer);
            else expectContractError(answer);
          },
        ),
        propertyRuns(40),
      );
      expect(bridge.kommo.calls).toEqual([]);
      expect(bridge.sink.events).toEqual([]);
      expect(Object.values(bridge.bridge.queues).map((queue) => queue.depth)).toEqual([0, 0, 0, 0]);
    } finally {
      await server.close();
    }
  });
});

// ---- found by these tests -----------------------------------------------------------------------

describe('edges', () => {
  it.each([
    ['POST', `/kommo/${SCOPE_ID}%E0%A4%A`],
    ['POST', `/kommo/%`],
    ['GET', `/chat/${SCOPE_ID}/presence/%ZZ`],
    ['GET', `/chat/${SCOPE_ID}/messages/100%/status`],
    ['POST', `/chat/${SCOPE_ID}/messages/%C0%AF/status`],
  ])(
    '%s %s (a malformed percent-escape in a path parameter) is 400 or 404, never a 405 for a method the route serves',
    async (method, path) => {
      // Act
      const outcome = await observe(bridge, () =>
        bridge.send(method, path, { 'content-type': 'application/json' }, Buffer.from('{}')),
      );

      // Assess
      expectContractError(outcome.result, [400, 404]);
      expect(outcome.effects).toEqual(NO_EFFECT);
    },
  );

  it.each([
    ['application/json', 64 * 1024, 202],
    ['application/octet-stream', 64 * 1024, 202],
    [undefined, 64 * 1024, 202],
    ['application/json', 64 * 1024 + 1, 413],
    ['application/octet-stream', 64 * 1024 + 1, 413],
  ])('the 64 KiB limit is exact whatever the Content-Type (%s, %i bytes → %i)', async (contentType, size, status) => {
    // Prepare: a valid body padded with JSON whitespace to exactly `size` bytes.
    const body = Buffer.alloc(size, ' ');
    Buffer.from(JSON.stringify({ client_id: 'u-1', state: 'offline' })).copy(body);
    const headers: Record<string, string> =
      contentType === undefined ? { 'content-type': '' } : { 'content-type': contentType };

    // Act
    const response = await bridge.chat('POST', `/chat/${bridge.scopeId}/presence`, undefined, {
      rawBody: body,
      headers,
    });

    // Assess
    expect(response.status).toBe(status);
    if (status === 413) expectContractError(response, [413]);
  });

  it('a correctly signed typing hook whose expired_at no date can hold is refused at intake, or dropped, never left to fail in the worker', async () => {
    // Prepare: 9e12 s is a safe integer, but 9e15 ms is past the last instant a JavaScript Date holds.
    const hook = typingHook(bridge, { expiredAtSeconds: 9e12 });

    // Act
    const response = await bridge.kommoHook(hook);
    await bridge.advance(1000);

    // Assess
    if (response.status !== 200) expectContractError(response, [400]);
    expect(bridge.bridge.queues.hooks.depth).toBe(0);
    expect(bridge.bridge.deadLetters('hooks')).toEqual([]);
  });

  it('keeps two typing sessions apart when their ids contain the key separator "#"', async () => {
    // Prepare
    const start = (conversation: string, sender: string) =>
      bridge.chat('POST', `/chat/${bridge.scopeId}/typing`, {
        conversation_id: conversation,
        sender_id: sender,
        state: 'start',
      });

    // Act
    const answers = [await start('a#b', 'c'), await start('a', 'b#c')];

    // Assess
    expect(answers.map((answer) => answer.status)).toEqual([202, 202]);
    expect(bridge.kommo.typingCalls().map((call) => [call.body.conversation_id, call.body.sender.id])).toEqual([
      ['a#b', 'c'],
      ['a', 'b#c'],
    ]);
  });

  it('a stop for one sender does not end the typing of another whose ids join to the same text', async () => {
    // Prepare
    await bridge.chat('POST', `/chat/${bridge.scopeId}/typing`, {
      conversation_id: 'a#b',
      sender_id: 'c',
      state: 'start',
      ttl_seconds: 30,
    });

    // Act
    await bridge.chat('POST', `/chat/${bridge.scopeId}/typing`, {
      conversation_id: 'a',
      sender_id: 'b#c',
      state: 'stop',
    });
    await bridge.advance(4000);

    // Assess: the bridge refreshes the typing of a#b/c after 4 s, as it would without the other stop.
    expect(bridge.kommo.typingCalls().filter((call) => call.body.conversation_id === 'a#b')).toHaveLength(2);
  });
});

it('no error body carries a stack or an internal message (the contract shape, checked on a 500 too)', async () => {
  // Prepare: the status store fails with an internal error.
  const failing = bridge.deps.statuses;
  const original = failing.apply.bind(failing);
  failing.apply = async () => {
    throw new Error('ValidationException: internal detail at DynamoStatusStore.apply (status-store.ts:61:13)');
  };

  // Act
  const response = await bridge.chat('POST', `/chat/${bridge.scopeId}/messages/m-1/status`, { status: 'read' });
  failing.apply = original;

  // Assess
  expect(response.status).toBe(500);
  expectErrorBody(response);
  expect(JSON.stringify(response.body)).not.toMatch(/ValidationException|status-store|DynamoStatusStore/);
});
