import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { documentClient } from '../../functions/core/adapters/dynamodb/table';
import { kommoErrorBody, type KommoSandboxCall } from '../../local/sandbox/kommo-sandbox';
import {
  adminRequest,
  givenBridge,
  TEST_KOMMO_ACCOUNT_ID,
  widgetRequest,
  type TestBridge,
  type TestResponse,
} from '../support/test-bridge';
import { expectContractError } from '../support/contract-errors';

let bridge: TestBridge;
beforeEach(async () => {
  bridge = await givenBridge();
});
afterEach(async () => {
  await bridge.close();
});

const OTHER_AMOJO_ID = '0d6a7c1e-5d0b-4c47-9d4f-3f4f0f2a9b11';
const connect = (body: Record<string, unknown> = {}, options: { authorization?: string | null } = {}) =>
  adminRequest(
    bridge,
    '/admin/connect',
    { amojo_account_id: bridge.accountId, kommo_account_id: TEST_KOMMO_ACCOUNT_ID, title: 'My channel', ...body },
    options,
  );
const disconnect = (body: Record<string, unknown>, options: { authorization?: string | null } = {}) =>
  adminRequest(bridge, '/admin/disconnect', body, options);
/**
 * A widget heartbeat in chat `k-c-1`, which the chat service names first (its answer does not matter
 * here: for a scope that is not bound the widget call is refused before the chat is looked up).
 */
async function heartbeat(kommoAccountId = TEST_KOMMO_ACCOUNT_ID, scopeId = bridge.scopeId): Promise<TestResponse> {
  await bridge.chat('PUT', `/chat/${scopeId}/conversations/c-1`, { kommo_conversation_id: 'k-c-1', client_id: 'u-7' });
  return widgetRequest(bridge, 'POST', '/widget/chats/k-c-1/presence', { state: 'online' }, { kommoAccountId });
}

async function storedItems(): Promise<string[]> {
  const { Items = [] } = await documentClient(bridge.dynamo).send(
    new ScanCommand({ TableName: bridge.tableName, ConsistentRead: true }),
  );
  return Items.map((item) => `${item.pk} ${item.sk}`).sort();
}

const bindingItems = (kommoAccountId: number, amojoAccountId: string) =>
  [`ACCOUNT#${kommoAccountId} BINDING`, `AMOJO_ACCOUNT#${amojoAccountId} BINDING`].sort();

const kommoCalls = <M extends 'connect' | 'disconnect'>(method: M) =>
  bridge.kommo.calls.filter((call): call is Extract<KommoSandboxCall, { method: M }> => call.method === method);

/**
 * Holds the bridge's first `method` call to Kommo after the sandbox has applied it, until `release()`:
 * a connect or disconnect stays in progress while the test sends others. Later calls pass at once.
 */
function holdFirstKommoAnswer(method: 'connect' | 'disconnect') {
  const kommoChatApi = bridge.deps.kommoChatApi as unknown as Record<
    typeof method,
    (...args: unknown[]) => Promise<unknown>
  >;
  const call = kommoChatApi[method].bind(kommoChatApi);
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  let reached!: () => void;
  const held = new Promise<void>((resolve) => (reached = resolve));
  let holding = false;
  kommoChatApi[method] = async (...args) => {
    const answer = await call(...args);
    if (!holding) {
      holding = true;
      reached();
      await released;
    }
    return answer;
  };
  return { held, release };
}

