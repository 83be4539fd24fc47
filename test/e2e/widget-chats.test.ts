import { describe, expect, it } from 'vitest';
import { givenConnectedBridge } from '../support/connected-bridge';
import { TEST_START } from '../support/manual-clock';
import {
  adminRequest,
  TEST_KOMMO_CHAT as KOMMO_CHAT,
  TEST_KOMMO_ORIGIN,
  TEST_USER_AMOJO_ID as USER_AMOJO_ID,
  typingHook,
  widgetRequest,
  widgetToken,
  type WidgetRequestOptions,
} from '../support/test-bridge';
import { expectContractError } from '../support/contract-errors';

/**
 * The widget's v2 routes, which name a chat by Kommo's id (the only id the Kommo page shows): the
 * bridge finds the chat service's ids in its conversation directory.
 */

const bridge = givenConnectedBridge();

const iso = (offsetMs: number) => new Date(TEST_START + offsetMs).toISOString();

const chat = (kommoChat = KOMMO_CHAT, options: WidgetRequestOptions = {}) =>
  widgetRequest(bridge, 'GET', `/widget/chats/${encodeURIComponent(kommoChat)}`, undefined, options);
const presence = (body: unknown, kommoChat = KOMMO_CHAT, options: WidgetRequestOptions = {}) =>
  widgetRequest(bridge, 'POST', `/widget/chats/${encodeURIComponent(kommoChat)}/presence`, body, options);
const read = (body: unknown, kommoChat = KOMMO_CHAT, options: WidgetRequestOptions = {}) =>
  widgetRequest(bridge, 'POST', `/widget/chats/${encodeURIComponent(kommoChat)}/read`, body, options);

const givenRegisteredChat = (conversationId = 'c-1', clientId = 'u-7', kommoChat = KOMMO_CHAT) =>
  bridge.registerChat({ conversationId, kommoConversationId: kommoChat, clientId });

/** A chat a Kommo user started: the bridge knows Kommo's id from a typing hook, not the chat service's. */
async function givenWriteFirstChat(): Promise<void> {
  expect((await bridge.kommoHook(typingHook(bridge, { conversationId: KOMMO_CHAT, clientId: null }))).status).toBe(200);
  // Past the typing's end, so its timer is spent and its events are in.
  await bridge.advance(30_000);
  bridge.sink.events.length = 0;
}

