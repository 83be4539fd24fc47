import type { Browser } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  CLIENT_ID,
  BROWSER_TEST_LIMITS,
  CONTACT_ID,
  CONVERSATION_ID,
  givenKommoPage,
  KOMMO_CHAT_ID,
  launchBrowser,
  LEAD_ID,
  OTHER_CHANNEL_CHAT_ID,
  OTHER_CONTACT_ID,
  OTHER_LEAD_CHAT_ID,
  SOON,
  KOMMO_TALK_ID,
  USER_AMOJO_ID,
  type KommoPage,
} from '../support/kommo-browser';
import { DynamoFaults } from '../support/hostile';
import { givenBridge, TEST_KOMMO_ORIGIN, TEST_KOMMO_USER_ID, type TestBridge } from '../support/test-bridge';

/**
 * The real widget/script.js in headless Chromium, on a stand-in of a Kommo account's pages (Kommo's
 * origin, only the documented widget SDK), against the whole bridge over HTTP and its live channel.
 * Page timers run on Playwright's clock and the bridge on its manual clock: neither moves unless a
 * test moves it, and every wait for the page is a bounded poll of something observable.
 */

let browser: Browser;
let t: TestBridge;
let kommo: KommoPage | undefined;

beforeAll(async () => {
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
});
beforeEach(async () => {
  t = await givenBridge();
});
afterEach(async () => {
  await kommo?.close();
  kommo = undefined;
  await t.close();
});

const clientPresence = (state: 'online' | 'offline', ttlSeconds = 60) =>
  t.chat('POST', `/chat/${t.scopeId}/presence`, { client_id: CLIENT_ID, state, ttl_seconds: ttlSeconds });
const presenceStates = (page: KommoPage) => page.events('presence.changed').map((event) => event.data.state);
const watchesOf = (page: KommoPage, chatId = KOMMO_CHAT_ID) =>
  page.liveFrames.sent.filter((frame) => frame.action === 'watch' && JSON.stringify(frame).includes(chatId)).length;
const reads = (page: KommoPage) => page.events('conversation.read').length;
/** Whether the bridge has handled every frame the page sent on its live socket (one `answered` line each). */
const framesHandled = (page: KommoPage) =>
  t.log.lines.filter((line) => line.message === 'answered' && line.attributes?.route === '$default').length >=
  page.liveFrames.sent.length;
/** The Kommo user's presence in the interface (any page), as the chat service heard it. */
const userStates = (_page?: KommoPage) => t.sink.eventsOfType('user.presence.changed').map((event) => event.data.state);