describe('POST /admin/connect', () => {
  it('calls Kommo connect, binds the scope to the Kommo account, and the widget works for it', async () => {
    // Act
    const response = await connect();
    const widget = await heartbeat();
    await bridge.advance(0);

    // Assess
    expect(response).toMatchObject({
      status: 200,
      body: {
        ok: true,
        scope_id: bridge.scopeId,
        kommo_account_id: TEST_KOMMO_ACCOUNT_ID,
        amojo_account_id: bridge.accountId,
      },
    });
    expect(bridge.kommo.calls).toEqual([
      {
        method: 'connect',
        scopeId: bridge.scopeId,
        body: { account_id: bridge.accountId, title: 'My channel', hook_api_version: 'v2' },
        at: bridge.clock.now(),
      },
    ]);
    expect(bridge.kommo.isConnected(bridge.scopeId)).toBe(true);
    expect(await storedItems()).toEqual(expect.arrayContaining(bindingItems(TEST_KOMMO_ACCOUNT_ID, bridge.accountId)));
    expect(widget.status).toBe(202);
    expect(
      bridge.sink
        .eventsOfType('presence.changed')
        .map((event) => [event.data.scope_id, event.data.account_id, event.data.state]),
    ).toEqual([[bridge.scopeId, bridge.accountId, 'online']]);
  });

  it('connects the same pair again (Kommo requires it after every reinstallation)', async () => {
    await connect();

    const again = await connect({ title: 'Renamed' });

    expect(again.status).toBe(200);
    expect(bridge.kommo.calls.map((call) => [call.method, call.body])).toEqual([
      ['connect', { account_id: bridge.accountId, title: 'My channel', hook_api_version: 'v2' }],
      ['connect', { account_id: bridge.accountId, title: 'Renamed', hook_api_version: 'v2' }],
    ]);
    expect(await storedItems()).toEqual(bindingItems(TEST_KOMMO_ACCOUNT_ID, bridge.accountId));
  });

  it.each([
    ['the Kommo account to another amojo account', { amojo_account_id: OTHER_AMOJO_ID }],
    ['the amojo account to another Kommo account', { kommo_account_id: 31_000_002 }],
  ])('refuses to bind %s with 409 before calling Kommo', async (_, change) => {
    // Prepare
    await connect();
    const callsBefore = bridge.kommo.calls.length;

    // Act
    const response = await connect(change);

    // Assess
    expectContractError(response, 409, 'account_bound_elsewhere');
    expect(bridge.kommo.calls).toHaveLength(callsBefore);
    expect(await storedItems()).toEqual(bindingItems(TEST_KOMMO_ACCOUNT_ID, bridge.accountId));
  });

  it("answers 502 with Kommo's error type when Kommo refuses, and binds nothing", async () => {
    // Prepare
    bridge.kommo.respondWith((call) =>
      call.method === 'connect'
        ? { status: 403, body: kommoErrorBody(403, 'ORIGIN_INVALID_SIGNATURE', 'invalid signature') }
        : undefined,
    );

    // Act
    const response = await connect();

    // Assess
    expect(response.status).toBe(502);
    expect(response.body).toEqual({
      error: { code: 'kommo_call_failed', message: expect.stringContaining('403 ORIGIN_INVALID_SIGNATURE') },
    });
    expect(await storedItems()).toEqual([]);
    expectContractError(await heartbeat(), 403, 'account_not_connected');
  });

  it('answers 502 when Kommo cannot be reached, and binds nothing', async () => {
    bridge.kommo.setDown(true);

    const response = await connect();

    expect(response.status).toBe(502);
    expect(response.body.error).toMatchObject({
      code: 'kommo_call_failed',
      message: expect.stringContaining('network error'),
    });
    expect(await storedItems()).toEqual([]);
  });

  it.each([
    ['a kommo_account_id given as a string', { kommo_account_id: '31000001' }, 'kommo_account_id'],
    ['a kommo_account_id that is not whole', { kommo_account_id: 3.5 }, 'kommo_account_id'],
    ['a negative kommo_account_id', { kommo_account_id: -1 }, 'kommo_account_id'],
    ['no kommo_account_id', { kommo_account_id: undefined }, 'kommo_account_id'],
    ['no amojo_account_id', { amojo_account_id: undefined }, 'amojo_account_id'],
    ['an amojo_account_id with a slash', { amojo_account_id: '../other' }, 'amojo_account_id'],
    ['no title', { title: undefined }, 'title'],
    ['a blank title', { title: '   ' }, 'title'],
    ['an unknown field', { scope_id: 'x' }, 'scope_id'],
  ])('refuses %s with a 400 naming it, without calling Kommo or storing anything', async (_, change, named) => {
    const response = await connect(change);

    expectContractError(response, 400);
    expect(response.body.error.message).toContain(named);
    expect(bridge.kommo.calls).toEqual([]);
    expect(await storedItems()).toEqual([]);
  });

  it('refuses a body that is not JSON with a 400', async () => {
    const response = await adminRequest(bridge, '/admin/connect', undefined, { rawBody: '{"amojo_account_id":' });

    expectContractError(response, 400, 'invalid_json');
    expect(bridge.kommo.calls).toEqual([]);
  });
});

