import chromium from '@sparticuz/chromium';
import { expect } from 'vitest';
import { chromium as playwright, type Browser, type Page, type Route } from 'playwright-core';
import { serveBridge, type RunningHttpServer } from '../../local/http-server';
import { KommoAccountStandIn, type KommoAccountStandInOptions } from '../../local/sandbox/kommo-account';
import { TEST_START } from './manual-clock';
import {
  givenConnectedAccount,
  TEST_KOMMO_ACCOUNT_ID,
  TEST_KOMMO_ORIGIN,
  TEST_KOMMO_USER_ID,
  TEST_USER_AMOJO_ID,
  widgetToken,
  type TestBridge,
} from './test-bridge';

/**
 * Headless Chromium from @sparticuz/chromium, driven by playwright-core: one per test file. Its
 * default switches are made for one screenshot job per Lambda: web security off, and one process,
 * which dies with its first closed tab. The widget must pass CORS and mixed-content rules as in a real
 * browser, and each test closes its own tab, so those switches are left out.
 */
const LAMBDA_ONLY_SWITCHES = new Set([
  '--disable-web-security',
  '--allow-running-insecure-content',
  '--single-process',
]);

export async function launchBrowser(): Promise<Browser> {
  const args = chromium.args.filter((arg) => !LAMBDA_ONLY_SWITCHES.has(arg));
  return playwright.launch({ executablePath: await chromium.executablePath(), args, headless: true });
}

/** A wait for what the page shows: bounds far above what an idle machine needs, never waits. */
export const SOON = { timeout: 45_000, interval: 50 };
/**
 * A test is several such waits in a row, on a machine that may be running other suites beside it:
 * its own limit is far above what any of them needs when the machine is idle (a few seconds).
 */
export const BROWSER_TEST_LIMITS = { timeout: 180_000 };

/** The Kommo account the page stands in for: a lead with a contact who has a chat of this channel, and a contact whose chat is another channel's. */
export const KOMMO_CHAT_ID = '6cbab3d5-c4c0-4e8f-a8a0-6f7a4be3ca76';
export const OTHER_CHANNEL_CHAT_ID = '0d5e7c2a-3b1f-4a8e-9c6d-2f4b8a1e7c90';
export const CONVERSATION_ID = 'c-1';
export const CLIENT_ID = 'u-7';
export const USER_AMOJO_ID = TEST_USER_AMOJO_ID;
export const LEAD_ID = 101;
export const CONTACT_ID = 201;
export const OTHER_CONTACT_ID = 202;
/** A second lead of CONTACT_ID, whose chat (of this channel too) is not lead 101's: nothing of it may reach the chat service from lead 101. */
export const OTHER_LEAD_ID = 102;
export const OTHER_LEAD_CHAT_ID = '9a7c3e21-5b4d-4f6a-8e2c-1d3b5a7c9e04';
/** The talks of the chats, in the order of the stand-in's list: the inbox opens `/chats/{talk_id}/…`. */
export const KOMMO_TALK_ID = 1;

export interface KommoPageOptions {
  /** The widget's Bridge URL setting; default: the bridge's own URL. */
  bridgeUrl?: (bridgeUrl: string) => string;
  talkEvents?: boolean;
  /** False: the Kommo account is not connected to the bridge (widget routes answer 403). */
  connected?: boolean;
}

/**
 * Given: the bridge served over HTTP (and its live channel on the same port), the test account
 * connected, the chat registered by the chat service, and a browser tab on a stand-in of the Kommo
 * account's pages at Kommo's own origin, running the real widget/script.js. Queued messages are
 * delivered as they come due, on the bridge's manual clock, which moves only when the test says.
 */