/** Keys of the items a widget request may have changed: everything but bindings, used tokens, the directory and replay records. */
async function changedItems(): Promise<string[]> {
  return (await bridge.storedItems())
    .map((item) => `${item.pk} ${item.sk}`)
    .filter((key) => !/^(ACCOUNT|AMOJO_ACCOUNT|WIDGET_TOKEN|CHAT|WEBHOOK|MTYPING)#/.test(key));
}

async function expectNothingChanged(): Promise<void> {
  await bridge.advance(0);
  expect(bridge.sink.events).toEqual([]);
  expect(bridge.bridge.queues.timers.depth).toBe(0);
  expect(await changedItems()).toEqual([]);
}

describe('GET /widget/chats/{kommo_conversation_id}', () => {
  it("answers the chat service's ids and the client's presence", async () => {
    // Prepare
    await givenRegisteredChat('c-1', 'u-7');
    await bridge.chat('POST', `/chat/${bridge.scopeId}/presence`, {
      client_id: 'u-7',
      state: 'online',
      ttl_seconds: 30,
    });
    await bridge.advance(5_000);

    // Act
    const response = await chat();

    // Assess
    expect(response.status).toBe(200);
    expect(response.body).toEqual({
      kommo_conversation_id: KOMMO_CHAT,
      conversation_id: 'c-1',
      client_id: 'u-7',
      client_presence: { online: true, last_seen_at: iso(0), expires_at: iso(30_000) },
    });
  });

  it('a chat whose client is not known yet has client_presence null', async () => {
    await givenWriteFirstChat();

    const response = await chat();

    expect(response).toMatchObject({
      status: 200,
      body: { kommo_conversation_id: KOMMO_CHAT, conversation_id: null, client_id: null, client_presence: null },
    });
  });

  it("a chat the account's scope never saw is 404 unknown_conversation", async () => {
    const response = await chat('never-seen');

    expectContractError(response, 404, 'unknown_conversation');
  });

  it("another account's chat is 404 for this account, and its own chat is found", async () => {
    // Prepare: a second Kommo account on its own scope, with a chat of its own.
    const otherAmojoAccount = '7d1f3b2a-5c4e-4f60-9a8b-1c2d3e4f5a6b';
    const otherScope = `${bridge.channelId}_${otherAmojoAccount}`;
    expect(
      (
        await adminRequest(bridge, '/admin/connect', {
          amojo_account_id: otherAmojoAccount,
          kommo_account_id: 31_000_002,
          title: 'Other',
        })
      ).status,
    ).toBe(200);
    expect(
      (
        await bridge.chat('PUT', `/chat/${otherScope}/conversations/c-other`, {
          kommo_conversation_id: 'other-kommo-chat',
          client_id: 'u-other',
        })
      ).status,
    ).toBe(200);
    await givenRegisteredChat('c-1', 'u-7');

    // Act
    const othersChatFromHere = await chat('other-kommo-chat');
    const thisChatFromThere = await chat(KOMMO_CHAT, { kommoAccountId: 31_000_002 });
    const ownChatThere = await chat('other-kommo-chat', { kommoAccountId: 31_000_002 });

    // Assess
    expectContractError(othersChatFromHere, 404, 'unknown_conversation');
    expectContractError(thisChatFromThere, 404, 'unknown_conversation');
    expect(ownChatThere).toMatchObject({ status: 200, body: { conversation_id: 'c-other', client_id: 'u-other' } });
  });

  it('refuses a Kommo chat id over 128 characters with a 400 naming it', async () => {
    const response = await chat('k'.repeat(129));

    expectContractError(response, 400, 'invalid_field');
    expect(response.body.error.message).toContain('kommo_conversation_id');
  });
});

describe('POST /widget/chats/{kommo_conversation_id}/presence', () => {
  it("a heartbeat with the user's amojo id: 202 with the client's presence, and presence.changed carries both user ids and both chat ids", async () => {
    // Prepare
    await givenRegisteredChat('c-1', 'u-7');
    await bridge.chat('POST', `/chat/${bridge.scopeId}/presence`, {
      client_id: 'u-7',
      state: 'online',
      ttl_seconds: 60,
    });

    // Act
    const response = await presence({ state: 'online', user_amojo_id: USER_AMOJO_ID });
    await bridge.advance(0);

    // Assess
    expect(response).toMatchObject({
      status: 202,
      body: { ok: true, client_presence: { online: true, last_seen_at: iso(0), expires_at: iso(60_000) } },
    });
    expect(bridge.sink.eventsOfType('presence.changed').map((event) => event.data)).toEqual([
      {
        scope_id: bridge.scopeId,
        account_id: bridge.accountId,
        conversation_id: 'c-1',
        kommo_conversation_id: KOMMO_CHAT,
        user_id: USER_AMOJO_ID,
        kommo_user_id: 7001,
        state: 'online',
        at: iso(0),
      },
    ]);
  });

  it("without user_amojo_id the events carry user_id null and the token's numeric id", async () => {
    await givenRegisteredChat();

    await presence({ state: 'online' });
    await bridge.advance(0);

    expect(bridge.sink.eventsOfType('presence.changed')[0]!.data).toMatchObject({
      user_id: null,
      kommo_user_id: 7001,
      kommo_conversation_id: KOMMO_CHAT,
    });
  });

  it("v1 semantics: heartbeats keep one window; the offline, explicit or after 90 s of silence, repeats the window's ids", async () => {
    // Prepare
    await givenRegisteredChat();

    // Act
    await presence({ state: 'online', user_amojo_id: USER_AMOJO_ID });
    await bridge.advance(30_000);
    await presence({ state: 'online', user_amojo_id: USER_AMOJO_ID });
    await bridge.advance(30_000);
    const left = await presence({ state: 'offline', user_amojo_id: USER_AMOJO_ID });
    await presence({ state: 'online' });
    await bridge.advance(200_000);

    // Assess
    expect(left.status).toBe(202);
    expect(
      bridge.sink
        .eventsOfType('presence.changed')
        .map((event) => [event.data.state, event.data.user_id, event.data.kommo_conversation_id, event.data.at]),
    ).toEqual([
      ['online', USER_AMOJO_ID, KOMMO_CHAT, iso(0)],
      ['offline', USER_AMOJO_ID, KOMMO_CHAT, iso(60_000)],
      ['online', null, KOMMO_CHAT, iso(60_000)],
      ['offline', null, KOMMO_CHAT, iso(150_000)],
    ]);
  });

  it('answers client_presence null for a chat whose client is not known, and offline for a client never seen', async () => {
    // Prepare: a typing hook teaches the conversation, not its client.
    await bridge.kommoHook(typingHook(bridge, { conversationId: KOMMO_CHAT, clientId: 'c-1' }));
    await bridge.advance(0);
    const clientUnknown = await presence({ state: 'online' });
    await givenRegisteredChat('c-1', 'u-7');

    // Act
    const clientKnown = await presence({ state: 'online' });

    // Assess
    expect(clientUnknown).toMatchObject({ status: 202, body: { ok: true, client_presence: null } });
    expect(clientKnown).toMatchObject({
      status: 202,
      body: { ok: true, client_presence: { online: false, last_seen_at: null, expires_at: null } },
    });
  });

  it('an unknown chat is 404 unknown_conversation, and nothing is emitted or stored', async () => {
    const response = await presence({ state: 'online', user_amojo_id: USER_AMOJO_ID }, 'never-seen');

    expectContractError(response, 404, 'unknown_conversation');
    await expectNothingChanged();
  });

  it('a chat Kommo started, not registered by the chat service yet, is 409 conversation_not_registered, and nothing is emitted', async () => {
    await givenWriteFirstChat();

    const response = await presence({ state: 'online' });

    expectContractError(response, 409, 'conversation_not_registered');
    expect(response.body.error.message).toContain('PUT /chat/{scope_id}/conversations/{conversation_id}');
    await expectNothingChanged();
  });

  it.each([
    ['an unknown state', { state: 'away' }, 'state'],
    ['no state', {}, 'state'],
    ['an empty user_amojo_id', { state: 'online', user_amojo_id: '' }, 'user_amojo_id'],
    ['a user_amojo_id over 128 characters', { state: 'online', user_amojo_id: 'u'.repeat(129) }, 'user_amojo_id'],
    ['a user_amojo_id that is a number', { state: 'online', user_amojo_id: 42 }, 'user_amojo_id'],
    ['a user_amojo_id with a lone surrogate', { state: 'online', user_amojo_id: 'u-\udc00' }, 'user_amojo_id'],
    [
      'a conversation_id (the chat is named by the path)',
      { state: 'online', conversation_id: 'c-1' },
      'conversation_id',
    ],
    ['an array', [{ state: 'online' }], 'object'],
  ])('refuses %s with a 400 naming it, and nothing is emitted or stored', async (_, body, named) => {
    await givenRegisteredChat();

    const response = await presence(body);

    expectContractError(response, 400, 'invalid_field');
    expect(response.body.error.message).toContain(named);
    await expectNothingChanged();
  });

  it('refuses a body that is not JSON with 400 invalid_json', async () => {
    await givenRegisteredChat();

    const response = await presence(undefined, KOMMO_CHAT, {
      rawBody: '{"state":',
      headers: { 'content-type': 'application/json' },
    });

    expectContractError(response, 400, 'invalid_json');
    await expectNothingChanged();
  });
});

describe('POST /widget/chats/{kommo_conversation_id}/read', () => {
  it("emits conversation.read for the chat service's conversation, with both user ids and both chat ids", async () => {
    // Prepare
    await givenRegisteredChat('c-1');
    bridge.clock.advanceBy(42_000);

    // Act
    const response = await read({ user_amojo_id: USER_AMOJO_ID });
    await bridge.advance(0);

    // Assess
    expect(response).toMatchObject({ status: 202, body: { ok: true } });
    expect(bridge.sink.eventsOfType('conversation.read').map((event) => event.data)).toEqual([
      {
        scope_id: bridge.scopeId,
        account_id: bridge.accountId,
        conversation_id: 'c-1',
        kommo_conversation_id: KOMMO_CHAT,
        user_id: USER_AMOJO_ID,
        kommo_user_id: 7001,
        read_at: iso(42_000),
      },
    ]);
  });

  it.each([
    ['no body', undefined],
    ['an empty object', {}],
  ])("with %s: user_id null and the token's numeric id", async (_, body) => {
    await givenRegisteredChat('c-1');

    const response = await read(body);
    await bridge.advance(0);

    expect(response.status).toBe(202);
    expect(bridge.sink.eventsOfType('conversation.read')[0]!.data).toMatchObject({
      conversation_id: 'c-1',
      user_id: null,
      kommo_user_id: 7001,
    });
  });

  it('an unknown chat is 404 unknown_conversation, and nothing is emitted', async () => {
    const response = await read({ user_amojo_id: USER_AMOJO_ID }, 'never-seen');

    expectContractError(response, 404, 'unknown_conversation');
    await expectNothingChanged();
  });

  it('a chat Kommo started, not registered by the chat service yet, is 409 conversation_not_registered, and nothing is emitted', async () => {
    await givenWriteFirstChat();

    const response = await read({});

    expectContractError(response, 409, 'conversation_not_registered');
    await expectNothingChanged();
  });

  it.each([
    ['a user_amojo_id that is ".."', { user_amojo_id: '..' }, 'user_amojo_id'],
    ['a user_amojo_id that is null', { user_amojo_id: null }, 'user_amojo_id'],
    ['an unknown field', { read_at: '2026-11-21T10:00:00Z' }, 'read_at'],
  ])('refuses %s with a 400 naming it, and nothing is emitted', async (_, body, named) => {
    await givenRegisteredChat();

    const response = await read(body);

    expectContractError(response, 400, 'invalid_field');
    expect(response.body.error.message).toContain(named);
    await expectNothingChanged();
  });
});

describe('v2 routes: authentication and CORS as in v1', () => {
  const routes = [
    ['GET /widget/chats/{kommo_conversation_id}', (options: WidgetRequestOptions) => chat(KOMMO_CHAT, options)],
    [
      'POST /widget/chats/{kommo_conversation_id}/presence',
      (options: WidgetRequestOptions) => presence({ state: 'online' }, KOMMO_CHAT, options),
    ],
    [
      'POST /widget/chats/{kommo_conversation_id}/read',
      (options: WidgetRequestOptions) => read({}, KOMMO_CHAT, options),
    ],
  ] as const;

  it.each(routes)(
    '%s: no token is 401 and nothing is emitted; a token used before is served again (Kommo reuses it)',
    async (_, call) => {
      // Prepare
      await givenRegisteredChat();
      const token = await widgetToken(bridge);
      expect((await chat(KOMMO_CHAT, { token })).status).toBe(200);

      // Act
      const missing = await call({ token: null });
      await expectNothingChanged();
      const reused = await call({ token });

      // Assess
      expectContractError(missing, 401, 'missing_token');
      expect(reused.status, JSON.stringify(reused.body)).toBeLessThan(300);
    },
  );

  it.each(routes)('%s: an account no one connected is 403', async (_, call) => {
    const response = await call({ kommoAccountId: 31_000_999 });

    expectContractError(response, 403, 'account_not_connected');
  });

  it.each(routes)('%s: echoes the Kommo account origin, on errors too', async (_, call) => {
    const response = await call({});

    expect(response.headers['access-control-allow-origin']).toBe(TEST_KOMMO_ORIGIN);
  });

  it.each([`/widget/chats/${KOMMO_CHAT}`, `/widget/chats/${KOMMO_CHAT}/presence`, `/widget/chats/${KOMMO_CHAT}/read`])(
    'answers the preflight of %s without a token',
    async (path) => {
      const response = await widgetRequest(bridge, 'OPTIONS', path, undefined, {
        token: null,
        headers: { 'access-control-request-method': 'POST' },
      });

      expect(response.status).toBe(204);
      expect(response.headers['access-control-allow-origin']).toBe(TEST_KOMMO_ORIGIN);
      expect(response.headers['access-control-allow-methods']).toBe('GET, POST');
    },
  );

  it('a wrong method is 405', async () => {
    const response = await widgetRequest(bridge, 'POST', `/widget/chats/${KOMMO_CHAT}`, {});

    expectContractError(response, 405, 'method_not_allowed');
  });
});
