import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { documentClient, partitionKey } from '../../functions/core/adapters/dynamodb/table';
import type { LiveFrame } from '../../functions/core/domain/live-channel';
import { serveBridge, type RunningHttpServer } from '../../local/http-server';
import type { InProcessLiveClient } from '../../local/live-gateway';
import { givenConnectedBridge } from '../support/connected-bridge';
import { TEST_START } from '../support/manual-clock';
import {
  TEST_KOMMO_CHAT as KOMMO_CHAT,
  TEST_KOMMO_ORIGIN,
  TEST_KOMMO_USER_ID,
  TEST_USER_AMOJO_ID as USER_AMOJO_ID,
  typingHook,
  widgetRequest,
  widgetToken,
  type WidgetRequestOptions,
} from '../support/test-bridge';

/**
 * The widget's live channel: `POST /widget/live` hands out a URL with a single-use ticket; the
 * connection watches chats, hears their clients' presence transitions, and is the Kommo user's
 * presence in each chat it watches. Connections here are in process (the same `$connect`,
 * `$default` and `$disconnect` events API Gateway delivers, through the local gateway) except in the
 * last block, which goes over a real WebSocket on the HTTP server's port.
 */

const bridge = givenConnectedBridge();

const OTHER_KOMMO_CHAT = '6f1d2c83-61a4-4a52-9d0c-2f0f8b1f7e11';
const iso = (offsetMs: number) => new Date(TEST_START + offsetMs).toISOString();

const givenRegisteredChat = (kommoChat = KOMMO_CHAT, conversationId = 'c-1', clientId = 'u-7') =>
  bridge.registerChat({ conversationId, kommoConversationId: kommoChat, clientId });

const askForLive = (options: WidgetRequestOptions = {}) =>
  widgetRequest(bridge, 'POST', '/widget/live', undefined, options);

async function connect(url: string): Promise<InProcessLiveClient> {
  return bridge.bridge.live.connectInProcess(url);
}

/** Given: a widget connected to the live channel (a ticket asked for and used). */
const givenConnection = (options: WidgetRequestOptions = {}) => bridge.openLiveConnection(options);

/** Given: a connection watching a chat, its first frame taken. */
async function givenWatching(kommoChat = KOMMO_CHAT, options: WidgetRequestOptions = {}): Promise<InProcessLiveClient> {
  const client = await givenConnection(options);
  await client.sendFrame({ action: 'watch', kommo_conversation_id: kommoChat, user_amojo_id: USER_AMOJO_ID });
  expect(client.frames).toHaveLength(1);
  client.frames.length = 0;
  return client;
}

const clientPresence = (state: 'online' | 'offline', clientId = 'u-7', ttlSeconds = 60) =>
  bridge.chat('POST', `/chat/${bridge.scopeId}/presence`, {
    client_id: clientId,
    state,
    ...(state === 'online' ? { ttl_seconds: ttlSeconds } : {}),
  });

/** The Kommo user's presence events the chat service received: `[state, kommo chat, at]`. */
const kommoUserPresence = () =>
  bridge.sink
    .eventsOfType('presence.changed')
    .map((event) => [event.data.state, event.data.kommo_conversation_id, event.data.at]);

async function storedKeys(prefix: string): Promise<string[]> {
  return (await bridge.storedItems()).map((item) => `${item.pk} ${item.sk}`).filter((key) => key.startsWith(prefix));
}

async function watchersOf(clientId: string): Promise<string[]> {
  const { Items = [] } = await documentClient(bridge.dynamo).send(
    new QueryCommand({
      TableName: bridge.tableName,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': partitionKey('liveWatcher', bridge.scopeId, clientId) },
      ConsistentRead: true,
    }),
  );
  return Items.map((item) => String(item.connectionId));
}

