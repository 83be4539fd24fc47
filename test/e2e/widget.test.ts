import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { documentClient } from '../../functions/core/adapters/dynamodb/table';
import { kommoUserHeartbeat } from '../../functions/core/use-cases/kommo-user-presence';
import { TEST_START } from '../support/manual-clock';
import {
  givenBridge,
  givenConnectedAccount,
  TEST_KOMMO_ORIGIN,
  widgetRequest,
  type TestBridge,
  type TestResponse,
  widgetToken,
  type WidgetRequestOptions,
  type WidgetTokenOptions,
} from '../support/test-bridge';

let bridge: TestBridge;
beforeEach(async () => {
  bridge = await givenBridge();
  await givenConnectedAccount(bridge);
  await givenRegisteredChat('c-1', 'u-7');
  await givenRegisteredChat('c-2', 'u-8');
});
afterEach(async () => {
  await bridge.close();
});

const iso = (offsetMs: number) => new Date(TEST_START + offsetMs).toISOString();
/** The v2 routes name a chat by Kommo's id; here chat-service conversation `c-1` is Kommo chat `k-c-1`. */
const kommoChat = (conversationId: string) => `k-${conversationId}`;
const chatPath = (conversationId: string) => `/widget/chats/${encodeURIComponent(kommoChat(conversationId))}`;
const presence = (state: 'online' | 'offline', conversationId = 'c-1', options: WidgetRequestOptions = {}) =>
  widgetRequest(bridge, 'POST', `${chatPath(conversationId)}/presence`, { state }, options);
const read = (conversationId = 'c-1', options: WidgetRequestOptions = {}) =>
  widgetRequest(bridge, 'POST', `${chatPath(conversationId)}/read`, undefined, options);
/** The chat as the widget sees it, with its client's presence. */
const chatView = (conversationId = 'c-1', options: WidgetRequestOptions = {}) =>
  widgetRequest(bridge, 'GET', chatPath(conversationId), undefined, options);

/** The chat service names the Kommo chat of one of its conversations, as it does once Kommo answers. */
async function givenRegisteredChat(conversationId: string, clientId = 'u-7'): Promise<void> {
  const response = await bridge.chat(
    'PUT',
    `/chat/${bridge.scopeId}/conversations/${encodeURIComponent(conversationId)}`,
    {
      kommo_conversation_id: kommoChat(conversationId),
      client_id: clientId,
    },
  );
  expect(response.status, JSON.stringify(response.body)).toBe(200);
}

/** What the chat service received, in order: `[state, conversation, Kommo's numeric user id, at]`. */
const presenceChanges = () =>
  bridge.sink
    .eventsOfType('presence.changed')
    .map((event) => [event.data.state, event.data.conversation_id, event.data.kommo_user_id, event.data.at]);

async function storedItems(): Promise<Record<string, unknown>[]> {
  const { Items = [] } = await documentClient(bridge.dynamo).send(
    new ScanCommand({ TableName: bridge.tableName, ConsistentRead: true }),
  );
  return Items;
}