describe('concurrent connects and disconnects', () => {
  const otherAmojoId = (index: number) => `0d6a7c1e-5d0b-4c47-9d4f-${String(index).padStart(12, '0')}`;

  it.each([
    [
      'one Kommo account with ten amojo accounts',
      (index: number) => ({ kommo_account_id: TEST_KOMMO_ACCOUNT_ID, amojo_account_id: otherAmojoId(index) }),
    ],
    [
      'one amojo account with ten Kommo accounts',
      (index: number) => ({ kommo_account_id: 31_000_100 + index, amojo_account_id: bridge.accountId }),
    ],
    ['the same pair ten times', () => ({})],
  ])(
    '10 concurrent connects of %s: exactly one reaches Kommo and is bound, the nine others are 409',
    async (_, pair) => {
      // Prepare: the first connect to reach Kommo stays in progress until the nine others have their answers.
      const hold = holdFirstKommoAnswer('connect');
      const answered: TestResponse[] = [];
      const requests = Array.from({ length: 10 }, (__, index) =>
        connect(pair(index)).then((response) => {
          answered.push(response);
          if (answered.length === 9) hold.release();
          return response;
        }),
      );

      // Act
      const responses = await Promise.all(requests);

      // Assess
      const winners = responses.filter((response) => response.status === 200);
      expect(winners).toHaveLength(1);
      for (const loser of responses.filter((response) => response.status !== 200))
        expectContractError(loser, 409, 'account_change_in_progress');
      const {
        kommo_account_id: kommoAccountId,
        amojo_account_id: amojoAccountId,
        scope_id: scopeId,
      } = winners[0]!.body;
      expect(kommoCalls('connect').map((call) => call.body.account_id)).toEqual([amojoAccountId]);
      expect(await storedItems()).toEqual(bindingItems(kommoAccountId, amojoAccountId));
      expect((await heartbeat(kommoAccountId, scopeId)).status).toBe(202);
    },
  );

  it("a disconnect while the account's first connect is at Kommo is 409; the connect ends bound and connected", async () => {
    // Prepare
    const hold = holdFirstKommoAnswer('connect');
    const connecting = connect();
    await hold.held;

    // Act
    const byAmojo = await disconnect({ amojo_account_id: bridge.accountId });
    const byKommo = await disconnect({ kommo_account_id: TEST_KOMMO_ACCOUNT_ID });
    hold.release();
    const connected = await connecting;

    // Assess
    expectContractError(byAmojo, 409, 'account_change_in_progress');
    expectContractError(byKommo, 404, 'account_not_connected');
    expect(connected.status).toBe(200);
    expect(kommoCalls('disconnect')).toEqual([]);
    expect(bridge.kommo.isConnected(bridge.scopeId)).toBe(true);
    expect(await storedItems()).toEqual(bindingItems(TEST_KOMMO_ACCOUNT_ID, bridge.accountId));
  });

  it.each([
    ['kommo_account_id', () => ({ kommo_account_id: TEST_KOMMO_ACCOUNT_ID })],
    ['amojo_account_id', () => ({ amojo_account_id: bridge.accountId })],
  ])(
    'a disconnect by %s while a reconnect is at Kommo is 409; the reconnect ends bound and connected',
    async (_, body) => {
      // Prepare
      await connect();
      const hold = holdFirstKommoAnswer('connect');
      const reconnecting = connect({ title: 'Renamed' });
      await hold.held;

      // Act
      const response = await disconnect(body());
      hold.release();
      const reconnected = await reconnecting;

      // Assess
      expectContractError(response, 409, 'account_change_in_progress');
      expect(reconnected.status).toBe(200);
      expect(kommoCalls('disconnect')).toEqual([]);
      expect(bridge.kommo.isConnected(bridge.scopeId)).toBe(true);
      expect(await storedItems()).toEqual(bindingItems(TEST_KOMMO_ACCOUNT_ID, bridge.accountId));
    },
  );

  it('a reconnect while a disconnect is at Kommo is 409 and never reaches Kommo; the disconnect ends unbound and disconnected', async () => {
    // Prepare
    await connect();
    const hold = holdFirstKommoAnswer('disconnect');
    const disconnecting = disconnect({ kommo_account_id: TEST_KOMMO_ACCOUNT_ID });
    await hold.held;

    // Act
    const response = await connect();
    hold.release();
    const disconnected = await disconnecting;

    // Assess
    expectContractError(response, 409, 'account_change_in_progress');
    expect(disconnected.status).toBe(200);
    expect(kommoCalls('connect')).toHaveLength(1);
    expect(bridge.kommo.isConnected(bridge.scopeId)).toBe(false);
    expect(await storedItems()).toEqual([]);
    expectContractError(await heartbeat(), 403, 'account_not_connected');
  });

  it("a connect that died after claiming the accounts blocks them for 60 s of the bridge's clock, no longer", async () => {
    // Prepare: the claim a connect makes before calling Kommo, left behind as if its function had crashed.
    await bridge.deps.accountBindings.claimToConnect(
      { kommoAccountId: TEST_KOMMO_ACCOUNT_ID, amojoAccountId: bridge.accountId },
      { claimId: 'crashed', nowMs: bridge.clock.now() },
    );

    // Act
    const atOnce = await connect();
    bridge.clock.advanceBy(59_999);
    const justBefore = await connect();
    bridge.clock.advanceBy(1);
    const after = await connect();

    // Assess
    expectContractError(atOnce, 409, 'account_change_in_progress');
    expectContractError(justBefore, 409, 'account_change_in_progress');
    expect(after.status).toBe(200);
    expect(kommoCalls('connect')).toHaveLength(1);
    expect(await storedItems()).toEqual(bindingItems(TEST_KOMMO_ACCOUNT_ID, bridge.accountId));
  });

  it('a connect whose binding write fails gives its claim back: the retry right after connects', async () => {
    // Prepare
    const store = bridge.deps.accountBindings;
    const bindClaimed = store.bindClaimed.bind(store);
    store.bindClaimed = async () => {
      store.bindClaimed = bindClaimed;
      throw new Error('DynamoDB is unavailable');
    };

    // Act
    const failed = await connect();
    const retried = await connect();

    // Assess
    expectContractError(failed, 500);
    expect(retried.status).toBe(200);
    expect(kommoCalls('connect')).toHaveLength(2);
    expect(await storedItems()).toEqual(bindingItems(TEST_KOMMO_ACCOUNT_ID, bridge.accountId));
  });
});

