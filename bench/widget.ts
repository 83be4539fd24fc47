import chromium from '@sparticuz/chromium';
import { chromium as playwright, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { SANDBOX_CHAT, type LocalRuntime } from '../local/runtime';
import { postChat, type BenchTarget } from './bridge-client';
import { percentile, type BenchResults } from './figures';

/** Card opens measured one after another, each in a fresh browser context (a new tab, nothing cached). */
const CARD_OPENS = 10;
/** Client presence transitions while the card stays open. */
const PRESENCE_CHANGES = 40;
/** The bound for the mark after a card opens, and the contract's for a presence change. */
const MARK_SHOWN_BOUND_MS = 5_000;
const PRESENCE_BOUND_MS = 1_000;
/** A mark that has not changed by then counts as lost. */
const WAIT_MS = 10_000;
/** The simulated hour, run on Playwright's page clock in steps of the widget's own 30-s cadence. */
const HOUR_MS = 60 * 60_000;
const STEP_MS = 30_000;

/** Lambda-only switches of @sparticuz/chromium (web security off, one process), as test/support/kommo-browser.ts leaves them out. */
const LAMBDA_ONLY_SWITCHES = new Set([
  '--disable-web-security',
  '--allow-running-insecure-content',
  '--single-process',
]);

/**
 * The real widget/script.js in headless Chromium, on the sandbox's Kommo account stand-in (real jQuery
 * and RequireJS, the widget built with `new`) against the local runtime, its lead card showing the
 * sandbox chat. Measures what a Kommo user would see and what the page costs the bridge:
 * - the mark shown after a card opens (navigation start → `.klb-mark` in the block);
 * - a client presence change (signed `POST /chat/{scope}/presence`) → the mark's state flipped in the page;
 * - the HTTP requests the page sends per card open and per hour open, by route, counted from what
 *   Chromium actually sent (the hour on Playwright's page clock; the bridge stays on the real clock).
 */
export async function measureWidget(
  results: BenchResults,
  target: BenchTarget,
  runtime: LocalRuntime,
  options: { log: (line: string) => void },
): Promise<void> {
  const pageUrl = runtime.sandboxPageUrl;
  if (!pageUrl) throw new Error('the widget bench needs the runtime in sandbox mode (the Kommo account stand-in)');
  const bridgeOrigin = new URL(target.url).origin;
  const browser = await launchBrowser();
  try {
    // ---- card opens: mark shown, requests per open ----------------------------------------------------
    const shownMs: number[] = [];
    const perOpen: Record<string, number>[] = [];
    let missed = 0;
    for (let open = 0; open < CARD_OPENS; open += 1) {
      const tab = await openTab(browser, bridgeOrigin);
      try {
        const startedAt = performance.now();
        await tab.page.goto(pageUrl, { waitUntil: 'commit' });
        const shown = await tab.page
          .waitForSelector('.klb-mark[data-klb-state]', { timeout: WAIT_MS })
          .then(() => performance.now() - startedAt)
          .catch(() => undefined);
        if (shown === undefined) {
          missed += 1;
          continue;
        }
        shownMs.push(shown);
        // The open is done when the chat was read and watched on the live channel (then the page goes quiet).
        await waitFor(() => tab.count('POST /widget/chats/{id}/read') >= 1 && tab.framesSent('watch') >= 1);
        await tab.quiet();
        perOpen.push(tab.routes());
      } finally {
        await tab.close();
      }
    }
    const requestsPerOpen = perOpen.map((routes) => Object.values(routes).reduce((sum, n) => sum + n, 0));
    results.add({
      name: 'widget.card_open_to_mark.p50',
      section: 'widget',
      label: 'card opens → mark shown p50',
      value: percentile(shownMs, 50),
      unit: 'ms',
      meaning: `p50 of ${shownMs.length} card opens, each in a fresh tab: from navigation start to the widget's mark in the card's block (page load, jQuery, RequireJS, the widget, the CRM API talks query, the bridge's chat lookup); headless Chromium on loopback.`,
    });
    results.add({
      name: 'widget.card_open_to_mark.max',
      section: 'widget',
      label: 'card opens → mark shown max',
      value: Math.max(...shownMs),
      unit: 'ms',
      meaning: `The slowest of the ${shownMs.length} card opens (target ≤ ${MARK_SHOWN_BOUND_MS} ms).`,
    });
    results.add({
      name: 'widget.requests_per_card_open',
      section: 'widget',
      label: 'HTTP requests per card open (1 chat)',
      value: Math.max(...requestsPerOpen),
      unit: 'requests',
      meaning: `Requests the page sent to the bridge and the account's CRM API from navigation to quiet, for a lead card with one chat of this channel (by route in details.widget.perOpen); Kommo's own token and push traffic and the WebSocket upgrade excluded.`,
    });
    results.expect(
      `widget: the mark shown within ${MARK_SHOWN_BOUND_MS} ms of every card open`,
      missed === 0 && Math.max(...shownMs) <= MARK_SHOWN_BOUND_MS,
      `${missed} of ${CARD_OPENS} never showed it; slowest ${Math.max(...shownMs).toFixed(0)} ms`,
    );

    // ---- the card stays open: client presence changes → the mark ---------------------------------------
    const presenceMs: number[] = [];
    let lost = 0;
    const tab = await openTab(browser, bridgeOrigin);
    try {
      await tab.page.goto(pageUrl);
      await tab.page.waitForSelector('.klb-mark[data-klb-state]', { timeout: WAIT_MS });
      let state = (await tab.page.getAttribute('.klb-mark', 'data-klb-state')) === 'online' ? 'online' : 'offline';
      for (let change = 0; change < PRESENCE_CHANGES; change += 1) {
        state = state === 'online' ? 'offline' : 'online';
        // Waiting starts before the change is sent, so a fast flip is not missed.
        const flipped = tab.page
          .waitForSelector(`.klb-mark[data-klb-state="${state}"]`, { timeout: WAIT_MS })
          .then(() => performance.now())
          .catch(() => undefined);
        const sent = await postChat(target, '/presence', {
          client_id: SANDBOX_CHAT.clientId,
          state,
          ttl_seconds: 3600,
        });
        if (sent.status !== 202) throw new Error(`client presence: ${sent.status}`);
        const at = await flipped;
        if (at === undefined) lost += 1;
        else presenceMs.push(at - sent.sentAt);
      }
    } finally {
      await tab.close();
    }
    for (const p of [50, 99]) {
      results.add({
        name: `widget.client_presence_to_mark.p${p}`,
        section: 'widget',
        label: `client presence change → mark p${p}`,
        value: percentile(presenceMs, p),
        unit: 'ms',
        meaning: `p${p} of ${presenceMs.length} transitions: from sending a signed POST /chat/{scope}/presence to the mark's state changing in the open card (live channel, the widget's frame handling and rendering; Playwright's selector wait adds its own polling).`,
      });
    }
    results.expect(
      `widget: every client presence change reached the mark within ${PRESENCE_BOUND_MS} ms (p99)`,
      lost === 0 && percentile(presenceMs, 99) <= PRESENCE_BOUND_MS,
      `${lost} of ${PRESENCE_CHANGES} lost; p99 ${percentile(presenceMs, 99).toFixed(0)} ms`,
    );

    // ---- an hour with the card open and visible, nothing happening -------------------------------------
    const hour = await openTab(browser, bridgeOrigin);
    let perHour: Record<string, number>;
    let framesPerHour: Record<string, number>;
    try {
      await hour.page.clock.install();
      await hour.page.goto(pageUrl);
      await hour.page.waitForSelector('.klb-mark[data-klb-state]', { timeout: WAIT_MS });
      await waitFor(() => hour.count('POST /widget/chats/{id}/read') >= 1 && hour.framesSent('watch') >= 1);
      await hour.quiet();
      hour.reset();
      for (let elapsed = 0; elapsed < HOUR_MS; elapsed += STEP_MS) {
        await hour.page.clock.runFor(STEP_MS);
        // What the step's timers sent is answered before the next step (a read's failure path included).
        await hour.quiet(30);
      }
      perHour = hour.routes();
      framesPerHour = hour.frames();
    } finally {
      await hour.close();
    }
    results.add({
      name: 'widget.requests_per_hour_open',
      section: 'widget',
      label: 'HTTP requests per hour open (1 chat)',
      value: Object.values(perHour).reduce((sum, n) => sum + n, 0),
      unit: 'requests',
      meaning:
        "Requests the page sent in an hour with the lead card open and visible and no client message (Playwright's page clock), after the open itself; by route in details.widget.perHour.",
    });
    results.add({
      name: 'widget.frames_per_hour_open',
      section: 'widget',
      label: 'live-channel frames sent per hour open',
      value: Object.values(framesPerHour).reduce((sum, n) => sum + n, 0),
      unit: 'calls',
      meaning:
        'WebSocket frames the page sent in that hour (pings every 30 s), by action in details.widget.framesPerHour.',
    });
    results.details.widget = {
      cardOpens: CARD_OPENS,
      missed,
      shownMs: shownMs.map(Math.round),
      perOpen: perOpen[0] ?? {},
      presence: { samples: presenceMs.length, lost, max: Math.max(...presenceMs) },
      perHour,
      framesPerHour,
    };
    options.log(
      `  mark shown after a card opens: p50 ${percentile(shownMs, 50).toFixed(0)} ms, max ${Math.max(...shownMs).toFixed(0)} ms; presence change → mark p99 ${percentile(presenceMs, 99).toFixed(0)} ms (${lost} lost)`,
    );
    options.log(`  per card open: ${JSON.stringify(perOpen[0] ?? {})}`);
    options.log(`  per hour open: ${JSON.stringify(perHour)}; frames ${JSON.stringify(framesPerHour)}`);
  } finally {
    await browser.close();
  }
}

async function launchBrowser(): Promise<Browser> {
  const args = chromium.args.filter((arg) => !LAMBDA_ONLY_SWITCHES.has(arg));
  return playwright.launch({ executablePath: await chromium.executablePath(), args, headless: true });
}

/**
 * A tab that counts what the page sends: HTTP requests to the bridge and to the account's CRM API, by
 * route (ids replaced by `{id}`), and the live channel's frames by action. The stand-in's own
 * machinery (its pages and assets, one-time tokens, the talk-event long poll) is Kommo's, not the widget's.
 */
async function openTab(browser: Browser, bridgeOrigin: string) {
  const context: BrowserContext = await browser.newContext();
  const page: Page = await context.newPage();
  let routes: Record<string, number> = {};
  let frames: Record<string, number> = {};
  let inFlight = 0;
  let lastActivity = performance.now();
  const routeOf = (method: string, url: URL): string | undefined => {
    if (url.origin !== bridgeOrigin) return `${method} ${url.origin}${url.pathname}`;
    if (url.pathname.startsWith('/api/v4/')) return `${method} ${url.pathname.replace(/\/\d+(?=\/|$)/g, '/{id}')}`;
    if (url.pathname.startsWith('/widget/'))
      return `${method} ${url.pathname.replace(/^\/widget\/chats\/[^/]+/, '/widget/chats/{id}')}`;
    return undefined;
  };
  page.on('request', (request) => {
    const route = routeOf(request.method(), new URL(request.url()));
    if (!route) return;
    lastActivity = performance.now();
    inFlight += 1;
    routes[route] = (routes[route] ?? 0) + 1;
  });
  const settled = (request: { method(): string; url(): string }) => {
    if (!routeOf(request.method(), new URL(request.url()))) return;
    lastActivity = performance.now();
    inFlight -= 1;
  };
  page.on('requestfinished', settled);
  page.on('requestfailed', settled);
  page.on('websocket', (socket) => {
    socket.on('framesent', (frame) => {
      lastActivity = performance.now();
      let action = 'unparsed';
      try {
        action = String((JSON.parse(String(frame.payload)) as { action?: unknown }).action);
      } catch {
        // counted as unparsed
      }
      frames[action] = (frames[action] ?? 0) + 1;
    });
  });
  return {
    page,
    count: (route: string) => routes[route] ?? 0,
    framesSent: (action: string) => frames[action] ?? 0,
    routes: () => ({ ...routes }),
    frames: () => ({ ...frames }),
    reset() {
      routes = {};
      frames = {};
    },
    /** Until nothing counted is in flight and nothing moved for `quietMs` (real time). */
    async quiet(quietMs = 300) {
      await waitFor(() => inFlight <= 0 && performance.now() - lastActivity >= quietMs);
    },
    close: () => context.close(),
  };
}

async function waitFor(condition: () => boolean, timeoutMs = WAIT_MS): Promise<void> {
  const until = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > until) throw new Error(`gave up waiting after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
