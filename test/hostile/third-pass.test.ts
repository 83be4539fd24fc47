import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { signKommoDisableHook } from '../../functions/core/domain/kommo-disable-hook';
import { MAX_WATCHES_PER_CONNECTION } from '../../functions/core/domain/live-channel';
import { INSTALL_EXCHANGE_LIMITS } from '../../functions/core/use-cases/kommo-installation';
import type { InProcessLiveClient } from '../../local/live-gateway';
import { givenLiveConnection, givenRegisteredChat, storedItems } from '../support/connected-bridge';
import { ProbeTally } from '../support/probe-tally';
import { NO_EFFECT, observe } from '../support/hostile';
import {
  adminRequest,
  givenBridge,
  givenConnectedAccount,
  TEST_CLIENT_ID,
  TEST_KOMMO_ACCOUNT_ID,
  TEST_KOMMO_SUBDOMAIN,
  widgetRequest,
  type TestBridge,
} from '../support/test-bridge';
import { expectContractError } from '../support/contract-errors';

/**
 * The third hostile pass (install, uninstall, widget, live channel, outbound answers): each probe
 * that once broke, now refused and leaving nothing behind. The tally of probes per surface is printed
 * at the end of the file.
 */

const tally = new ProbeTally();
afterAll(() => {
  console.log(tally.report('third hostile pass'));
});

let bridge: TestBridge;
beforeEach(async () => {
  bridge = await givenBridge();
});
afterEach(async () => {
  await bridge.close();
});

describe("Kommo's routes: a wrong method", () => {
  it.each(['/kommo/install', '/kommo/uninstall'])(
    'POST %s is 405 method_not_allowed (use GET), and does nothing',
    async (path) => {
      // Act
      const observed = await observe(bridge, () =>
        bridge.send('POST', path, { 'content-type': 'application/json' }, Buffer.from('{}')),
      );

      // Assess
      tally.count('kommo routes', observed.result.status === 405);
      expectContractError(observed.result, [405]);
      expect(observed.result.body.error).toEqual({
        code: 'method_not_allowed',
        message: 'POST is not allowed here; use GET',
      });
      expect(observed.effects).toEqual(NO_EFFECT);
    },
  );
});

describe("Kommo's error_description: kept short, and the update still settles", () => {
  const statusPath = (msgid: string) => `/chat/${bridge.scopeId}/messages/${msgid}/status`;

  it.each([
    ['300 KB (beyond the 64 KiB the bridge reads)', 300_000],
    ['50 KB (read, then cut to 500 characters)', 50_000],
  ])(
    'a first answer 503 with a %s error_description: retried once, Kommo gets -1, the record keeps ≤ 500 characters of it',
    async (_, size) => {
      // Prepare: Kommo's first answer to the status call is a 503 whose description is `size` characters.
      let answered = false;
      bridge.kommo.respondWith(() => {
        if (answered) return undefined;
        answered = true;
        return {
          status: 503,
          body: { error_code: 503, error_type: 'SERVICE_UNAVAILABLE', error_description: 'z'.repeat(size) },
        };
      });

      // Act
      const posted = await bridge.chat('POST', statusPath('m-big'), { status: 'error', error_code: 901 });
      await bridge.advance(60_000);

      // Assess
      tally.count('outbound answers', true);
      expect(posted.status).toBe(202);
      expect(bridge.kommo.deliveryStatusCalls().map((call) => call.body)).toEqual([
        { msgid: 'm-big', delivery_status: -1, error_code: 901 },
      ]);
      const record = await bridge.chat('GET', statusPath('m-big'));
      expect(record.body.kommo).toMatchObject({ delivered: true, attempts: 2 });
      expect(JSON.stringify(record.body).length).toBeLessThan(2_000);
      expect(bridge.bridge.deadLetters('kommo-status')).toEqual([]);
      const logged = JSON.stringify(bridge.log.lines);
      expect(logged).not.toContain('z'.repeat(501));
    },
  );
});