describe('admin authentication', () => {
  const routes = [
    [
      'POST /admin/connect',
      () => ({ amojo_account_id: bridge.accountId, kommo_account_id: TEST_KOMMO_ACCOUNT_ID, title: 'My channel' }),
      '/admin/connect',
    ],
    ['POST /admin/disconnect', () => ({ amojo_account_id: bridge.accountId }), '/admin/disconnect'],
  ] as const;

  describe.each(routes)('%s', (_, body, path) => {
    it.each([
      ['no Authorization', null, 'missing_admin_token'],
      ['a wrong bearer token', 'Bearer not-the-admin-token-0123456789', 'invalid_admin_token'],
      ['the token without "Bearer"', 'ADMIN', 'invalid_admin_token'],
      ['the token as Basic credentials', 'Basic ADMIN', 'invalid_admin_token'],
    ])('refuses %s with 401: no Kommo call, nothing stored', async (__, authorization, code) => {
      const response = await adminRequest(bridge, path, body(), {
        authorization: authorization?.replace('ADMIN', bridge.config.ADMIN_TOKEN!) ?? null,
      });

      expectContractError(response, 401, code);
      expect(bridge.kommo.calls).toEqual([]);
      expect(await storedItems()).toEqual([]);
    });

    it('checks the token before the body: a bad body without the token is 401', async () => {
      const response = await adminRequest(bridge, path, undefined, { authorization: null, rawBody: 'not json' });

      expectContractError(response, 401, 'missing_admin_token');
    });
  });
});