describe('POST /widget/live', () => {
  it('answers 200 with the live channel URL carrying a ticket, valid for 60 s, readable by the Kommo page', async () => {
    // Act
    const answer = await askForLive();

    // Assess
    expect(answer.status).toBe(200);
    expect(Object.keys(answer.body).sort()).toEqual(['expires_at', 'ping_seconds', 'url']);
    expect(answer.body.ping_seconds).toBe(30);
    const url = new URL(answer.body.url);
    expect(`${url.protocol}//${url.host}${url.pathname}`).toBe('ws://localhost/live');
    expect(url.searchParams.get('ticket')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(answer.body.expires_at).toBe(iso(60_000));
    expect(answer.headers['access-control-allow-origin']).toBe(TEST_KOMMO_ORIGIN);
  });

  it('answers the CORS preflight of a Kommo account page', async () => {
    // Act
    const answer = await widgetRequest(bridge, 'OPTIONS', '/widget/live', undefined, {
      token: null,
      headers: { 'access-control-request-method': 'POST' },
    });

    // Assess
    expect(answer.status).toBe(204);
    expect(answer.headers).toMatchObject({
      'access-control-allow-origin': TEST_KOMMO_ORIGIN,
      'access-control-allow-methods': 'GET, POST',
    });
  });

  it("takes the page's token again (Kommo reuses it): each ask makes a ticket of its own", async () => {
    // Prepare
    const token = await widgetToken(bridge);
    const first = await askForLive({ token });

    // Act
    const again = await askForLive({ token });

    // Assess
    expect([first.status, again.status]).toEqual([200, 200]);
    expect(again.body.url).not.toBe(first.body.url);
    expect(await storedKeys('LIVE_TICKET#')).toHaveLength(2);
  });

  it('without a token: 401, and no ticket is made', async () => {
    // Act
    const answer = await askForLive({ token: null });

    // Assess
    expect(answer.status).toBe(401);
    expect(await storedKeys('LIVE_TICKET#')).toEqual([]);
  });
});

describe('connecting', () => {
  it('a ticket connects once: a second connect with the same URL is refused 401 invalid_ticket', async () => {
    // Prepare
    const { url } = (await askForLive()).body;
    const first = await connect(url);

    // Act
    const second = await connect(url);

    // Assess
    expect(first.status).toBe(200);
    expect(second.status).toBe(401);
    expect(second.refusal).toEqual({ error: { code: 'invalid_ticket', message: expect.any(String) } });
    expect(bridge.bridge.live.connectionIds).toEqual([first.connectionId]);
  });

  it('a ticket is valid for 60 s: at 59.999 s it connects, at 60 s it is refused', async () => {
    // Prepare
    const early = (await askForLive()).body.url;
    const late = (await askForLive()).body.url;

    // Act
    bridge.clock.advanceBy(59_999);
    const inTime = await connect(early);
    bridge.clock.advanceBy(1);
    const tooLate = await connect(late);

    // Assess
    expect(inTime.status).toBe(200);
    expect(tooLate.status).toBe(401);
    expect(tooLate.refusal).toMatchObject({ error: { code: 'invalid_ticket' } });
  });

  it.each([
    { case: 'no ticket', url: 'ws://localhost/live', code: 'ticket_required' },
    { case: 'an empty ticket', url: 'ws://localhost/live?ticket=', code: 'ticket_required' },
    {
      case: 'a made-up ticket',
      url: 'ws://localhost/live?ticket=bm90LWEtdGlja2V0LWF0LWFsbC1ub3QtZXZlci1ldmVyLWV2ZXI',
      code: 'invalid_ticket',
    },
  ])('with $case: refused 401 $code, and no connection is recorded', async ({ url, code }) => {
    // Act
    const client = await connect(url);

    // Assess
    expect(client.status).toBe(401);
    expect(client.refusal).toEqual({ error: { code, message: expect.any(String) } });
    expect(await storedKeys('LIVE_CONNECTION#')).toEqual([]);
  });
});

describe('watching a chat: client presence', () => {
  it('a watch answers at once with the chat’s client presence', async () => {
    // Prepare
    await givenRegisteredChat();
    expect((await clientPresence('online')).status).toBe(202);
    const client = await givenConnection();

    // Act
    await client.sendFrame({ action: 'watch', kommo_conversation_id: KOMMO_CHAT });

    // Assess
    expect(client.frames).toEqual([
      {
        type: 'client.presence',
        kommo_conversation_id: KOMMO_CHAT,
        conversation_id: 'c-1',
        client_id: 'u-7',
        online: true,
        last_seen_at: iso(0),
        expires_at: iso(60_000),
      },
    ]);
  });

  it('a client that was never seen: offline, with no times', async () => {
    // Prepare
    await givenRegisteredChat();
    const client = await givenConnection();

    // Act
    await client.sendFrame({ action: 'watch', kommo_conversation_id: KOMMO_CHAT });

    // Assess
    expect(client.frames).toEqual([
      {
        type: 'client.presence',
        kommo_conversation_id: KOMMO_CHAT,
        conversation_id: 'c-1',
        client_id: 'u-7',
        online: false,
        last_seen_at: null,
        expires_at: null,
      },
    ]);
  });

  it('each transition of the client reaches the connection watching its chat, and no other connection', async () => {
    // Prepare
    await givenRegisteredChat(KOMMO_CHAT, 'c-1', 'u-7');
    await givenRegisteredChat(OTHER_KOMMO_CHAT, 'c-2', 'u-8');
    const watching = await givenWatching(KOMMO_CHAT);
    const watchingOther = await givenWatching(OTHER_KOMMO_CHAT);

    // Act
    await clientPresence('online');
    bridge.clock.advanceBy(10_000);
    await clientPresence('online');
    bridge.clock.advanceBy(5_000);
    await clientPresence('offline');

    // Assess: the heartbeat that only extended the window pushed nothing.
    expect(watching.frames).toEqual([
      {
        type: 'client.presence',
        kommo_conversation_id: KOMMO_CHAT,
        conversation_id: 'c-1',
        client_id: 'u-7',
        online: true,
        last_seen_at: iso(0),
        expires_at: iso(60_000),
      },
      {
        type: 'client.presence',
        kommo_conversation_id: KOMMO_CHAT,
        conversation_id: 'c-1',
        client_id: 'u-7',
        online: false,
        last_seen_at: iso(15_000),
        expires_at: null,
      },
    ]);
    expect(watchingOther.frames).toEqual([]);
  });

  it('a window that ends by its timer is pushed as offline when the timer runs', async () => {
    // Prepare
    await givenRegisteredChat();
    const client = await givenWatching();
    await clientPresence('online', 'u-7', 10);

    // Act
    await bridge.advance(9_000);
    const beforeTheEnd = client.frames.length;
    await bridge.advance(2_000);

    // Assess
    expect(beforeTheEnd).toBe(1);
    expect(client.frames.at(-1)).toEqual({
      type: 'client.presence',
      kommo_conversation_id: KOMMO_CHAT,
      conversation_id: 'c-1',
      client_id: 'u-7',
      online: false,
      last_seen_at: iso(0),
      expires_at: null,
    });
    expect(client.frames).toHaveLength(2);
  });

  it('nothing is pushed for a client nobody watches', async () => {
    // Prepare
    await givenRegisteredChat();
    const client = await givenConnection();

    // Act
    await clientPresence('online');
    await clientPresence('offline');

    // Assess
    expect(client.frames).toEqual([]);
    expect(bridge.metrics.get('LiveFramePushed')).toBe(0);
  });

  it('after unwatch the connection hears nothing more of that chat', async () => {
    // Prepare
    await givenRegisteredChat();
    const client = await givenWatching();

    // Act
    await client.sendFrame({ action: 'unwatch', kommo_conversation_id: KOMMO_CHAT });
    await clientPresence('online');

    // Assess
    expect(client.frames).toEqual([]);
    expect(await watchersOf('u-7')).toEqual([]);
  });

  it('a chat the scope never saw: error frame unknown_conversation, and the connection stays open', async () => {
    // Prepare
    const client = await givenConnection();

    // Act
    await client.sendFrame({ action: 'watch', kommo_conversation_id: KOMMO_CHAT });
    await client.sendFrame({ action: 'ping' });

    // Assess
    expect(client.frames).toEqual([
      { type: 'error', code: 'unknown_conversation', message: expect.any(String) },
      { type: 'pong' },
    ]);
    expect(await storedKeys('LIVE_WATCH')).toEqual([]);
  });

  it('a chat a Kommo user started, not registered by the chat service yet: error frame conversation_not_registered', async () => {
    // Prepare: Kommo's id is known from a typing hook without the chat service's conversation id.
    expect((await bridge.kommoHook(typingHook(bridge, { conversationId: KOMMO_CHAT, clientId: null }))).status).toBe(
      200,
    );
    await bridge.advance(0);
    const client = await givenConnection();

    // Act
    await client.sendFrame({ action: 'watch', kommo_conversation_id: KOMMO_CHAT });

    // Assess
    expect(client.frames).toEqual([
      { type: 'error', code: 'conversation_not_registered', message: expect.any(String) },
    ]);
    expect(await storedKeys('LIVE_WATCH')).toEqual([]);
  });

  it('a connection watches at most 20 chats: the 21st is refused with too_many_watches, a repeated watch is not', async () => {
    // Prepare
    const chats = Array.from({ length: 21 }, (_, index) => `kommo-chat-${index}`);
    for (const [index, chat] of chats.entries()) await givenRegisteredChat(chat, `c-${index}`, `u-${index}`);
    const client = await givenConnection();
    for (const chat of chats.slice(0, 20)) await client.sendFrame({ action: 'watch', kommo_conversation_id: chat });
    client.frames.length = 0;

    // Act
    await client.sendFrame({ action: 'watch', kommo_conversation_id: chats[20] });
    await client.sendFrame({ action: 'watch', kommo_conversation_id: chats[0] });

    // Assess
    expect(client.frames).toEqual([
      { type: 'error', code: 'too_many_watches', message: expect.any(String) },
      expect.objectContaining({ type: 'client.presence', kommo_conversation_id: chats[0] }),
    ]);
    expect(await watchersOf('u-20')).toEqual([]);
  });
});

describe('a watch is the Kommo user in that chat', () => {
  it('the first watch: presence.changed online with both chat ids, the amojo id as user_id and the numeric id as kommo_user_id', async () => {
    // Prepare
    await givenRegisteredChat();
    const client = await givenConnection();

    // Act
    await client.sendFrame({ action: 'watch', kommo_conversation_id: KOMMO_CHAT, user_amojo_id: USER_AMOJO_ID });
    await bridge.advance(0);

    // Assess
    const events = bridge.sink.eventsOfType('presence.changed');
    expect(events.map((event) => event.data)).toEqual([
      {
        scope_id: bridge.scopeId,
        account_id: bridge.accountId,
        conversation_id: 'c-1',
        kommo_conversation_id: KOMMO_CHAT,
        user_id: USER_AMOJO_ID,
        kommo_user_id: TEST_KOMMO_USER_ID,
        state: 'online',
        at: iso(0),
      },
    ]);
  });

  it('unwatch: presence.changed offline reaches the chat service within 5 s', async () => {
    // Prepare
    await givenRegisteredChat();
    const client = await givenWatching();
    await bridge.advance(20_000);

    // Act
    await client.sendFrame({ action: 'unwatch', kommo_conversation_id: KOMMO_CHAT });
    await bridge.advance(5_000);

    // Assess
    expect(kommoUserPresence()).toEqual([
      ['online', KOMMO_CHAT, iso(0)],
      ['offline', KOMMO_CHAT, iso(20_000)],
    ]);
  });

  it('the socket closing: presence.changed offline within 5 s, and nothing of the connection is left', async () => {
    // Prepare
    await givenRegisteredChat();
    const client = await givenWatching();
    await bridge.advance(20_000);

    // Act
    await client.close();
    await bridge.advance(5_000);

    // Assess
    expect(kommoUserPresence()).toEqual([
      ['online', KOMMO_CHAT, iso(0)],
      ['offline', KOMMO_CHAT, iso(20_000)],
    ]);
    expect(await storedKeys('LIVE_')).toEqual([]);
  });

  it('a socket that goes silent without closing: offline at 90 s after its last frame, not before', async () => {
    // Prepare
    await givenRegisteredChat();
    const client = await givenWatching();
    await bridge.advance(30_000);
    await client.sendFrame({ action: 'ping' });

    // Act
    await bridge.advance(89_000);
    const beforeTheEnd = kommoUserPresence().length;
    await bridge.advance(3_000);

    // Assess
    expect(beforeTheEnd).toBe(1);
    expect(kommoUserPresence()).toEqual([
      ['online', KOMMO_CHAT, iso(0)],
      ['offline', KOMMO_CHAT, iso(120_000)],
    ]);
  });

  it('pings every 30 s keep the user in the chat: one online, no offline, for 10 minutes', async () => {
    // Prepare
    await givenRegisteredChat();
    const client = await givenWatching();

    // Act
    for (let ping = 0; ping < 20; ping += 1) {
      await bridge.advance(30_000);
      await client.sendFrame({ action: 'ping' });
    }
    await bridge.advance(0);

    // Assess
    expect(kommoUserPresence()).toEqual([['online', KOMMO_CHAT, iso(0)]]);
    expect(client.frames.filter((frame) => frame.type === 'pong')).toHaveLength(20);
  });

  it('two tabs of the same user on the chat: closing one keeps the user in it, closing the other ends it', async () => {
    // Prepare
    await givenRegisteredChat();
    const firstTab = await givenWatching();
    const secondTab = await givenWatching();
    await bridge.advance(10_000);

    // Act
    await firstTab.close();
    await bridge.advance(10_000);
    const afterFirst = kommoUserPresence();
    await secondTab.close();
    await bridge.advance(5_000);

    // Assess
    expect(afterFirst).toEqual([['online', KOMMO_CHAT, iso(0)]]);
    expect(kommoUserPresence()).toEqual([
      ['online', KOMMO_CHAT, iso(0)],
      ['offline', KOMMO_CHAT, iso(20_000)],
    ]);
  });
});

describe('frames', () => {
  it('a ping that asks for no pong gets none, and still keeps the user in the chat', async () => {
    // Prepare
    await givenRegisteredChat();
    const client = await givenWatching();

    // Act: pings every 30 s for 10 minutes, none asking for a pong.
    for (let ping = 0; ping < 20; ping += 1) {
      await bridge.advance(30_000);
      await client.sendFrame({ action: 'ping', pong: false });
    }
    await bridge.advance(0);

    // Assess
    expect(client.frames).toEqual([]);
    expect(kommoUserPresence()).toEqual([['online', KOMMO_CHAT, iso(0)]]);
  });

  it('ping: pong', async () => {
    // Prepare
    const client = await givenConnection();

    // Act
    await client.sendFrame({ action: 'ping' });

    // Assess
    expect(client.frames).toEqual([{ type: 'pong' }]);
  });

  it.each([
    { case: 'text that is not JSON', frame: 'watch please', code: 'invalid_json' },
    { case: 'a JSON array', frame: '[]', code: 'invalid_field' },
    { case: 'an unknown action', frame: { action: 'subscribe' }, code: 'invalid_field' },
    { case: 'no action', frame: { kommo_conversation_id: KOMMO_CHAT }, code: 'invalid_field' },
    { case: 'watch without its chat', frame: { action: 'watch' }, code: 'invalid_field' },
    {
      case: 'watch with an unknown field',
      frame: { action: 'watch', kommo_conversation_id: KOMMO_CHAT, room: 'x' },
      code: 'invalid_field',
    },
    {
      case: 'watch with a chat id of 129 characters',
      frame: { action: 'watch', kommo_conversation_id: 'k'.repeat(129) },
      code: 'invalid_field',
    },
    {
      case: 'unwatch with a number for the chat',
      frame: { action: 'unwatch', kommo_conversation_id: 7 },
      code: 'invalid_field',
    },
    {
      case: 'ping with a pong that is not true or false',
      frame: { action: 'ping', pong: 'no' },
      code: 'invalid_field',
    },
    {
      case: 'a frame over 64 KiB',
      frame: JSON.stringify({ action: 'ping', pad: 'x'.repeat(70_000) }),
      code: 'frame_too_large',
    },
  ])('$case: error frame $code, nothing watched, and the connection stays open', async ({ frame, code }) => {
    // Prepare
    await givenRegisteredChat();
    const client = await givenConnection();

    // Act
    await client.sendFrame(frame);
    await client.sendFrame({ action: 'ping' });

    // Assess
    expect(client.frames).toEqual([{ type: 'error', code, message: expect.any(String) }, { type: 'pong' }]);
    expect(await storedKeys('LIVE_WATCH')).toEqual([]);
    expect(bridge.sink.eventsOfType('presence.changed')).toEqual([]);
  });
});

describe('API Gateway’s 2-hour limit', () => {
  it('a connection past 2 hours is closed at its next frame, with $disconnect, as API Gateway closes it', async () => {
    // Prepare
    await givenRegisteredChat();
    const client = await givenWatching();
    bridge.clock.advanceBy(2 * 60 * 60 * 1000);

    // Act
    await client.sendFrame({ action: 'ping' });
    await bridge.advance(0);

    // Assess
    expect(client.frames).toEqual([]);
    expect(bridge.bridge.live.connectionIds).toEqual([]);
    expect(await storedKeys('LIVE_')).toEqual([]);
  });
});

describe('a connection that is gone', () => {
  it('a push that finds it gone (410) removes its watcher; the other watchers still get the frame', async () => {
    // Prepare
    await givenRegisteredChat();
    const vanished = await givenWatching();
    const alive = await givenWatching();
    vanished.vanish();

    // Act
    await clientPresence('online');
    const afterFirst = await watchersOf('u-7');
    await clientPresence('offline');

    // Assess
    expect(afterFirst).toEqual([alive.connectionId]);
    expect(bridge.metrics.get('LiveConnectionGone')).toBe(1);
    expect(vanished.frames).toEqual([]);
    expect(alive.frames.map((frame) => (frame as { online: boolean }).online)).toEqual([true, false]);
  });
});

describe('over a real WebSocket, on the HTTP server’s port', () => {
  let server: RunningHttpServer;
  beforeEach(async () => {
    server = await serveBridge(bridge.bridge, { port: 0 });
  });
  afterEach(async () => {
    await server.close();
  });

  /** Frames in arrival order; `next()` waits for the next one (no timer: the test's own timeout bounds it). */
  function framesOf(socket: WebSocket) {
    const received: LiveFrame[] = [];
    const waiting: ((frame: LiveFrame) => void)[] = [];
    socket.on('message', (data) => {
      const frame = JSON.parse(String(data)) as LiveFrame;
      const waiter = waiting.shift();
      if (waiter) waiter(frame);
      else received.push(frame);
    });
    return {
      next: () =>
        received.length > 0
          ? Promise.resolve(received.shift()!)
          : new Promise<LiveFrame>((resolve) => waiting.push(resolve)),
    };
  }

  const opened = (socket: WebSocket) =>
    new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
    });

  it('asks for the URL over HTTP, connects to it, watches, hears a transition, pings, and its close ends the Kommo user’s presence', async () => {
    // Prepare
    await givenRegisteredChat();
    const token = await widgetToken(bridge);
    const answer = await fetch(`${server.url}/widget/live`, {
      method: 'POST',
      headers: { origin: TEST_KOMMO_ORIGIN, 'x-auth-token': token },
    });
    const { url } = (await answer.json()) as { url: string };
    expect(url.startsWith(`${server.url.replace('http', 'ws')}/live?ticket=`)).toBe(true);

    // Act
    const socket = new WebSocket(url, { origin: TEST_KOMMO_ORIGIN });
    const frames = framesOf(socket);
    await opened(socket);
    socket.send(JSON.stringify({ action: 'watch', kommo_conversation_id: KOMMO_CHAT, user_amojo_id: USER_AMOJO_ID }));
    const first = await frames.next();
    await clientPresence('online');
    const pushed = await frames.next();
    socket.send(JSON.stringify({ action: 'ping' }));
    const pong = await frames.next();
    bridge.clock.advanceBy(1_000);
    const [connectionId] = bridge.bridge.live.connectionIds;
    socket.close();
    await bridge.bridge.live.disconnected(connectionId!);
    await bridge.advance(5_000);

    // Assess
    expect(first).toMatchObject({ type: 'client.presence', kommo_conversation_id: KOMMO_CHAT, online: false });
    expect(pushed).toMatchObject({
      type: 'client.presence',
      kommo_conversation_id: KOMMO_CHAT,
      online: true,
      expires_at: iso(60_000),
    });
    expect(pong).toEqual({ type: 'pong' });
    expect(kommoUserPresence()).toEqual([
      ['online', KOMMO_CHAT, iso(0)],
      ['offline', KOMMO_CHAT, iso(1_000)],
    ]);
  });

  it('a handshake without a ticket is refused with 401 before any socket opens', async () => {
    // Act
    const socket = new WebSocket(`${server.url.replace('http', 'ws')}/live`);
    const status = await new Promise<number>((resolve) =>
      socket.once('unexpected-response', (_request, response) => resolve(response.statusCode ?? 0)),
    );

    // Assess
    expect(status).toBe(401);
    expect(bridge.bridge.live.connectionIds).toEqual([]);
  });

  it('a handshake on another path is refused with 404', async () => {
    // Act
    const socket = new WebSocket(`${server.url.replace('http', 'ws')}/elsewhere?ticket=x`);
    const status = await new Promise<number>((resolve) =>
      socket.once('unexpected-response', (_request, response) => resolve(response.statusCode ?? 0)),
    );

    // Assess
    expect(status).toBe(404);
  });
});