/** Kommo chat `n` of the test account, registered by the chat service as conversation `c-<n>` of client `u-<n>`. */
const kommoChat = (n: number) => `kchat-${n}`;
async function givenRegisteredChats(count: number): Promise<void> {
  for (let n = 0; n < count; n += 1)
    await givenRegisteredChat(bridge, {
      conversationId: `c-${n}`,
      kommoConversationId: kommoChat(n),
      clientId: `u-${n}`,
    });
}

/** A live-channel URL with a fresh ticket, as `POST /widget/live` answers it. */
async function liveUrl(): Promise<string> {
  const answer = await widgetRequest(bridge, 'POST', '/widget/live');
  expect(answer.status).toBe(200);
  return answer.body.url;
}

const watch = (client: InProcessLiveClient, n: number) =>
  client.sendFrame({ action: 'watch', kommo_conversation_id: kommoChat(n) });

/** The Kommo user's presence events the chat service received, as `state chat`. */
const kommoUserPresence = () =>
  bridge.sink
    .eventsOfType('presence.changed')
    .map((event) => `${event.data.state} ${event.data.kommo_conversation_id}`);

async function storedKinds(): Promise<string[]> {
  return (await storedItems(bridge)).map((item) => String(item.pk).split('#', 1)[0]!).sort();
}

const uninstallHook = () => {
  const accountId = String(TEST_KOMMO_ACCOUNT_ID);
  const signature = signKommoDisableHook(TEST_CLIENT_ID, accountId, bridge.secrets.kommoClientSecret);
  return bridge.send(
    'GET',
    `/kommo/uninstall?account_id=${accountId}&client_uuid=${TEST_CLIENT_ID}&signature=${signature}`,
    {},
    Buffer.alloc(0),
  );
};
const adminDisconnect = () => adminRequest(bridge, '/admin/disconnect', { kommo_account_id: TEST_KOMMO_ACCOUNT_ID });

describe('a disconnected account keeps no live channel', () => {
  beforeEach(async () => {
    await givenConnectedAccount(bridge);
    await givenRegisteredChats(2);
  });

  it.each([
    ['the signed uninstall hook', uninstallHook],
    ['POST /admin/disconnect', adminDisconnect],
  ])(
    'after %s: open sockets are closed with their watches ended, old tickets refused, and no event follows',
    async (_, disconnect) => {
      // Prepare: a socket watching chat 0 (the Kommo user online there), and a ticket not used yet.
      const socket = await givenLiveConnection(bridge);
      await watch(socket, 0);
      const unusedTicket = await liveUrl();
      await bridge.advance(1_000);
      expect(kommoUserPresence()).toEqual(['online kchat-0']);

      // Act
      const disconnected = await disconnect();
      await bridge.advance(1_000);
      const eventsAtDisconnect = bridge.sink.events.length;
      const late = await bridge.bridge.live.connectInProcess(unusedTicket);
      await socket.sendFrame({ action: 'watch', kommo_conversation_id: kommoChat(1) }).catch(() => undefined);
      await bridge.chat('POST', `/chat/${bridge.scopeId}/presence`, {
        client_id: 'u-0',
        state: 'online',
        ttl_seconds: 60,
      });
      await bridge.advance(5 * 60_000);

      // Assess
      tally.count('live channel after disconnect', late.status === 403);
      tally.count('live channel after disconnect', bridge.bridge.live.connectionIds.length === 0);
      expect(disconnected.status).toBe(200);
      // The socket was closed by the bridge; its watch ended with the user's presence there (the online's offline).
      expect(bridge.bridge.live.connectionIds).toEqual([]);
      expect(kommoUserPresence()).toEqual(['online kchat-0', 'offline kchat-0']);
      expect(late.status).toBe(403);
      expect(late.refusal).toMatchObject({ error: { code: 'account_not_connected' } });
      // Nothing after the disconnect: no event, no frame to the closed socket, no live item left.
      expect(bridge.sink.events.length).toBe(eventsAtDisconnect);
      expect(socket.frames.filter((frame) => frame.type === 'client.presence')).toHaveLength(1);
      expect((await storedKinds()).filter((kind) => kind.startsWith('LIVE_'))).toEqual([]);
    },
  );

  it('a socket whose account was disconnected without its close reaching it is refused and closed at its next frame', async () => {
    // Prepare: the binding goes, but the socket is not closed (as if the Management API's DELETE had failed).
    const socket = await givenLiveConnection(bridge);
    await bridge.deps.accountBindings.claimToDisconnect(
      { amojoAccountId: bridge.accountId, kommoAccountId: TEST_KOMMO_ACCOUNT_ID },
      { claimId: 'test-claim', nowMs: bridge.clock.now() },
    );
    expect(
      await bridge.deps.accountBindings.unbindClaimed(
        { amojoAccountId: bridge.accountId, kommoAccountId: TEST_KOMMO_ACCOUNT_ID },
        'test-claim',
      ),
    ).toBe(true);

    // Act
    await watch(socket, 0);
    await bridge.advance(1_000);

    // Assess
    tally.count('live channel after disconnect', true);
    expect(socket.frames).toEqual([expect.objectContaining({ type: 'error', code: 'account_not_connected' })]);
    expect(bridge.bridge.live.connectionIds).toEqual([]);
    expect(kommoUserPresence()).toEqual([]);
    expect((await storedKinds()).filter((kind) => kind.startsWith('LIVE_'))).toEqual([]);
  });
});