describe('the widget in a Kommo account page', BROWSER_TEST_LIMITS, () => {
  it('opening a lead card: the chat service hears the Kommo user online in the chat and the chat read; the card shows the client online', async () => {
    kommo = await givenKommoPage(t, browser);
    await clientPresence('online');

    await kommo.open('leads', LEAD_ID);

    await expect.poll(() => kommo!.markState(), SOON).toBe('online');
    expect(await kommo.mark().textContent()).toContain('Client online');
    await expect.poll(() => presenceStates(kommo!), SOON).toEqual(['online']);
    await expect.poll(() => reads(kommo!), SOON).toBe(1);
    const [online] = kommo.events('presence.changed');
    const [read] = kommo.events('conversation.read');
    for (const event of [online!, read!]) {
      expect(event.data).toMatchObject({
        conversation_id: CONVERSATION_ID,
        kommo_conversation_id: KOMMO_CHAT_ID,
        user_id: USER_AMOJO_ID,
        kommo_user_id: TEST_KOMMO_USER_ID,
      });
    }
    // Found through the account's own CRM API, as Kommo documents it: the lead's talks.
    expect(kommo.standIn.apiRequests).toEqual([
      `/api/v4/talks?filter[entity_type]=lead&filter[entity_id]=${LEAD_ID}&limit=10`,
    ]);
    // What the open cost the bridge: the live ticket and the read. The chat is not asked about first: the
    // watch's client.presence frame is what says it is this channel's (a chat of another channel gets none).
    expect(kommo.standIn.authorizedCalls.map((call) => `${call.method} ${new URL(call.url).pathname}`)).toEqual([
      'POST /widget/live',
      `POST /widget/chats/${KOMMO_CHAT_ID}/read`,
    ]);
    // Labelled by the chat's source, not "Chat 1".
    expect(await kommo.mark().textContent()).toContain('telegram');
    expect(kommo.pageErrors).toEqual([]);
    expect(kommo.strayRequests).toEqual([]);
  });

  it('the client goes offline and online in the chat service: the mark follows, with no bridge time passing', async () => {
    kommo = await givenKommoPage(t, browser);
    await clientPresence('online');
    await kommo.open('leads', LEAD_ID);
    await expect.poll(() => kommo!.markState(), SOON).toBe('online');
    const bridgeTime = t.clock.now();

    await clientPresence('offline');
    await expect.poll(() => kommo!.markState(), SOON).toBe('offline');
    expect(await kommo.mark().textContent()).toContain('Client last seen');

    await clientPresence('online');
    await expect.poll(() => kommo!.markState(), SOON).toBe('online');
    // Pushed when the presence changed: no clock move was needed (well within the contract's 1 s).
    expect(t.clock.now()).toBe(bridgeTime);

    // Silence: the presence window ends on its own timer, and that transition is pushed too.
    await kommo.advance(60_000);
    await expect.poll(() => kommo!.markState(), SOON).toBe('offline');
  });

  it('leaving the card and closing the tab each make the Kommo user offline in the chat at once (the contract allows 5 s)', async () => {
    kommo = await givenKommoPage(t, browser);
    await kommo.open('leads', LEAD_ID);
    await expect.poll(() => presenceStates(kommo!), SOON).toEqual(['online']);
    const bridgeTime = t.clock.now();

    await kommo.navigate('/');
    await expect.poll(() => presenceStates(kommo!), SOON).toEqual(['online', 'offline']);
    expect(await kommo.page.locator('.klb-mark').count()).toBe(0);

    await kommo.navigate(`/leads/detail/${LEAD_ID}`);
    await expect.poll(() => presenceStates(kommo!), SOON).toEqual(['online', 'offline', 'online']);

    await kommo.page.close();
    await expect.poll(() => presenceStates(kommo!), SOON).toEqual(['online', 'offline', 'online', 'offline']);
    expect(t.clock.now()).toBe(bridgeTime);
  });

  it("while the card stays open the widget pings every 30 s (the bridge's default), asks for no pong, and the Kommo user stays in the chat past the 90 s window", async () => {
    kommo = await givenKommoPage(t, browser);
    await kommo.open('leads', LEAD_ID);
    await expect.poll(() => presenceStates(kommo!), SOON).toEqual(['online']);
    await kommo.pauseClock();
    const pings = () => kommo!.liveFrames.sent.filter((frame) => frame.action === 'ping');

    for (let round = 1; round <= 4; round += 1) {
      await kommo.page.clock.runFor(30_000);
      await expect.poll(() => pings().length, SOON).toBe(round);
      await expect.poll(() => framesHandled(kommo!), SOON).toBe(true);
      await kommo.advance(30_000);
    }

    expect(pings()).toEqual(Array(4).fill({ action: 'ping', pong: false }));
    expect(kommo.liveFrames.received.filter((frame) => frame.type === 'pong')).toEqual([]);
    expect(presenceStates(kommo)).toEqual(['online']);
  });

  it("a watch the bridge refuses with a transient error (DynamoDB fails the chat's lookup) is sent again 10 s later: the mark then shows the client online and the Kommo user is in the chat", async () => {
    // A real fault on the bridge's DynamoDB client: the first request about the chat never reaches DynamoDB Local.
    const faults = new DynamoFaults(t.dynamo);
    kommo = await givenKommoPage(t, browser);
    await clientPresence('online');
    faults.arm(1, 'request-lost', KOMMO_CHAT_ID);

    await kommo.open('leads', LEAD_ID);
    // The refusal names no chat: only its code says the frame may be sent again.
    await expect
      .poll(() => kommo!.liveFrames.received.filter((frame) => frame.type === 'error'), SOON)
      .toEqual([expect.objectContaining({ code: 'internal_error' })]);
    await kommo.pauseClock();
    expect(faults.disarm()).toEqual(['GetItem']);
    expect(await kommo.markState()).toBe('none');
    expect(presenceStates(kommo)).toEqual([]);

    await kommo.page.clock.runFor(10_000);
    await expect.poll(() => kommo!.markState(), SOON).toBe('online');
    await expect.poll(() => presenceStates(kommo!), SOON).toEqual(['online']);
    expect(watchesOf(kommo)).toBe(2);
    // Confirmed: never sent again on this socket, however long the card stays open.
    await kommo.page.clock.runFor(10 * 60_000);
    await expect.poll(() => framesHandled(kommo!), SOON).toBe(true);
    expect(watchesOf(kommo)).toBe(2);
    expect(kommo.pageErrors).toEqual([]);
  });

  it('a watch refused again and again is sent after 10 s, 30 s, 90 s, then every 5 min, and no more once the chat leaves the card', async () => {
    const faults = new DynamoFaults(t.dynamo);
    kommo = await givenKommoPage(t, browser);
    faults.arm(1, 'request-lost', KOMMO_CHAT_ID);
    await kommo.open('leads', LEAD_ID);
    const refusals = () => kommo!.liveFrames.received.filter((frame) => frame.type === 'error').length;
    await expect.poll(refusals, SOON).toBe(1);
    await kommo.pauseClock();
    // Counted in the page as the widget sends them, so a count read right after the clock runs is exact.
    await kommo.page.evaluate(() => {
      const page = globalThis as unknown as {
        WebSocket: { prototype: { send(data: string): void } };
        watchesSent: number;
      };
      const send = page.WebSocket.prototype.send;
      page.watchesSent = 0;
      page.WebSocket.prototype.send = function (this: unknown, data: string) {
        if (String(data).includes('"action":"watch"')) page.watchesSent += 1;
        return send.call(this, data);
      };
    });
    const watchesSent = () =>
      kommo!.page.evaluate(() => (globalThis as unknown as { watchesSent: number }).watchesSent);
    // The first watch left while the page's clock ran: second by second until it is sent again (at most 10 s),
    // so each later watch is known to the second and each wait below is measured from the watch before it.
    faults.arm(1, 'request-lost', KOMMO_CHAT_ID);
    for (let seconds = 1; seconds <= 10 && (await watchesSent()) === 0; seconds += 1)
      await kommo.page.clock.runFor(1_000);
    expect(await watchesSent()).toBe(1);
    await expect.poll(() => watchesOf(kommo!), SOON).toBe(2);
    await expect.poll(refusals, SOON).toBe(2);

    // A second short of each wait sends nothing; the wait's end sends the watch again.
    for (const [round, waitMs] of [30_000, 90_000, 300_000, 300_000].entries()) {
      faults.arm(1, 'request-lost', KOMMO_CHAT_ID);
      await kommo.page.clock.runFor(waitMs - 1_000);
      expect(await watchesSent()).toBe(round + 1);
      await kommo.page.clock.runFor(1_000);
      expect(await watchesSent()).toBe(round + 2);
      await expect.poll(() => watchesOf(kommo!), SOON).toBe(round + 3);
      await expect.poll(refusals, SOON).toBe(round + 3);
    }
    faults.disarm();
    expect(await kommo.markState()).toBe('none');
    expect(presenceStates(kommo)).toEqual([]);

    await kommo.navigate('/');
    await kommo.page.clock.runFor(30 * 60_000);
    await expect.poll(() => framesHandled(kommo!), SOON).toBe(true);
    expect(watchesOf(kommo)).toBe(6);
    expect(kommo.pageErrors).toEqual([]);
  });

  it('a refused watch whose socket closes is not sent again on it: the new socket watches afresh, once', async () => {
    const faults = new DynamoFaults(t.dynamo);
    kommo = await givenKommoPage(t, browser);
    await clientPresence('online');
    faults.arm(1, 'request-lost', KOMMO_CHAT_ID);
    await kommo.open('leads', LEAD_ID);
    await expect.poll(() => kommo!.liveFrames.received.filter((frame) => frame.type === 'error').length, SOON).toBe(1);
    faults.disarm();
    await kommo.pauseClock();

    await kommo.stopBridge();
    await kommo.startBridge();
    // The widget reconnects with backoff (1 s and up, jittered) and watches the chat on the new socket.
    await expect.poll(() => kommo!.markStateAfter(1_000), SOON).toBe('online');
    await kommo.page.clock.runFor(10 * 60_000);
    await expect.poll(() => framesHandled(kommo!), SOON).toBe(true);
    // One watch per socket: the refused one on the first, the confirmed one on the second (a second ticket).
    expect(watchesOf(kommo)).toBe(2);
    expect(kommo.standIn.authorizedCalls.filter((call) => call.url.endsWith('/widget/live'))).toHaveLength(2);
    expect(presenceStates(kommo)).toEqual(['online']);
    expect(kommo.pageErrors).toEqual([]);
  });

  it('with no fault a card left open for an hour sends its watch once: the pings keep it, nothing is watched again', async () => {
    kommo = await givenKommoPage(t, browser);
    await clientPresence('online');
    await kommo.open('leads', LEAD_ID);
    await expect.poll(() => kommo!.markState(), SOON).toBe('online');
    await kommo.pauseClock();

    for (let minutes = 5; minutes <= 60; minutes += 5) {
      await kommo.page.clock.runFor(5 * 60_000);
      await expect.poll(() => framesHandled(kommo!), SOON).toBe(true);
    }

    expect(kommo.liveFrames.sent.filter((frame) => frame.action === 'ping').length).toBeGreaterThanOrEqual(120);
    expect(watchesOf(kommo)).toBe(1);
    expect(kommo.liveFrames.received.filter((frame) => frame.type === 'error')).toEqual([]);
    expect(await kommo.markState()).toBe('online');
  });

  it('a bridge deployed with a 60-s ping and a 150-s window: the widget follows what the live ticket says, and the user stays in the chat', async () => {
    await t.close();
    t = await givenBridge({ KOMMO_USER_PING_SECONDS: '60', KOMMO_USER_WINDOW_SECONDS: '150' });
    kommo = await givenKommoPage(t, browser);
    await kommo.open('leads', LEAD_ID);
    await expect.poll(() => presenceStates(kommo!), SOON).toEqual(['online']);
    await kommo.pauseClock();
    const pings = () => kommo!.liveFrames.sent.filter((frame) => frame.action === 'ping').length;

    // 30 s: when a widget that did not listen would have pinged.
    await kommo.page.clock.runFor(30_000);
    const before = pings();
    for (let round = 1; round <= 4; round += 1) {
      await kommo.page.clock.runFor(round === 1 ? 30_000 : 60_000);
      await expect.poll(pings, SOON).toBe(round);
      await expect.poll(() => framesHandled(kommo!), SOON).toBe(true);
      await kommo.advance(60_000);
    }

    expect(before).toBe(0);
    expect(presenceStates(kommo)).toEqual(['online']);
  });

  it("a lead whose contact also has another lead's chat: only this lead's chat is watched, read and marked", async () => {
    kommo = await givenKommoPage(t, browser);
    await clientPresence('online');

    await kommo.open('leads', LEAD_ID);
    await expect.poll(() => kommo!.markState(), SOON).toBe('online');
    await expect.poll(() => reads(kommo!), SOON).toBe(1);

    expect(await kommo.page.locator('.klb-mark').count()).toBe(1);
    expect(t.sink.events.filter((event) => event.data.kommo_conversation_id === OTHER_LEAD_CHAT_ID)).toEqual([]);
    expect(kommo.liveFrames.sent.filter((frame) => JSON.stringify(frame).includes(OTHER_LEAD_CHAT_ID))).toEqual([]);
    expect(kommo.pageErrors).toEqual([]);
  });

  it('a chat opened from the chats inbox (/chats/{talk_id}/…): the talk in the address is the chat the user is in', async () => {
    kommo = await givenKommoPage(t, browser);
    await clientPresence('online');

    await kommo.page.goto(
      `${TEST_KOMMO_ORIGIN}${kommo.standIn.basePath}/chats/${KOMMO_TALK_ID}/leads/detail/${LEAD_ID}`,
    );

    await expect.poll(() => presenceStates(kommo!), SOON).toEqual(['online']);
    await expect.poll(() => reads(kommo!), SOON).toBe(1);
    expect(kommo.events('presence.changed')[0]!.data.kommo_conversation_id).toBe(KOMMO_CHAT_ID);
    expect(kommo.standIn.apiRequests.at(-1)).toBe(`/api/v4/talks/${KOMMO_TALK_ID}`);
    expect(t.sink.events.filter((event) => event.data.kommo_conversation_id === OTHER_LEAD_CHAT_ID)).toEqual([]);
    expect(kommo.pageErrors).toEqual([]);
  });

  it('a contact card with leads shows no chat (Kommo shows them in the leads); a contact without leads is asked with contact_id, and a chat of another channel gets no mark', async () => {
    kommo = await givenKommoPage(t, browser);
    await clientPresence('online');

    await kommo.open('contacts', CONTACT_ID);
    await expect.poll(() => kommo!.standIn.apiRequests, SOON).toEqual([`/api/v4/contacts/${CONTACT_ID}?with=leads`]);
    await kommo.navigate(`/contacts/detail/${OTHER_CONTACT_ID}`);

    await expect
      .poll(() => kommo!.standIn.apiRequests.at(-1), SOON)
      .toBe(`/api/v4/contacts/chats?contact_id=${OTHER_CONTACT_ID}`);
    await expect
      .poll(() => kommo!.page.locator('.card-title').textContent(), SOON)
      .toBe('Client with a chat of another channel');
    expect(await kommo.page.locator('.klb-mark').count()).toBe(0);
    expect(t.sink.events.filter((event) => event.data.kommo_conversation_id !== undefined)).toEqual([]);
    // Refused for good (its code says so): the widget does not ask about that chat again while the card stays open.
    await expect
      .poll(() => kommo!.liveFrames.received.filter((frame) => frame.type === 'error'), SOON)
      .toEqual([expect.objectContaining({ code: 'unknown_conversation' })]);
    await kommo.pauseClock();
    await kommo.page.clock.runFor(30 * 60_000);
    await expect.poll(() => framesHandled(kommo!), SOON).toBe(true);
    expect(watchesOf(kommo, OTHER_CHANNEL_CHAT_ID)).toBe(1);
    expect(kommo.pageErrors).toEqual([]);
  });

  it('an account not connected: the block says so, and nothing reaches the chat service', async () => {
    kommo = await givenKommoPage(t, browser, { connected: false });

    await kommo.open('leads', LEAD_ID);

    await expect
      .poll(() => kommo!.page.locator('.klb-problem').textContent(), SOON)
      .toContain('account not connected: ask your administrator to install the integration');
    expect(await kommo.page.locator('.klb-mark').count()).toBe(0);
    expect(t.sink.events).toEqual([]);
  });

  it('a client message while the chat stays open and visible is read within 3 s when Kommo shows it in talk events; a burst is one read, and the 30-s read mark waits 30 s after any read', async () => {
    kommo = await givenKommoPage(t, browser);
    await kommo.open('leads', LEAD_ID);
    await expect.poll(() => reads(kommo!), SOON).toBe(1);
    // Another chat's talk event (read elsewhere): nothing to read here.
    await kommo.talkEventHandled(
      kommo.standIn.publishTalkEvent({
        body: { payload: { type: 125, model: { chat_id: OTHER_CHANNEL_CHAT_ID, is_read: true } } },
      }),
    );
    await kommo.pauseClock();
    // Well inside the read mark's 30 s: only the talk event can make the next read come.
    await kommo.page.clock.runFor(10_000);

    const messageAt = await kommo.pageTime();
    await kommo.talkEventHandled(kommo.standIn.clientWrites(KOMMO_CHAT_ID));
    await kommo.page.clock.runFor(3_000);
    await expect.poll(() => reads(kommo!), SOON).toBe(2);

    // Two more messages at once: one read, within 3 s of them too.
    const burstAt = await kommo.pageTime();
    await kommo.talkEventHandled(kommo.standIn.clientWrites(KOMMO_CHAT_ID));
    await kommo.talkEventHandled(kommo.standIn.clientWrites(KOMMO_CHAT_ID));
    await kommo.page.clock.runFor(3_000);
    await expect.poll(() => reads(kommo!), SOON).toBe(3);

    // Nothing more arrives: the read mark comes 30 s after the last read, not on its own beat.
    await kommo.page.clock.runFor(40_000);
    await expect.poll(() => reads(kommo!), SOON).toBe(4);

    const [, afterMessage, afterBurst, mark] = kommo.readCalls();
    expect(kommo.readCalls()).toHaveLength(4);
    expect(afterMessage! - messageAt).toBeGreaterThanOrEqual(0);
    expect(afterMessage! - messageAt).toBeLessThanOrEqual(3_000);
    expect(afterBurst! - burstAt).toBeGreaterThanOrEqual(0);
    expect(afterBurst! - burstAt).toBeLessThanOrEqual(3_000);
    expect(mark! - afterBurst!).toBeGreaterThanOrEqual(30_000);
  });

  it('without talk events, a client message is read by the read mark within 30 s while the chat stays visible', async () => {
    kommo = await givenKommoPage(t, browser, { talkEvents: false });
    await kommo.open('leads', LEAD_ID);
    await expect.poll(() => reads(kommo!), SOON).toBe(1);
    await kommo.pauseClock();

    const messageAt = await kommo.pageTime();
    kommo.standIn.clientWrites(KOMMO_CHAT_ID);
    await kommo.page.clock.runFor(30_000);

    await expect.poll(() => reads(kommo!), SOON).toBe(2);
    expect(kommo.readCalls()[1]! - messageAt).toBeLessThanOrEqual(30_000);
  });

  it('a hidden tab is not in the chat: the watch ends, nothing is read until the tab shows again', async () => {
    kommo = await givenKommoPage(t, browser);
    await kommo.open('leads', LEAD_ID);
    await expect.poll(() => reads(kommo!), SOON).toBe(1);
    await expect.poll(() => presenceStates(kommo!), SOON).toEqual(['online']);

    await kommo.setVisibility('hidden');
    await expect.poll(() => presenceStates(kommo!), SOON).toEqual(['online', 'offline']);
    await kommo.talkEventHandled(kommo.standIn.clientWrites(KOMMO_CHAT_ID));
    await kommo.page.clock.fastForward(40_000);
    await kommo.setVisibility('visible');

    await expect.poll(() => reads(kommo!), SOON).toBe(2);
    await expect.poll(() => presenceStates(kommo!), SOON).toEqual(['online', 'offline', 'online']);
    // In the order the chat service got them: no read while the tab was hidden.
    expect(
      t.sink.events
        .filter((event) => event.data.kommo_conversation_id === KOMMO_CHAT_ID)
        .map((event) => `${event.type} ${event.data.state ?? ''}`.trim()),
    ).toEqual([
      expect.stringMatching(/^(presence\.changed online|conversation\.read)$/),
      expect.stringMatching(/^(presence\.changed online|conversation\.read)$/),
      'presence.changed offline',
      expect.stringMatching(/^(presence\.changed online|conversation\.read)$/),
      expect.stringMatching(/^(presence\.changed online|conversation\.read)$/),
    ]);
  });

  it('with the bridge down the page still works and the widget shows nothing; it recovers when the bridge is back', async () => {
    kommo = await givenKommoPage(t, browser);
    await clientPresence('online');
    await kommo.stopBridge();

    await kommo.open('leads', LEAD_ID);
    // The widget asked the bridge for its live channel, and got no answer.
    await expect
      .poll(() => kommo!.standIn.authorizedCalls.some((call) => call.url.endsWith('/widget/live')), SOON)
      .toBe(true);
    expect(await kommo.page.locator('.card-title').textContent()).toBe('Order #101');
    expect(await kommo.page.locator('.klb-mark, .klb-settings-error').count()).toBe(0);
    await expect.poll(() => kommo!.page.locator('.klb-problem').textContent(), SOON).toContain('does not answer');

    await kommo.startBridge();
    await expect.poll(() => kommo!.markStateAfter(10_000), SOON).toBe('online');
    await expect.poll(() => presenceStates(kommo!), SOON).toEqual(['online']);
    await expect.poll(() => reads(kommo!), SOON).toBe(1);

    // Down again with the card open: the mark goes (it could be stale), and comes back with the bridge.
    await kommo.stopBridge();
    await expect.poll(() => kommo!.markState(), SOON).toBe('none');
    await kommo.startBridge();
    await expect.poll(() => kommo!.markStateAfter(10_000), SOON).toBe('online');
    expect(kommo.pageErrors).toEqual([]);
  });

  it("a bridge without the live channel gets heartbeats instead, and the client's presence rides on their answers", async () => {
    kommo = await givenKommoPage(t, browser);
    await clientPresence('online');
    // An older bridge: POST /widget/live is not a route (404, with CORS as the bridge answers errors).
    await kommo.page.route(`${kommo.bridgeUrl}/widget/live`, (route) => {
      const origin = route.request().headers().origin ?? '';
      const cors = {
        'access-control-allow-origin': origin,
        'access-control-allow-methods': 'GET, POST',
        'access-control-allow-headers': 'X-Auth-Token, Content-Type',
      };
      return route.request().method() === 'OPTIONS'
        ? route.fulfill({ status: 204, headers: cors })
        : route.fulfill({
            status: 404,
            headers: { ...cors, 'content-type': 'application/json' },
            body: JSON.stringify({ error: { code: 'unknown_route', message: 'No route' } }),
          });
    });

    await kommo.open('leads', LEAD_ID);
    await expect.poll(() => presenceStates(kommo!), SOON).toEqual(['online']);
    await expect.poll(() => kommo!.markState(), SOON).toBe('online');

    await clientPresence('offline');
    await kommo.page.clock.fastForward(30_000);
    await expect.poll(() => kommo!.markState(), SOON).toBe('offline');

    await kommo.navigate('/');
    await expect.poll(() => presenceStates(kommo!), SOON).toEqual(['online', 'offline']);
  });

  it("a one-time token is good until its exp: the page's second request with the same token is served", async () => {
    kommo = await givenKommoPage(t, browser);
    await kommo.open('leads', LEAD_ID);
    await expect.poll(() => kommo!.markState(), SOON).not.toBe('none');

    const answers = await kommo.page.evaluate(
      async ({ bridgeUrl, chatId }) => {
        const { token } = (await (await fetch('/sandbox/kommo/one-time-token', { method: 'POST' })).json()) as {
          token: string;
        };
        const call = async () => {
          const response = await fetch(`${bridgeUrl}/widget/chats/${chatId}`, { headers: { 'X-Auth-Token': token } });
          return { status: response.status, body: await response.json() };
        };
        return [await call(), await call()];
      },
      { bridgeUrl: kommo.bridgeUrl, chatId: KOMMO_CHAT_ID },
    );

    expect(answers[0]).toMatchObject({
      status: 200,
      body: { kommo_conversation_id: KOMMO_CHAT_ID, conversation_id: CONVERSATION_ID, client_id: CLIENT_ID },
    });
    expect(answers[1]).toEqual(answers[0]);
  });

  it('a Kommo user on the dashboard is online in the interface; the tab hidden, offline 15 s later', async () => {
    kommo = await givenKommoPage(t, browser);

    await kommo.page.goto(`${TEST_KOMMO_ORIGIN}${kommo.standIn.basePath}/`);
    await expect.poll(() => userStates(kommo!), SOON).toEqual(['online']);
    expect(t.sink.eventsOfType('user.presence.changed')[0]!.data).toMatchObject({
      user_id: USER_AMOJO_ID,
      kommo_user_id: TEST_KOMMO_USER_ID,
    });
    expect(presenceStates(kommo)).toEqual([]);

    await kommo.setVisibility('hidden');
    await expect
      .poll(() => kommo!.liveFrames.sent.some((frame) => JSON.stringify(frame).includes('"visible":false')), SOON)
      .toBe(true);
    await expect
      .poll(async () => {
        await kommo!.advance(15_000);
        return userStates(kommo!);
      }, SOON)
      .toEqual(['online', 'offline']);
    expect(kommo.pageErrors).toEqual([]);
  });

  it('one token for the page, reused for 25 minutes: every call is served, and the page never needs a second', async () => {
    kommo = await givenKommoPage(t, browser);
    await kommo.open('leads', LEAD_ID);
    await expect.poll(() => reads(kommo!), SOON).toBe(1);

    await kommo.advance(25 * 60_000 - 1_000);
    await kommo.navigate('/');
    await kommo.navigate(`/leads/detail/${LEAD_ID}`);

    await expect.poll(() => reads(kommo!), SOON).toBe(2);
    expect(kommo.standIn.tokensMinted).toBe(1);
    // The live ticket and both reads, 25 minutes apart, all with the page's one token.
    expect(kommo.standIn.authorizedCalls.map((call) => call.url.replace(/^.*\/widget\//, '/widget/'))).toEqual([
      '/widget/live',
      `/widget/chats/${KOMMO_CHAT_ID}/read`,
      `/widget/chats/${KOMMO_CHAT_ID}/read`,
    ]);
    expect(kommo.pageErrors).toEqual([]);
  });

  it('destroy then render: the widget stops (the user leaves the chat) and starts again', async () => {
    kommo = await givenKommoPage(t, browser);
    await kommo.open('leads', LEAD_ID);
    await expect.poll(() => presenceStates(kommo!), SOON).toEqual(['online']);

    await kommo.page.evaluate(async () => {
      const widget = await (
        globalThis as unknown as { kommoStandIn: { widget: Promise<{ callbacks: Record<string, () => unknown> }> } }
      ).kommoStandIn.widget;
      widget.callbacks.destroy!();
    });
    await expect.poll(() => presenceStates(kommo!), SOON).toEqual(['online', 'offline']);
    await kommo.page.evaluate(async () => {
      const widget = await (
        globalThis as unknown as { kommoStandIn: { widget: Promise<{ callbacks: Record<string, () => unknown> }> } }
      ).kommoStandIn.widget;
      widget.callbacks.render!();
    });

    await expect.poll(() => presenceStates(kommo!), SOON).toEqual(['online', 'offline', 'online']);
    await expect.poll(() => kommo!.markState(), SOON).not.toBe('none');
    expect(kommo.pageErrors).toEqual([]);
  });

  it("the settings page's field check reports what the page did, twice, and the bridge's second line says the token was reused", async () => {
    kommo = await givenKommoPage(t, browser);
    await kommo.page.goto(`${TEST_KOMMO_ORIGIN}${kommo.standIn.basePath}/`);
    await expect.poll(() => userStates(), SOON).toEqual(['online']);

    await kommo.page.evaluate(async () => {
      const widget = await (
        globalThis as unknown as { kommoStandIn: { widget: Promise<{ callbacks: Record<string, () => unknown> }> } }
      ).kommoStandIn.widget;
      widget.callbacks.settings!();
    });

    const lines = () => t.log.lines.filter((line) => line.message === 'widget field check');
    await expect.poll(() => lines().length, SOON).toBe(2);
    expect(lines().map((line) => line.attributes?.tokenReused)).toEqual([null, true]);
    expect(lines()[1]!.attributes).toMatchObject({
      isCard: false,
      crmForms: [
        { form: '/api/v4/talks?filter[entity_type]=lead&filter[entity_id]=0&limit=1', status: 204 },
        { form: '/api/v4/contacts/chats?contact_id=0', status: 204 },
      ],
    });
    expect(kommo.pageErrors).toEqual([]);
  });

  it('a missing Bridge URL is a settings error shown in the card: no request leaves, not even to Kommo itself; onSave refuses bad URLs', async () => {
    kommo = await givenKommoPage(t, browser, { bridgeUrl: () => '' });

    await kommo.open('leads', LEAD_ID);

    await expect
      .poll(() => kommo!.page.locator('.klb-settings-error').textContent(), SOON)
      .toContain('Bridge URL setting is missing or invalid');
    expect(kommo.strayRequests).toEqual([]);
    expect(kommo.standIn.authorizedCalls).toEqual([]);
    expect(kommo.standIn.apiRequests).toEqual([]);
    expect(t.sink.events).toEqual([]);

    const verdicts = await kommo.page.evaluate(async () => {
      const widget = await (
        globalThis as unknown as {
          kommoStandIn: { widget: Promise<{ callbacks: { onSave(data: unknown): boolean } }> };
        }
      ).kommoStandIn.widget;
      return [
        '',
        'ftp://bridge.acme.io',
        'http://bridge.acme.io',
        'https://acme.kommo.com',
        'https://bridge.acme.io/?x=1',
        'https://abc123.execute-api.eu-west-1.amazonaws.com',
        'http://127.0.0.1:3000',
      ].map((url) => widget.callbacks.onSave({ active: 'Y', fields: { bridge_url: url } }));
    });
    expect(verdicts).toEqual([false, false, false, false, false, true, true]);
  });
});