describe('a deployment that chose a 60-s ping and a 150-s window (KOMMO_USER_PING_SECONDS, KOMMO_USER_WINDOW_SECONDS)', () => {
  const slow = givenConnectedBridge({
    settings: { KOMMO_USER_PING_SECONDS: '60', KOMMO_USER_WINDOW_SECONDS: '150' },
    chats: [{ conversationId: 'c-1', kommoConversationId: KOMMO_CHAT, clientId: 'u-7' }],
  });

  const presenceOf = () =>
    slow.sink.eventsOfType('presence.changed').map((event) => [event.data.state, event.data.at] as [string, string]);

  async function watching(): Promise<{ client: InProcessLiveClient; pingSeconds: number }> {
    const answer = await widgetRequest(slow, 'POST', '/widget/live');
    expect(answer.status).toBe(200);
    const client = await slow.bridge.live.connectInProcess(answer.body.url);
    await client.sendFrame({ action: 'watch', kommo_conversation_id: KOMMO_CHAT });
    return { client, pingSeconds: answer.body.ping_seconds };
  }

  it('the live ticket tells the widget to ping every 60 s; pings every 60 s keep the user in the chat for 20 minutes', async () => {
    // Act
    const { client, pingSeconds } = await watching();
    for (let ping = 0; ping < 20; ping += 1) {
      await slow.advance(pingSeconds * 1000);
      await client.sendFrame({ action: 'ping', pong: false });
    }
    await slow.advance(0);

    // Assess
    expect(pingSeconds).toBe(60);
    expect(presenceOf()).toEqual([['online', iso(0)]]);
  });

  it.each([
    { pingsAtSeconds: [] },
    { pingsAtSeconds: [60] },
    { pingsAtSeconds: [60, 120] },
    { pingsAtSeconds: [74] },
    { pingsAtSeconds: [76] },
  ])(
    'a socket that goes silent after pings at $pingsAtSeconds s: offline 150 s after its last frame',
    async ({ pingsAtSeconds }) => {
      // Prepare
      const { client } = await watching();
      let atSeconds = 0;
      for (const pingAt of pingsAtSeconds) {
        await slow.advance((pingAt - atSeconds) * 1000);
        atSeconds = pingAt;
        await client.sendFrame({ action: 'ping', pong: false });
      }

      // Act
      await slow.advance(75_000 - 1);
      const atHalf = presenceOf();
      await slow.advance(75_000 + 1);

      // Assess
      expect(atHalf).toEqual([['online', iso(0)]]);
      const changes = presenceOf();
      expect(changes).toHaveLength(2);
      expect(changes[1]![0]).toBe('offline');
      const offlineAtMs = Date.parse(changes[1]![1]) - TEST_START;
      expect(offlineAtMs).toBe((atSeconds + 150) * 1000);
    },
  );
});