describe('POST /admin/disconnect', () => {
  it.each([
    ['kommo_account_id', () => ({ kommo_account_id: TEST_KOMMO_ACCOUNT_ID })],
    ['amojo_account_id', () => ({ amojo_account_id: bridge.accountId })],
  ])('by %s: calls Kommo disconnect and removes the binding, so the widget gets 403', async (_, body) => {
    // Prepare
    await connect();
    expect((await heartbeat()).status).toBe(202);
    const itemsBefore = await storedItems();

    // Act
    const response = await disconnect(body());

    // Assess
    expect(response).toMatchObject({
      status: 200,
      body: { ok: true, amojo_account_id: bridge.accountId, kommo_account_id: TEST_KOMMO_ACCOUNT_ID },
    });
    expect(bridge.kommo.calls.at(-1)).toMatchObject({ method: 'disconnect', body: { account_id: bridge.accountId } });
    expect(bridge.kommo.isConnected(bridge.scopeId)).toBe(false);
    expect(await storedItems()).toEqual(
      itemsBefore.filter((item) => !bindingItems(TEST_KOMMO_ACCOUNT_ID, bridge.accountId).includes(item)),
    );
    expectContractError(await heartbeat(), 403, 'account_not_connected');
  });

  it('by amojo_account_id without a binding (connected with the operator command): calls Kommo disconnect', async () => {
    const response = await disconnect({ amojo_account_id: OTHER_AMOJO_ID });

    expect(response).toMatchObject({
      status: 200,
      body: { ok: true, amojo_account_id: OTHER_AMOJO_ID, kommo_account_id: null },
    });
    expect(bridge.kommo.calls).toMatchObject([{ method: 'disconnect', body: { account_id: OTHER_AMOJO_ID } }]);
  });

  it('by an unknown kommo_account_id: 404, and no Kommo call', async () => {
    const response = await disconnect({ kommo_account_id: 31_000_999 });

    expectContractError(response, 404, 'account_not_connected');
    expect(bridge.kommo.calls).toEqual([]);
  });

  it('when Kommo refuses: 502 with its error type, and the binding stays', async () => {
    // Prepare
    await connect();
    bridge.kommo.respondWith((call) =>
      call.method === 'disconnect'
        ? { status: 404, body: kommoErrorBody(404, 'ORIGIN_NOT_REGISTERED', 'not registered') }
        : undefined,
    );

    // Act
    const response = await disconnect({ kommo_account_id: TEST_KOMMO_ACCOUNT_ID });

    // Assess
    expect(response.status).toBe(502);
    expect(response.body.error.message).toContain('404 ORIGIN_NOT_REGISTERED');
    expect(await storedItems()).toEqual(bindingItems(TEST_KOMMO_ACCOUNT_ID, bridge.accountId));
    expect((await heartbeat()).status).toBe(202);
  });

  it.each([
    ['both ids', { kommo_account_id: TEST_KOMMO_ACCOUNT_ID, amojo_account_id: 'x' }],
    ['neither id', {}],
    ['a kommo_account_id given as a string', { kommo_account_id: String(TEST_KOMMO_ACCOUNT_ID) }],
  ])('refuses %s with a 400, without calling Kommo', async (_, body) => {
    await connect();
    const callsBefore = bridge.kommo.calls.length;

    const response = await disconnect(body);

    expectContractError(response, 400);
    expect(bridge.kommo.calls).toHaveLength(callsBefore);
    expect(await storedItems()).toEqual(bindingItems(TEST_KOMMO_ACCOUNT_ID, bridge.accountId));
  });
});

describe('a bridge without ADMIN_TOKEN', () => {
  it('answers the admin routes 503 naming the setting, while everything else works', async () => {
    const unconfigured = await givenBridge({ ADMIN_TOKEN: '' });
    try {
      const response = await adminRequest(
        unconfigured,
        '/admin/connect',
        { amojo_account_id: unconfigured.accountId, kommo_account_id: 1, title: 't' },
        { authorization: 'Bearer anything' },
      );
      const chat = await unconfigured.chat('GET', `/chat/${unconfigured.scopeId}/presence/u-7`);

      expect(response).toMatchObject({
        status: 503,
        body: {
          error: {
            code: 'not_configured',
            message: 'Configuration error: ADMIN_TOKEN is required for the /admin/... routes',
          },
        },
      });
      expect(unconfigured.kommo.calls).toEqual([]);
      expect(chat.status).toBe(200);
    } finally {
      await unconfigured.close();
    }
  });
});