describe('live channel races', () => {
  beforeEach(async () => {
    await givenConnectedAccount(bridge);
  });

  it(`60 concurrent watch frames on one connection: exactly ${MAX_WATCHES_PER_CONNECTION} get in`, async () => {
    // Prepare
    await givenRegisteredChats(60);
    const socket = await givenLiveConnection(bridge);

    // Act
    await Promise.all(Array.from({ length: 60 }, (_, n) => watch(socket, n)));
    await bridge.advance(1_000);

    // Assess
    const refused = socket.frames.filter((frame) => frame.type === 'error');
    for (let n = 0; n < 60; n += 1) tally.count('live watch limit', n >= MAX_WATCHES_PER_CONNECTION);
    expect(socket.frames.filter((frame) => frame.type === 'client.presence')).toHaveLength(MAX_WATCHES_PER_CONNECTION);
    expect(refused).toHaveLength(60 - MAX_WATCHES_PER_CONNECTION);
    expect(new Set(refused.map((frame) => frame.type === 'error' && frame.code))).toEqual(
      new Set(['too_many_watches']),
    );
    expect((await storedKinds()).filter((kind) => kind === 'LIVE_WATCH')).toHaveLength(MAX_WATCHES_PER_CONNECTION);
    expect(kommoUserPresence()).toHaveLength(MAX_WATCHES_PER_CONNECTION);
  });

  it('unwatching gives the place back: a 21st chat gets in after one of 20 is unwatched', async () => {
    // Prepare
    await givenRegisteredChats(MAX_WATCHES_PER_CONNECTION + 1);
    const socket = await givenLiveConnection(bridge);
    for (let n = 0; n < MAX_WATCHES_PER_CONNECTION; n += 1) await watch(socket, n);
    await watch(socket, 0);

    // Act
    await socket.sendFrame({ action: 'unwatch', kommo_conversation_id: kommoChat(3) });
    await watch(socket, MAX_WATCHES_PER_CONNECTION);

    // Assess
    expect(socket.frames.filter((frame) => frame.type === 'error')).toEqual([]);
    expect((await storedKinds()).filter((kind) => kind === 'LIVE_WATCH')).toHaveLength(MAX_WATCHES_PER_CONNECTION);
  });

  it('a watch racing the close of its socket leaves nothing: every online has its offline, no watch is left (8 runs)', async () => {
    // Prepare
    await givenRegisteredChats(8);

    for (let run = 0; run < 8; run += 1) {
      const socket = await givenLiveConnection(bridge);

      // Act: the watch frame and the close at once.
      await Promise.all([watch(socket, run), socket.close()]);
      await bridge.advance(1_000);

      // Assess
      tally.count('live watch racing close', true);
      const events = kommoUserPresence().filter((event) => event.endsWith(` ${kommoChat(run)}`));
      expect(events.filter((event) => event.startsWith('online')).length, events.join()).toBe(
        events.filter((event) => event.startsWith('offline')).length,
      );
      expect((await storedKinds()).filter((kind) => kind.startsWith('LIVE_W') || kind === 'LIVE_CONNECTION')).toEqual(
        [],
      );
    }
  });
});

