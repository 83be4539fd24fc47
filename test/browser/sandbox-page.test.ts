import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { serveBridge } from '../../local/http-server';
import { signedChatRequest } from '../../local/requests';
import { SANDBOX_CHAT } from '../../local/runtime';
import { KommoAccountStandIn } from '../../local/sandbox/kommo-account';
import { BROWSER_TEST_LIMITS, givenBrowserOnLocalRuntime, SOON } from '../support/browser-on-local-runtime';

/**
 * `npm start` in sandbox mode: the local runtime (real-time queues, system clock) also serves a
 * stand-in of the Kommo account's pages with the real widget, where a newcomer sees the mark, typing
 * and reads move while sending the chat service's requests (what `npm run send` sends).
 */

const sandbox = givenBrowserOnLocalRuntime();

/** A request signed with the sandbox's chat-service secret, as `npm run send` makes it. */
async function send(path: string, body: unknown): Promise<number> {
  const raw = JSON.stringify(body);
  const response = await fetch(`${sandbox.runtime.url}/chat/${sandbox.runtime.scopeId}${path}`, {
    method: 'POST',
    headers: signedChatRequest(sandbox.runtime.config.CHAT_SERVICE_SECRET, raw),
    body: raw,
  });
  return response.status;
}

const sandboxEvents = (type: string) =>
  sandbox.runtime.sink!.events.filter(
    (event) => event.type === type && event.data.kommo_conversation_id === SANDBOX_CHAT.kommoConversationId,
  );

describe('the sandbox page of npm start', BROWSER_TEST_LIMITS, () => {
  it('is served by the local server at /sandbox/kommo, never by the API: its prefixes cannot shadow a route', async () => {
    const page = await fetch(sandbox.runtime.sandboxPageUrl!);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toContain('text/html');
    expect(await page.text()).toContain('/sandbox/kommo/assets/kommo-stand-in.js');

    // The same request through the API's routes (what API Gateway and the Lambdas serve): no such route.
    const viaApi = await sandbox.runtime.bridge.invoke({
      method: 'GET',
      url: '/sandbox/kommo',
      headers: {},
      body: Buffer.alloc(0),
    });
    expect(viaApi.statusCode).toBe(404);

    await expect(
      serveBridge(sandbox.runtime.bridge, {
        port: 0,
        localPages: { prefixes: ['/widget/'], handle: async () => undefined },
      }),
    ).rejects.toThrow(/would shadow the API \(POST \/widget\/presence\)/);
    await expect(
      serveBridge(sandbox.runtime.bridge, {
        port: 0,
        localPages: { prefixes: ['/chat/pages/'], handle: async () => undefined },
      }),
    ).rejects.toThrow(/would shadow the API/);
    expect(KommoAccountStandIn.prefixes).toEqual(['/sandbox/kommo/', '/api/v4/']);
  });

  it('shows the client presence, typing and reads moving while the chat service sends its requests', async () => {
    const context = await sandbox.browser.newContext();
    const page: Page = await context.newPage();
    await page.clock.install();
    try {
      await page.goto(sandbox.runtime.sandboxPageUrl!);
      const mark = page.locator(`.klb-mark[data-klb-chat="${SANDBOX_CHAT.kommoConversationId}"]`);
      await expect.poll(() => mark.getAttribute('data-klb-state'), SOON).toBe('offline');
      await expect
        .poll(() => sandboxEvents('presence.changed').map((event) => event.data.state), SOON)
        .toEqual(['online']);
      await expect.poll(() => sandboxEvents('conversation.read').length, SOON).toBe(1);

      expect(await send('/presence', { client_id: SANDBOX_CHAT.clientId, state: 'online', ttl_seconds: 30 })).toBe(202);
      await expect.poll(() => mark.getAttribute('data-klb-state'), SOON).toBe('online');

      expect(
        await send('/typing', {
          conversation_id: SANDBOX_CHAT.conversationId,
          sender_id: SANDBOX_CHAT.clientId,
          state: 'start',
          ttl_seconds: 15,
        }),
      ).toBe(202);
      await expect
        .poll(() => page.locator(`.chat[data-chat="${SANDBOX_CHAT.kommoConversationId}"] .typing`).textContent(), SOON)
        .toBe('The client is typing…');

      // A client message while the card stays open: read once the 30 s since the first read have passed.
      await page.clock.fastForward(31_000);
      await page.click(`[data-client-writes="${SANDBOX_CHAT.kommoConversationId}"]`);
      await page.clock.fastForward(5_000);
      await expect.poll(() => sandboxEvents('conversation.read').length, SOON).toBe(2);
      await expect.poll(() => page.locator('#sandbox-events').textContent(), SOON).toContain('conversation.read');
      const logText = (await page.locator('#sandbox-events').textContent()) ?? '';
      expect(logText).toMatch(/\d\d:\d\d:\d\d conversation\.read Kommo user #\d+ read conversation \S+/);
      expect(logText).not.toMatch(/undefined|null/);

      await page.click('[data-nav="/"]');
      await expect
        .poll(() => sandboxEvents('presence.changed').map((event) => event.data.state), SOON)
        .toEqual(['online', 'offline']);
    } finally {
      await context.close();
    }
  });
});