export async function givenKommoPage(t: TestBridge, browser: Browser, options: KommoPageOptions = {}) {
  if (options.connected !== false) await givenConnectedAccount(t);
  const other = await t.chat('PUT', `/chat/${t.scopeId}/conversations/c-other-lead`, {
    kommo_conversation_id: OTHER_LEAD_CHAT_ID,
    client_id: 'u-other-lead',
  });
  if (other.status !== 200) throw new Error(`the other lead's chat could not be registered: ${other.status}`);
  const registered = await t.chat('PUT', `/chat/${t.scopeId}/conversations/${CONVERSATION_ID}`, {
    kommo_conversation_id: KOMMO_CHAT_ID,
    client_id: CLIENT_ID,
  });
  if (registered.status !== 200)
    throw new Error(`the chat could not be registered: ${registered.status} ${JSON.stringify(registered.body)}`);

  let server: RunningHttpServer | undefined = await serveBridge(t.bridge, { port: 0 });
  const port = Number(new URL(server.url).port);
  const bridgeUrl = server.url;

  const standIn = new KommoAccountStandIn({
    account: { id: TEST_KOMMO_ACCOUNT_ID, subdomain: 'testaccount', amojoId: t.accountId },
    user: { id: TEST_KOMMO_USER_ID, amojoId: USER_AMOJO_ID, name: 'Ana (Kommo user)' },
    leads: [
      { id: LEAD_ID, name: 'Order #101', contactIds: [CONTACT_ID] },
      { id: OTHER_LEAD_ID, name: 'Order #102', contactIds: [CONTACT_ID] },
    ],
    contacts: [
      { id: CONTACT_ID, name: 'Client with a chat of this channel' },
      { id: OTHER_CONTACT_ID, name: 'Client with a chat of another channel' },
    ],
    chats: [
      {
        chatId: KOMMO_CHAT_ID,
        contactId: CONTACT_ID,
        clientConversationId: CONVERSATION_ID,
        talkId: KOMMO_TALK_ID,
        leadId: LEAD_ID,
        origin: 'telegram',
      },
      { chatId: OTHER_CHANNEL_CHAT_ID, contactId: OTHER_CONTACT_ID, talkId: 2, leadId: null },
      { chatId: OTHER_LEAD_CHAT_ID, contactId: CONTACT_ID, talkId: 3, leadId: OTHER_LEAD_ID },
    ],
    settings: { bridge_url: options.bridgeUrl ? options.bridgeUrl(bridgeUrl) : bridgeUrl },
    // Minted here, on the bridge's clock, with the integration secret the page never sees.
    mintToken: () => widgetToken(t),
    // The page's token is reused by the bridge's clock, on which it was minted.
    nowMs: () => t.clock.now(),
    ...(options.talkEvents === undefined ? {} : { talkEvents: options.talkEvents }),
  } satisfies KommoAccountStandInOptions);

  // Queue deliveries due now, as the realtime consumers would; the clock itself stays where the test put it.
  let pumping = false;
  let paused = false;
  const pump = setInterval(() => {
    if (pumping || paused) return;
    pumping = true;
    t.bridge
      .settle()
      .catch(() => undefined)
      .finally(() => {
        pumping = false;
      });
  }, 20);

  const context = await browser.newContext();
  // The bridge is on loopback here; Chromium asks before a public page reaches it (Local Network Access).
  await context.grantPermissions(['local-network-access'], { origin: TEST_KOMMO_ORIGIN });
  const page: Page = await context.newPage();
  const pageErrors: string[] = [];
  /** Live-channel frames the page sent and received, parsed, oldest first. */
  const liveFrames = { sent: [] as { action?: string }[], received: [] as { type?: string }[] };
  page.on('websocket', (socket) => {
    const parse = (payload: string | Buffer) => {
      try {
        return JSON.parse(payload.toString()) as Record<string, unknown>;
      } catch {
        return {};
      }
    };
    socket.on('framesent', (frame) => liveFrames.sent.push(parse(frame.payload)));
    socket.on('framereceived', (frame) => liveFrames.received.push(parse(frame.payload)));
  });
  /** Requests to the Kommo origin that are not the stand-in's (a widget calling its own origin by mistake). */
  const strayRequests: string[] = [];
  page.on('pageerror', (error) => pageErrors.push(error.message));
  // The page's timers run on a clock the test moves (reads, pings, retries), starting at the bridge's time.
  await page.clock.install({ time: TEST_START });
  await page.route(`${TEST_KOMMO_ORIGIN}/**`, async (route: Route) => {
    const request = route.request();
    const url = new URL(request.url());
    const answer = await standIn.handle({
      method: request.method(),
      url: `${url.pathname}${url.search}`,
      body: request.postDataBuffer() ?? undefined,
    });
    if (!answer) strayRequests.push(`${request.method()} ${url.pathname}`);
    await route
      .fulfill(
        answer
          ? { status: answer.status, headers: answer.headers, body: answer.body }
          : { status: 404, contentType: 'text/plain', body: 'not a page of the stand-in' },
      )
      .catch(() => undefined);
  });

  const events = (type: string) =>
    t.sink.eventsOfType(type as never).filter((event) => event.data.kommo_conversation_id === KOMMO_CHAT_ID);
  const mark = () => page.locator(`.klb-mark[data-klb-chat="${KOMMO_CHAT_ID}"]`);
  const markState = async () =>
    (await mark().count()) === 0 ? 'none' : ((await mark().getAttribute('data-klb-state')) ?? 'none');

  return {
    page,
    standIn,
    pageErrors,
    strayRequests,
    liveFrames,
    get bridgeUrl() {
      return bridgeUrl;
    },
    /** Opens a card's page, as a Kommo user following a link. */
    async open(entity: 'leads' | 'contacts', id: number) {
      await page.goto(`${TEST_KOMMO_ORIGIN}${standIn.cardPath(entity, id)}`);
    },
    /** Navigates inside the account without a reload (Kommo's page:changed). */
    async navigate(path: string) {
      await page.click(`[data-nav="${path}"]`);
    },
    /** The mark's state: `online`, `offline`, or `none` when the widget shows nothing for the chat. */
    markState,
    /** The mark's state after `ms` more of the page's time (retries with backoff come due meanwhile). */
    async markStateAfter(ms: number): Promise<string> {
      await page.clock.fastForward(ms);
      return markState();
    },
    mark,
    /** Events the chat service received about the test chat, of one type. */
    events,
    /** The tab shows or hides (another tab in front, the window minimised). */
    async setVisibility(state: 'visible' | 'hidden') {
      // The page's Page Visibility API, as the browser reports a tab that is hidden or shown again.
      await page.evaluate((value) => {
        const doc = (globalThis as unknown as { document: EventTarget }).document;
        Object.defineProperty(doc, 'visibilityState', { configurable: true, get: () => value });
        doc.dispatchEvent(new Event('visibilitychange'));
      }, state);
    },
    /** Moves the bridge's clock, delivering what comes due (the background delivery waits meanwhile). */
    async advance(ms: number) {
      paused = true;
      try {
        while (pumping) await new Promise((resolve) => setTimeout(resolve, 5));
        await t.advance(ms);
      } finally {
        paused = false;
      }
    },
    /** The page's clock now. */
    pageTime: () => page.evaluate(() => Date.now()),
    /** When (by the page's clock) the widget asked the bridge to read the test chat, oldest first. */
    readCalls: () =>
      standIn.authorizedCalls
        .filter((call) => call.method === 'POST' && call.url.endsWith(`/widget/chats/${KOMMO_CHAT_ID}/read`))
        .map((call) => call.at),
    /** Stops the page's clock: from now on its timers fire only when the test runs the clock (`page.clock.runFor`). */
    async pauseClock() {
      // The page's clock runs until paused, so "a moment from now" may already be past by the time the
      // call lands on a busy machine: aim further ahead each time that happens.
      for (let aheadMs = 50; ; aheadMs *= 2) {
        try {
          await page.clock.pauseAt((await page.evaluate(() => Date.now())) + aheadMs);
          return;
        } catch (error) {
          if (aheadMs >= 60_000 || !String(error).includes('Cannot fast-forward to the past')) throw error;
        }
      }
    },
    /** Waits until the page has handed Kommo's talk event `seq` to its listeners. */
    async talkEventHandled(seq: number) {
      await expect.poll(() => standIn.talkEventsHandled, { timeout: 10_000 }).toBeGreaterThanOrEqual(seq);
    },
    async stopBridge() {
      await server?.close();
      server = undefined;
    },
    async startBridge() {
      server = await serveBridge(t.bridge, { port });
    },
    async close() {
      clearInterval(pump);
      standIn.close();
      await context.close().catch(() => undefined);
      await server?.close();
      while (pumping) await new Promise((resolve) => setTimeout(resolve, 5));
    },
  };
}

export type KommoPage = Awaited<ReturnType<typeof givenKommoPage>>;