/** Kommo's redirect to the install URL, from the browser at `sourceIp`. */
async function install(query: string, sourceIp = '198.51.100.7') {
  const result = await bridge.bridge.invoke({
    method: 'GET',
    url: `/kommo/install?${query}`,
    headers: { accept: 'text/html' },
    body: Buffer.alloc(0),
    sourceIp,
  });
  return { status: result.statusCode, page: String(result.body), headers: result.headers ?? {} };
}
const tokenCalls = () =>
  bridge.kommo.calls.filter((call) => call.method === 'oauth_token').length +
  bridge.kommo.rejected.filter((refusal) => refusal.path.endsWith('/oauth2/access_token')).length;

describe('install: no secret to a host that is not an account, no exchange without limit', () => {
  it.each([
    'www.kommo.com',
    'help.kommo.com',
    'status.kommo.com',
    'api.kommo.com',
    'www.amocrm.ru',
    'developers.amocrm.com',
    'amojo.kommo.com',
    'id.amocrm.ru',
  ])('referer=%s (a Kommo service, no account): 400, no call, nothing stored', async (referer) => {
    // Act
    const observed = await observe(bridge, () => install(`code=def502abc&referer=${referer}&platform=2`));

    // Assess
    tally.count('install', observed.result.status === 400);
    expect(observed.result.status).toBe(400);
    expect(observed.result.page).toContain('Code: not_an_account');
    expect(observed.effects).toEqual(NO_EFFECT);
    expect(observed.newReplays).toBe(0);
  });

  it.each([
    [`${TEST_KOMMO_SUBDOMAIN}.kommo.com`, '1'],
    [`${TEST_KOMMO_SUBDOMAIN}.amocrm.com`, '1'],
    [`${TEST_KOMMO_SUBDOMAIN}.amocrm.ru`, '2'],
  ])(
    'referer=%s with platform=%s (contradicting the domain): 400, no call, nothing stored',
    async (referer, platform) => {
      // Act
      const observed = await observe(bridge, () =>
        install(
          `code=${bridge.kommo.issueAuthorizationCode(TEST_KOMMO_SUBDOMAIN)}&referer=${referer}&platform=${platform}`,
        ),
      );

      // Assess
      tally.count('install', observed.result.status === 400);
      expect(observed.result.status).toBe(400);
      expect(observed.result.page).toContain('Code: bad_platform');
      expect(observed.effects).toEqual(NO_EFFECT);
    },
  );

  it(`at most ${INSTALL_EXCHANGE_LIMITS.perAccountHost} exchanges per account host in ${INSTALL_EXCHANGE_LIMITS.windowMs / 60_000} minutes, whoever asks; the next window allows them again`, async () => {
    // Act: one more code than the limit, each from another address.
    const pages = [];
    for (let n = 0; n <= INSTALL_EXCHANGE_LIMITS.perAccountHost; n += 1) {
      pages.push(
        await install(`code=def502spray${n}&referer=${TEST_KOMMO_SUBDOMAIN}.kommo.com&platform=2`, `203.0.113.${n}`),
      );
    }
    const exchangesInWindow = tokenCalls();
    bridge.clock.advanceBy(INSTALL_EXCHANGE_LIMITS.windowMs);
    const nextWindow = await install(
      `code=${bridge.kommo.issueAuthorizationCode(TEST_KOMMO_SUBDOMAIN)}&referer=${TEST_KOMMO_SUBDOMAIN}.kommo.com&platform=2`,
    );

    // Assess
    for (const page of pages) tally.count('install', page.status === 429);
    expect(pages.map((page) => page.status)).toEqual([
      ...Array.from({ length: INSTALL_EXCHANGE_LIMITS.perAccountHost }, () => 400),
      429,
    ]);
    expect(pages.at(-1)!.page).toContain('Code: too_many_installs');
    expect(exchangesInWindow).toBe(INSTALL_EXCHANGE_LIMITS.perAccountHost);
    expect(nextWindow.status).toBe(200);
  });

  it(`at most ${INSTALL_EXCHANGE_LIMITS.perCaller} exchanges per caller, whatever account it names`, async () => {
    // Act
    const statuses = [];
    for (let n = 0; n <= INSTALL_EXCHANGE_LIMITS.perCaller; n += 1) {
      statuses.push(
        (await install(`code=def502caller${n}&referer=account-${n}.kommo.com&platform=2`, '192.0.2.9')).status,
      );
    }

    // Assess
    expect(statuses.filter((status) => status === 429)).toHaveLength(1);
    expect(statuses.at(-1)).toBe(429);
    expect(tokenCalls()).toBe(INSTALL_EXCHANGE_LIMITS.perCaller);
    tally.count('install', statuses.at(-1) === 429);
  });
});