/** Every item in the table but the account binding, the registered chats and their replay records. */
async function storedBeyondBinding(): Promise<string[]> {
  return (await storedItems())
    .map((item) => `${item.pk} ${item.sk}`)
    .filter((key) => !/^(ACCOUNT|AMOJO_ACCOUNT|CHAT|WEBHOOK)#/.test(key));
}

async function expectNothingStoredOrQueued(): Promise<void> {
  expect(bridge.bridge.queues.events.depth).toBe(0);
  expect(bridge.bridge.queues.timers.depth).toBe(0);
  expect(await storedBeyondBinding()).toEqual([]);
}

function expectContractError(response: TestResponse, status: number, code?: string) {
  expect(response.status, JSON.stringify(response.body)).toBe(status);
  expect(Object.keys(response.body)).toEqual(['error']);
  expect(response.body.error).toEqual({ code: code ?? expect.any(String), message: expect.any(String) });
}

describe('Kommo user presence (POST /widget/chats/{kommo_conversation_id}/presence)', () => {
  it('a heartbeat: 202, and the chat service hears presence.changed online once', async () => {
    // Act
    const response = await presence('online');
    await bridge.advance(0);

    // Assess
    expect(response).toMatchObject({ status: 202, body: { ok: true } });
    const events = bridge.sink.eventsOfType('presence.changed');
    expect(events).toHaveLength(1);
    expect(events[0]!.data).toEqual({
      scope_id: bridge.scopeId,
      account_id: bridge.accountId,
      conversation_id: 'c-1',
      kommo_conversation_id: 'k-c-1',
      user_id: null,
      kommo_user_id: 7001,
      state: 'online',
      at: iso(0),
    });
  });

  it("a heartbeat that names the user's amojo id: its events carry it as user_id, the spelling of typing events", async () => {
    // Act
    await widgetRequest(bridge, 'POST', `${chatPath('c-1')}/presence`, {
      state: 'online',
      user_amojo_id: 'b0bc49f0-ec21-4463-965f-1fe1d4cd5b89',
    });
    await presence('offline');
    await bridge.advance(0);

    // Assess: the offline repeats what the window's opening heartbeat said.
    expect(
      bridge.sink
        .eventsOfType('presence.changed')
        .map((event) => [event.data.state, event.data.user_id, event.data.kommo_user_id]),
    ).toEqual([
      ['online', 'b0bc49f0-ec21-4463-965f-1fe1d4cd5b89', 7001],
      ['offline', 'b0bc49f0-ec21-4463-965f-1fe1d4cd5b89', 7001],
    ]);
  });

  it('10 heartbeats, every 30 s: still one presence.changed, and no offline while they continue', async () => {
    // Act
    for (let beat = 0; beat < 10; beat += 1) {
      expect((await presence('online')).status).toBe(202);
      await bridge.advance(30_000);
    }

    // Assess
    expect(presenceChanges()).toEqual([['online', 'c-1', 7001, iso(0)]]);
  });

  it('90 s without a heartbeat: one presence.changed offline, at the end of the window', async () => {
    // Prepare
    await presence('online');
    await bridge.advance(30_000);
    await presence('online');

    // Act
    await bridge.advance(89_000);
    const beforeTheEnd = presenceChanges().length;
    await bridge.advance(2_000);
    await bridge.advance(600_000);

    // Assess
    expect(beforeTheEnd).toBe(1);
    expect(presenceChanges()).toEqual([
      ['online', 'c-1', 7001, iso(0)],
      ['offline', 'c-1', 7001, iso(120_000)],
    ]);
    expect(bridge.sink.duplicates).toBe(0);
  });

  it('an explicit offline: presence.changed offline at once, and the timer adds nothing later', async () => {
    // Prepare
    await presence('online');
    await bridge.advance(10_000);

    // Act
    const response = await presence('offline');
    await bridge.advance(0);
    const atOnce = presenceChanges();
    await bridge.advance(300_000);

    // Assess
    expect(response).toMatchObject({ status: 202, body: { ok: true } });
    expect(atOnce).toEqual([
      ['online', 'c-1', 7001, iso(0)],
      ['offline', 'c-1', 7001, iso(10_000)],
    ]);
    expect(presenceChanges()).toEqual(atOnce);
  });

  it('an offline for a user who is not online changes nothing', async () => {
    const response = await presence('offline');
    await bridge.advance(0);

    expect(response.status).toBe(202);
    expect(presenceChanges()).toEqual([]);
    await expectNothingStoredOrQueued();
  });

  it('back after silence: online again, each window announced once', async () => {
    // Prepare
    await presence('online');
    await bridge.advance(200_000);

    // Act
    await presence('online');
    await bridge.advance(0);

    // Assess
    expect(presenceChanges()).toEqual([
      ['online', 'c-1', 7001, iso(0)],
      ['offline', 'c-1', 7001, iso(90_000)],
      ['online', 'c-1', 7001, iso(200_000)],
    ]);
  });

  it('a window that ended before its timer ran: the next heartbeat reports its offline, then the new online, each once', async () => {
    // Prepare: time passes without the queues delivering anything (the timer is late).
    await presence('online');
    await bridge.advance(0);
    bridge.clock.advanceBy(100_000);

    // Act
    await presence('online');
    await bridge.advance(0);
    await bridge.advance(300_000);

    // Assess
    expect(presenceChanges()).toEqual([
      ['online', 'c-1', 7001, iso(0)],
      ['offline', 'c-1', 7001, iso(90_000)],
      ['online', 'c-1', 7001, iso(100_000)],
      ['offline', 'c-1', 7001, iso(190_000)],
    ]);
  });

  it('20 concurrent heartbeats make one presence.changed', async () => {
    const responses = await Promise.all(Array.from({ length: 20 }, () => presence('online')));
    await bridge.advance(0);

    expect(responses.map((response) => response.status)).toEqual(Array(20).fill(202));
    expect(presenceChanges()).toHaveLength(1);
  });

  it('keeps users and conversations apart', async () => {
    // Act
    await presence('online', 'c-1');
    await presence('online', 'c-2');
    await presence('online', 'c-1', { kommoUserId: 7002 });
    await bridge.advance(5_000);
    await presence('offline', 'c-2');
    await bridge.advance(0);

    // Assess
    expect(presenceChanges()).toEqual([
      ['online', 'c-1', 7001, iso(0)],
      ['online', 'c-2', 7001, iso(0)],
      ['online', 'c-1', 7002, iso(0)],
      ['offline', 'c-2', 7001, iso(5_000)],
    ]);
  });

  it('the chat service receives events signed and de-duplicable: one webhook-id per transition', async () => {
    await presence('online');
    await presence('offline');
    await bridge.advance(0);

    const ids = bridge.sink.eventsOfType('presence.changed').map((event) => event.id);
    expect(ids).toHaveLength(2);
    expect(new Set(ids).size).toBe(2);
    expect(bridge.sink.rejected).toEqual([]);
  });
});

describe('Kommo user presence when a heartbeat fails half-way', () => {
  type Deps = TestBridge['deps'];
  const lost = new Error('the connection was lost');
  /** The call is made, then its answer is lost: the caller sees an error, the effect happened. */
  const answerLost =
    <A extends unknown[]>(call: (...args: A) => Promise<unknown>) =>
    async (...args: A): Promise<never> => {
      await call(...args);
      throw lost;
    };
  const refused = async (): Promise<never> => {
    throw lost;
  };
  const faults: [string, (deps: Deps) => Deps][] = [
    [
      'the events queue refuses the online event',
      (deps) => ({ ...deps, queues: { ...deps.queues, events: { ...deps.queues.events, send: refused } } }),
    ],
    [
      'the timers queue refuses the timer',
      (deps) => ({ ...deps, queues: { ...deps.queues, timers: { ...deps.queues.timers, send: refused } } }),
    ],
    [
      'SQS loses its answer to the online event',
      (deps) => ({
        ...deps,
        queues: {
          ...deps.queues,
          events: { ...deps.queues.events, send: answerLost(deps.queues.events.send.bind(deps.queues.events)) },
        },
      }),
    ],
    [
      'DynamoDB loses its answer to the open',
      (deps) => ({
        ...deps,
        kommoUserPresence: wrapStore(deps, {
          open: answerLost(deps.kommoUserPresence.open.bind(deps.kommoUserPresence)),
        }),
      }),
    ],
    [
      'DynamoDB loses the marking as announced',
      (deps) => ({ ...deps, kommoUserPresence: wrapStore(deps, { markAnnounced: refused }) }),
    ],
    [
      'DynamoDB loses its answer to the marking as announced',
      (deps) => ({
        ...deps,
        kommoUserPresence: wrapStore(deps, {
          markAnnounced: answerLost(deps.kommoUserPresence.markAnnounced.bind(deps.kommoUserPresence)),
        }),
      }),
    ],
  ];
  function wrapStore(deps: Deps, replaced: Partial<Deps['kommoUserPresence']>): Deps['kommoUserPresence'] {
    const store = deps.kommoUserPresence;
    return {
      extend: store.extend.bind(store),
      open: store.open.bind(store),
      markAnnounced: store.markAnnounced.bind(store),
      passTimerOn: store.passTimerOn.bind(store),
      read: store.read.bind(store),
      close: store.close.bind(store),
      ...replaced,
    };
  }

  it.each(faults)(
    '%s: the heartbeat fails, the next one 30 s later announces online once, and offline follows once',
    async (_, withFault) => {
      // Prepare
      const key = { scopeId: bridge.scopeId, accountId: bridge.accountId, conversationId: 'c-1', userId: '7001' };

      // Act
      const failed = await kommoUserHeartbeat(withFault(bridge.deps), key).catch((error: Error) => error);
      await bridge.advance(30_000);
      const next = await presence('online');
      await bridge.advance(600_000);

      // Assess
      expect(failed).toBe(lost);
      expect(next.status).toBe(202);
      expect(presenceChanges()).toEqual([
        ['online', 'c-1', 7001, iso(0)],
        ['offline', 'c-1', 7001, iso(120_000)],
      ]);
    },
  );
});

describe('reads (POST /widget/chats/{kommo_conversation_id}/read)', () => {
  it("emits conversation.read for the token's user, read up to now", async () => {
    // Prepare
    bridge.clock.advanceBy(42_000);

    // Act
    const response = await read('c-1');
    await bridge.advance(0);

    // Assess
    expect(response).toMatchObject({ status: 202, body: { ok: true } });
    expect(bridge.sink.eventsOfType('conversation.read').map((event) => event.data)).toEqual([
      {
        scope_id: bridge.scopeId,
        account_id: bridge.accountId,
        conversation_id: 'c-1',
        kommo_conversation_id: 'k-c-1',
        user_id: null,
        kommo_user_id: 7001,
        read_at: iso(42_000),
      },
    ]);
  });

  it("a body naming the user's amojo id: conversation.read carries it as user_id", async () => {
    const response = await widgetRequest(bridge, 'POST', `${chatPath('c-1')}/read`, {
      user_amojo_id: 'b0bc49f0-ec21-4463-965f-1fe1d4cd5b89',
    });
    await bridge.advance(0);

    expect(response.status).toBe(202);
    expect(bridge.sink.eventsOfType('conversation.read')[0]!.data).toMatchObject({
      conversation_id: 'c-1',
      user_id: 'b0bc49f0-ec21-4463-965f-1fe1d4cd5b89',
      kommo_user_id: 7001,
    });
  });

  it.each([
    ['a user_amojo_id that is a number', { user_amojo_id: 7001 }],
    ['an unknown field', { conversation_id: 'c-1' }],
  ])('refuses a body with %s with a 400, and nothing is emitted', async (_, body) => {
    const response = await widgetRequest(bridge, 'POST', `${chatPath('c-1')}/read`, body);
    await bridge.advance(0);

    expectContractError(response, 400, 'invalid_field');
    expect(bridge.sink.events).toEqual([]);
  });

  it("takes Kommo's chat id from the path, %-decoded", async () => {
    await givenRegisteredChat('chat/with space#1');
    await read('chat/with space#1');
    await bridge.advance(0);

    expect(bridge.sink.eventsOfType('conversation.read')[0]!.data.conversation_id).toBe('chat/with space#1');
  });
});

describe("the chat and its client's presence for the widget (GET /widget/chats/{kommo_conversation_id})", () => {
  it('answers what the chat-side presence query answers', async () => {
    // Prepare
    await bridge.chat('POST', `/chat/${bridge.scopeId}/presence`, {
      client_id: 'u-7',
      state: 'online',
      ttl_seconds: 30,
    });
    await bridge.advance(5_000);

    // Act
    const fromWidget = await chatView('c-1');
    const fromChat = await bridge.chat('GET', `/chat/${bridge.scopeId}/presence/u-7`);

    // Assess
    expect(fromWidget.status).toBe(200);
    const { client_id: _, ...chatSide } = fromChat.body;
    expect(fromWidget.body.client_presence).toEqual(chatSide);
    expect(fromWidget.body).toEqual({
      kommo_conversation_id: 'k-c-1',
      conversation_id: 'c-1',
      client_id: 'u-7',
      client_presence: { online: true, last_seen_at: iso(0), expires_at: iso(30_000) },
    });
  });

  it('a client never seen is offline', async () => {
    const response = await chatView('c-2');

    expect(response).toMatchObject({
      status: 200,
      body: { client_id: 'u-8', client_presence: { online: false, last_seen_at: null, expires_at: null } },
    });
  });
});

const routes = [
  [
    'POST /widget/chats/{kommo_conversation_id}/presence',
    (options: WidgetRequestOptions) => presence('online', 'c-1', options),
  ],
  ['POST /widget/chats/{kommo_conversation_id}/read', (options: WidgetRequestOptions) => read('c-1', options)],
  ['GET /widget/chats/{kommo_conversation_id}', (options: WidgetRequestOptions) => chatView('c-1', options)],
] as const;

describe('widget authentication', () => {
  const badTokens: [string, WidgetRequestOptions, string][] = [
    ['no X-Auth-Token', { token: null }, 'missing_token'],
    ['a token signed with another secret', { secret: 'another-integration-secret-0123456789' }, 'invalid_token'],
    ['an expired token', { ttlSeconds: -120 }, 'token_expired'],
    ['a token for another integration', { claims: { aud: 'https://other.example.com' } }, 'invalid_token_audience'],
    ['a token without user_id', { claims: { user_id: undefined } }, 'invalid_token_claims'],
    ['a token without iss', { claims: { iss: undefined } }, 'invalid_token_issuer'],
    [
      'a token whose iss is not a Kommo account',
      { claims: { iss: 'https://testaccount.example.com' } },
      'invalid_token_issuer',
    ],
    [
      'a token whose iss is another account than its subdomain claim',
      { claims: { iss: 'https://otheraccount.kommo.com' } },
      'invalid_token_issuer',
    ],
    ['garbage', { token: 'Bearer abc' }, 'invalid_token'],
  ];

  describe.each(routes)('%s', (_, call) => {
    it.each(badTokens)('refuses %s with 401, and nothing is stored or queued', async (__, options, code) => {
      // Act
      const response = await call(options);

      // Assess
      expectContractError(response, 401, code);
      await expectNothingStoredOrQueued();
    });

    it('refuses a valid token of an account no one connected with 403, and nothing is stored or queued', async () => {
      const response = await call({ kommoAccountId: 31_000_999 });

      expectContractError(response, 403, 'account_not_connected');
      expect(response.body.error.message).toContain('/admin/connect');
      await expectNothingStoredOrQueued();
    });
  });
});

describe('one-time tokens, reused as Kommo reuses them (contract v3)', () => {
  const conversationReads = () =>
    bridge.sink.eventsOfType('conversation.read').map((event) => event.data.conversation_id);

  it.each(routes)(
    'one token serves %s again and again until its exp, and writes nothing of its own',
    async (_, call) => {
      // Prepare: one token, as Kommo gives a page one for about 25 minutes.
      const token = await widgetToken(bridge);

      // Act: the same token now, and 25 minutes later.
      const first = await call({ token });
      const again = await call({ token });
      await bridge.advance(25 * 60_000);
      const later = await call({ token });

      // Assess
      for (const response of [first, again, later]) expect(response.status).toBeLessThan(300);
      expect(await storedItems()).not.toContainEqual(expect.objectContaining({ pk: expect.stringMatching(/TOKEN/) }));
    },
  );

  it('the same token reads two chats, each once: reuse is not a replay', async () => {
    const token = await widgetToken(bridge);

    const first = await read('c-1', { token });
    const second = await read('c-2', { token });
    await bridge.advance(0);

    expect([first.status, second.status]).toEqual([202, 202]);
    expect(conversationReads()).toEqual(['c-1', 'c-2']);
  });

  it('10 concurrent requests with one token are all served', async () => {
    const token = await widgetToken(bridge);
    // c-1 and c-2 are registered already.
    for (const index of [0, 3, 4, 5, 6, 7, 8, 9]) await givenRegisteredChat(`c-${index}`);

    const responses = await Promise.all(Array.from({ length: 10 }, (_, index) => read(`c-${index}`, { token })));
    await bridge.advance(0);

    expect(responses.map((response) => response.status)).toEqual(Array(10).fill(202));
    expect(conversationReads()).toHaveLength(10);
  });

  it('the token stops at exp plus the 60 s leeway: 401 token_expired, and nothing reaches the chat service', async () => {
    const token = await widgetToken(bridge);
    expect((await chatView('c-1', { token })).status).toBe(200);

    await bridge.advance(30 * 60_000 + 61_000);
    const expired = await read('c-1', { token });
    await bridge.advance(0);

    expectContractError(expired, 401, 'token_expired');
    expect(bridge.sink.events).toEqual([]);
  });

  const nowSeconds = TEST_START / 1000;
  it.each([
    ['exp 1e300', { claims: { exp: 1e300 } }],
    ['exp 2^53', { claims: { exp: 2 ** 53 } }],
    ['a lifetime over 1 h', { claims: { iat: nowSeconds, exp: nowSeconds + 3601 } }],
    ['exp more than 1 h ahead without iat', { claims: { iat: undefined, exp: nowSeconds + 7200 } }],
    ['iat 61 s in the future', { claims: { iat: nowSeconds + 61 } }],
    ['nbf 61 s in the future', { claims: { nbf: nowSeconds + 61 } }],
    ['exp that is not whole', { claims: { exp: nowSeconds + 600.5 } }],
    ['iat as a string', { claims: { iat: String(nowSeconds) } }],
  ] as [string, WidgetTokenOptions][])(
    'a token with %s is 401 invalid_token (never 5xx) on every route, and nothing is stored or queued',
    async (_, options) => {
      for (const [, call] of routes) {
        const response = await call(options);
        expectContractError(response, 401, 'invalid_token');
      }
      await bridge.advance(0);
      expect(bridge.sink.events).toEqual([]);
      await expectNothingStoredOrQueued();
    },
  );

  it.each([
    ['aud with a trailing slash', { claims: { aud: 'https://bridge.example.com/' } }],
    ['iss with a trailing slash', { claims: { iss: 'https://testaccount.kommo.com/' } }],
  ] as [string, WidgetTokenOptions][])(
    'a token whose %s is served: aud and iss compare as origins',
    async (_, options) => {
      const response = await chatView('c-1', options);

      expect(response.status, JSON.stringify(response.body)).toBe(200);
    },
  );

  it('a CORS preflight needs no token', async () => {
    const preflight = await widgetRequest(bridge, 'OPTIONS', '/widget/presence', undefined, {
      token: null,
      headers: { 'access-control-request-method': 'POST' },
    });

    expect(preflight.status).toBe(204);
  });

  it('a request refused for its body leaves the token good for the next one', async () => {
    const token = await widgetToken(bridge);

    const refused = await widgetRequest(bridge, 'POST', `${chatPath('c-1')}/presence`, { state: 'away' }, { token });
    const again = await presence('online', 'c-1', { token });

    expectContractError(refused, 400);
    expect(again.status).toBe(202);
  });
});

describe('widget input', () => {
  it.each([
    ['an unknown state', { state: 'away' }, 'state'],
    ['no state', {}, 'state'],
    ['a state that is a number', { state: 1 }, 'state'],
    ['an unknown field', { state: 'online', ttl_seconds: 60 }, 'ttl_seconds'],
    [
      'a conversation_id (v1 named the chat in the body; v2 names it in the path)',
      { conversation_id: 'c-1', state: 'online' },
      'conversation_id',
    ],
    ['an empty user_amojo_id', { state: 'online', user_amojo_id: '' }, 'user_amojo_id'],
    ['a user_amojo_id over 128 characters', { state: 'online', user_amojo_id: 'u'.repeat(129) }, 'user_amojo_id'],
    ['an array', [{ state: 'online' }], 'object'],
  ])('a presence heartbeat refuses %s with a 400 naming it, storing and queuing nothing', async (_, body, named) => {
    const response = await widgetRequest(bridge, 'POST', `${chatPath('c-1')}/presence`, body);

    expectContractError(response, 400);
    expect(response.body.error.message).toContain(named);
    await expectNothingStoredOrQueued();
  });

  it.each([
    ['not JSON', '{"conversation_id":', 400, 'invalid_json'],
    ['no body', '', 400, 'invalid_json'],
    ['a body over 64 KiB', JSON.stringify({ state: 'online', pad: 'x'.repeat(70_000) }), 413, 'body_too_large'],
  ])('a presence heartbeat refuses %s', async (_, raw, status, code) => {
    const response = await widgetRequest(bridge, 'POST', `${chatPath('c-1')}/presence`, undefined, {
      rawBody: raw,
      headers: { 'content-type': 'application/json' },
    });

    expectContractError(response, status, code);
    await expectNothingStoredOrQueued();
  });

  it.each([
    ['read', () => read('c'.repeat(129)), 'kommo_conversation_id'],
    ['the chat', () => chatView('c'.repeat(129)), 'kommo_conversation_id'],
  ])('%s refuses a path id over 128 characters with a 400 naming it', async (_, call, named) => {
    const response = await call();

    expectContractError(response, 400);
    expect(response.body.error.message).toContain(named);
    await expectNothingStoredOrQueued();
  });

  it('a wrong method on a widget route is a 405', async () => {
    const response = await widgetRequest(bridge, 'GET', `${chatPath('c-1')}/presence`);

    expectContractError(response, 405, 'method_not_allowed');
  });
});

describe('CORS', () => {
  const corsHeaders = (response: TestResponse) =>
    Object.fromEntries(
      Object.entries(response.headers).filter(([name]) => name.startsWith('access-control-') || name === 'vary'),
    );

  it.each(['https://testaccount.kommo.com', 'https://shop.amocrm.ru', 'https://shop.amocrm.com'])(
    'echoes the Kommo account origin %s on answers',
    async (origin) => {
      const response = await presence('online', 'c-1', { origin });

      expect(response.status).toBe(202);
      expect(corsHeaders(response)).toEqual({ 'access-control-allow-origin': origin, vary: 'Origin' });
    },
  );

  it.each([
    ['401', { token: null }, 401],
    ['403', { kommoAccountId: 31_000_999 }, 403],
    ['400', { rawBody: '[]' }, 400],
  ] as const)('echoes it on %s error answers too, so the widget can read them', async (_, options, status) => {
    const response = await presence('online', 'c-1', options);

    expect(response.status).toBe(status);
    expect(corsHeaders(response)).toEqual({ 'access-control-allow-origin': TEST_KOMMO_ORIGIN, vary: 'Origin' });
  });

  it.each([
    ['another site', 'https://evil.example'],
    ['a look-alike', 'https://testaccount.kommo.com.evil.example'],
    ['plain http', 'http://testaccount.kommo.com'],
    ['no Origin (a server, not a browser)', null],
  ])('gives %s no CORS header (the token still decides the answer)', async (_, origin) => {
    const response = await presence('online', 'c-1', { origin });

    expect(response.status).toBe(202);
    expect(corsHeaders(response)).toEqual({});
  });

  it.each([
    '/widget/chats/k-c-1',
    '/widget/chats/k-c-1/presence',
    '/widget/chats/k-c-1/read',
    // The retired v1 routes still answer their preflight, so the browser shows their 410, not a CORS failure.
    '/widget/presence',
    '/widget/clients/u-7/presence',
    '/widget/conversations/c-1/read',
  ])('answers the preflight of %s for a Kommo account origin, without a token', async (path) => {
    const response = await widgetRequest(bridge, 'OPTIONS', path, undefined, {
      token: null,
      headers: {
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'x-auth-token,content-type',
      },
    });

    expect(response.status).toBe(204);
    expect(corsHeaders(response)).toEqual({
      'access-control-allow-origin': TEST_KOMMO_ORIGIN,
      vary: 'Origin',
      'access-control-allow-methods': 'GET, POST',
      'access-control-allow-headers': 'X-Auth-Token, Content-Type',
      'access-control-max-age': '600',
    });
    await expectNothingStoredOrQueued();
  });

  it.each([
    ['another site', 'https://evil.example'],
    ['no Origin', null],
  ])('refuses the preflight from %s with a 403 and no CORS header', async (_, origin) => {
    const response = await widgetRequest(bridge, 'OPTIONS', '/widget/presence', undefined, { token: null, origin });

    expectContractError(response, 403, 'origin_not_allowed');
    expect(corsHeaders(response)).toEqual({});
  });

  it('other routes have no CORS, even for a Kommo account origin', async () => {
    const chat = await bridge.chat(
      'POST',
      `/chat/${bridge.scopeId}/presence`,
      { client_id: 'u-7', state: 'online' },
      { headers: { origin: TEST_KOMMO_ORIGIN } },
    );
    const preflight = await bridge.send(
      'OPTIONS',
      `/chat/${bridge.scopeId}/presence`,
      { origin: TEST_KOMMO_ORIGIN },
      Buffer.alloc(0),
    );

    expect(chat.status).toBe(202);
    expect(corsHeaders(chat)).toEqual({});
    expect(preflight.status).toBe(405);
    expect(corsHeaders(preflight)).toEqual({});
  });
});

describe('a bridge without the widget settings', () => {
  it('answers the widget routes 503 naming the missing setting, while the chat routes work', async () => {
    // Prepare
    const unconfigured = await givenBridge({ KOMMO_CLIENT_SECRET: '' });
    try {
      // Act
      const widget = await widgetRequest(
        unconfigured,
        'POST',
        '/widget/chats/k-c-1/presence',
        { state: 'online' },
        { secret: 'any-secret-at-all-0123456789' },
      );
      const chat = await unconfigured.chat('POST', `/chat/${unconfigured.scopeId}/presence`, {
        client_id: 'u-7',
        state: 'online',
      });

      // Assess
      expect(widget).toMatchObject({
        status: 503,
        body: {
          error: {
            code: 'not_configured',
            message: 'Configuration error: KOMMO_CLIENT_SECRET is required for the /widget/... routes',
          },
        },
      });
      expect(chat.status).toBe(202);
    } finally {
      await unconfigured.close();
    }
  });
});

describe('the retired v1 widget routes', () => {
  const v1: ['GET' | 'POST', string, string, unknown][] = [
    [
      'POST',
      '/widget/presence',
      'POST /widget/chats/{kommo_conversation_id}/presence',
      { conversation_id: 'cb-1', state: 'online' },
    ],
    ['GET', '/widget/clients/u-b1/presence', 'GET /widget/chats/{kommo_conversation_id}', undefined],
    ['POST', '/widget/conversations/cb-1/read', 'POST /widget/chats/{kommo_conversation_id}/read', undefined],
  ];

  it.each(v1)(
    "%s %s with a valid token, naming a conversation this account's directory never saw: 410 naming %s, and nothing is emitted, stored or queued",
    async (method, path, replacement, body) => {
      // Act: before the retirement, a read here emitted conversation.read for cb-1 under this account's scope.
      const response = await widgetRequest(bridge, method, path, body);
      await bridge.advance(0);

      // Assess
      expectContractError(response, 410, 'route_retired');
      expect(response.body.error.message).toContain(replacement);
      expect(bridge.sink.events).toEqual([]);
      await expectNothingStoredOrQueued();
    },
  );

  it.each(v1)('%s %s without a token is still 401, and nothing is stored or queued', async (method, path, _, body) => {
    const response = await widgetRequest(bridge, method, path, body, { token: null });

    expectContractError(response, 401, 'missing_token');
    await expectNothingStoredOrQueued();
  });

  it.each(v1)('%s %s for an account no one connected is still 403', async (method, path, _, body) => {
    const response = await widgetRequest(bridge, method, path, body, { kommoAccountId: 31_000_999 });

    expectContractError(response, 403, 'account_not_connected');
    await expectNothingStoredOrQueued();
  });
});