describe('install and uninstall pages: fixed messages, nothing echoed, never cached', () => {
  const PHISH = 'Call +1-555-0100 to restore your account';

  it.each([
    ['the error parameter', () => `error=${encodeURIComponent(PHISH)}`],
    ['the referer', () => `code=def502&referer=${encodeURIComponent(PHISH)}&platform=2`],
    ['a state', () => `error=x&state=${encodeURIComponent(PHISH)}`],
  ])('%s: not on the page', async (_, query) => {
    // Act
    const answer = await install(query());

    // Assess
    tally.count('install pages', !answer.page.includes(PHISH));
    expect(answer.status).toBe(400);
    expect(answer.page).not.toContain('Call +1');
    expect(answer.headers['cache-control']).toBe('no-store');
  });

  it("Kommo's hint and detail (the remote host's text): in the log, cut short, never on the page", async () => {
    // Prepare
    bridge.kommo.respondWith((call) =>
      call.method === 'oauth_token'
        ? { status: 400, body: { title: 'Bad request', hint: `${PHISH} ${'!'.repeat(5_000)}`, detail: PHISH } }
        : undefined,
    );

    // Act
    const answer = await install(
      `code=${bridge.kommo.issueAuthorizationCode(TEST_KOMMO_SUBDOMAIN)}&referer=${TEST_KOMMO_SUBDOMAIN}.kommo.com&platform=2`,
    );

    // Assess
    tally.count('install pages', !answer.page.includes(PHISH));
    expect(answer.status).toBe(400);
    expect(answer.page).toContain('Code: code_refused');
    expect(answer.page).not.toContain('Call +1');
    const logged = JSON.stringify(bridge.log.lines);
    expect(logged).toContain(PHISH);
    expect(logged).not.toContain('!'.repeat(500));
  });

  it('the install address reloaded after an uninstall says "Not connected", not a stored "Connected"; every page no-store', async () => {
    // Prepare
    const query = `code=${bridge.kommo.issueAuthorizationCode(TEST_KOMMO_SUBDOMAIN)}&referer=${TEST_KOMMO_SUBDOMAIN}.kommo.com&platform=2`;
    const installed = await install(query);
    expect(installed.page).toContain('<h1>Connected</h1>');

    // Act
    const uninstalled = await uninstallHook();
    const reload = await install(query);

    // Assess
    tally.count('install pages', !reload.page.includes('<h1>Connected</h1>'));
    expect(uninstalled.status).toBe(200);
    expect(reload.status).toBe(200);
    expect(reload.page).toContain('<h1>Not connected</h1>');
    expect(reload.page).toContain('Code: no_longer_connected');
    for (const answer of [installed, reload]) expect(answer.headers['cache-control']).toBe('no-store');
    expect(uninstalled.headers['cache-control']).toBe('no-store');
  });

  it("the disable hook's answer when Kommo's disconnect fails: a fixed message, not Kommo's words", async () => {
    // Prepare
    await givenConnectedAccount(bridge);
    bridge.kommo.respondWith((call) =>
      call.method === 'disconnect'
        ? { status: 500, body: { error_code: 500, error_type: 'X', error_description: PHISH } }
        : undefined,
    );

    // Act
    const answer = await uninstallHook();

    // Assess
    tally.count('uninstall', !JSON.stringify(answer.body).includes(PHISH));
    expect(answer.status).toBe(502);
    expect(JSON.stringify(answer.body)).not.toContain('Call +1');
  });
});
