import { writeFileSync } from 'node:fs';
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { kommoMessageHookBody, kommoTypingHookBody, signedChatRequest, signedKommoHook } from '../../local/requests';
import { SANDBOX_ACCOUNT_ID, SANDBOX_CHAT, SANDBOX_KOMMO_ORIGIN, sandboxWidgetToken } from '../../local/runtime';
import { BROWSER_TEST_LIMITS, givenBrowserOnLocalRuntime, SOON } from '../support/browser-on-local-runtime';

/**
 * `npm start`'s messenger page: the client's side of the sandbox chat, built on the chat-service
 * client, with the Kommo stand-in card (the real widget) beside it. What a person does on the page
 * reaches Kommo's side, and what a Kommo user does shows on the page. Real-time runtime, as npm start
 * runs it; every wait has a limit far above what an idle machine needs.
 *
 * `UPDATE_SCREENSHOTS=1 npx vitest run test/browser/messenger-page.test.ts` also writes the README's
 * screenshot (docs/images/messenger-page.png).
 */

const SCREENSHOT = new URL('../../docs/images/messenger-page.png', import.meta.url);

const sandbox = givenBrowserOnLocalRuntime();

/** A signed Kommo hook, as Kommo posts it to the bridge. */
async function kommoHook(body: string): Promise<number> {
  const response = await fetch(`${sandbox.runtime.url}/kommo/${sandbox.runtime.scopeId}`, {
    method: 'POST',
    headers: signedKommoHook(sandbox.runtime.config.KOMMO_CHANNEL_SECRET, body),
    body,
  });
  return response.status;
}

/** The Kommo user opens the chat: the widget's read, with a one-time token as Kommo mints it. */
async function widgetRead(): Promise<number> {
  const token = await sandboxWidgetToken(sandbox.runtime.config, { nowMs: Date.now() });
  const response = await fetch(`${sandbox.runtime.url}/widget/chats/${SANDBOX_CHAT.kommoConversationId}/read`, {
    method: 'POST',
    headers: { origin: SANDBOX_KOMMO_ORIGIN, 'x-auth-token': token },
  });
  return response.status;
}

async function clientPresence(): Promise<boolean> {
  const response = await fetch(
    `${sandbox.runtime.url}/chat/${sandbox.runtime.scopeId}/presence/${SANDBOX_CHAT.clientId}`,
    {
      headers: signedChatRequest(sandbox.runtime.config.CHAT_SERVICE_SECRET, ''),
    },
  );
  return ((await response.json()) as { online: boolean }).online;
}

const clientTypingCalls = () =>
  sandbox.runtime.kommo!.typingCalls().filter((call) => call.body.conversation_id === SANDBOX_CHAT.conversationId);

describe('the messenger page of npm start', BROWSER_TEST_LIMITS, () => {
  it('moves typing, presence, reads and delivery statuses both ways, beside the Kommo card', async () => {
    const context = await sandbox.browser.newContext({ viewport: { width: 1280, height: 720 } });
    const page: Page = await context.newPage();
    try {
      await page.goto(sandbox.runtime.messengerPageUrl!);
      const card = page.frameLocator('#kommo');
      const mark = card.locator(`.klb-mark[data-klb-chat="${SANDBOX_CHAT.kommoConversationId}"]`);
      await expect.poll(() => mark.getAttribute('data-klb-state'), SOON).toBe('offline');

      // The client types: the bridge makes Kommo show it, and the card beside shows it.
      await page.locator('#text').pressSequentially('Hello');
      await expect.poll(() => clientTypingCalls().length, SOON).toBeGreaterThanOrEqual(1);
      await expect
        .poll(() => card.locator(`.chat[data-chat="${SANDBOX_CHAT.kommoConversationId}"] .typing`).textContent(), SOON)
        .toBe('The client is typing…');

      // The client goes online: the bridge holds it, and the widget's mark flips; then offline again.
      await page.locator('#online').check();
      await expect.poll(clientPresence, SOON).toBe(true);
      await expect.poll(() => mark.getAttribute('data-klb-state'), SOON).toBe('online');

      // The client sends: one tick; a Kommo user reads the chat: two ticks.
      await page.locator('#compose button').click();
      const ticks = page.locator('.bubble.mine .ticks');
      await expect.poll(() => ticks.textContent(), SOON).toBe('✓');
      expect(await widgetRead()).toBe(202);
      await expect.poll(() => ticks.getAttribute('class'), SOON).toBe('ticks read');
      expect(await ticks.textContent()).toBe('✓✓');

      // A Kommo user types: the typing bubble shows on the messenger.
      const typingHook = kommoTypingHookBody(SANDBOX_ACCOUNT_ID, {
        kommoConversationId: SANDBOX_CHAT.kommoConversationId,
        clientConversationId: SANDBOX_CHAT.conversationId,
        userId: 'b0bc49f0-ec21-4463-965f-1fe1d4cd5b89',
      });
      expect(await kommoHook(typingHook)).toBe(200);
      await expect.poll(() => page.locator('#typing-bubble').isVisible(), SOON).toBe(true);

      // A Kommo user writes: the message shows up when the bridge asks for its status; the page reports it.
      const messageHook = kommoMessageHookBody(SANDBOX_ACCOUNT_ID, {
        msgid: 'msg-page-1',
        kommoConversationId: SANDBOX_CHAT.kommoConversationId,
        clientConversationId: SANDBOX_CHAT.conversationId,
        clientId: SANDBOX_CHAT.clientId,
      });
      expect(await kommoHook(messageHook)).toBe(200);
      const kommoMessage = page.locator('.bubble.theirs[data-msgid="msg-page-1"]');
      await expect.poll(() => kommoMessage.count(), SOON).toBe(1);
      await kommoMessage.locator('[data-report="delivered"]').click();
      await expect.poll(() => kommoMessage.locator('.ticks').textContent(), SOON).toBe('delivered');
      await kommoMessage.locator('[data-report="read"]').click();
      await expect.poll(() => kommoMessage.locator('.ticks').textContent(), SOON).toBe('read');
      await expect
        .poll(
          () =>
            sandbox.runtime
              .kommo!.deliveryStatusCalls()
              .filter((call) => call.msgid === 'msg-page-1')
              .map((call) => call.body.delivery_status),
          SOON,
        )
        .toEqual([1, 2]);

      const screenshot = await page.screenshot();
      expect(screenshot.subarray(1, 4).toString()).toBe('PNG');
      if (process.env.UPDATE_SCREENSHOTS === '1') writeFileSync(SCREENSHOT, screenshot);

      await page.locator('#online').uncheck();
      await expect.poll(clientPresence, SOON).toBe(false);
      await expect.poll(() => mark.getAttribute('data-klb-state'), SOON).toBe('offline');
    } finally {
      await context.close();
    }
  });

  it('refuses an empty message with a clear error and records nothing', async () => {
    // Prepare
    const messages = async () =>
      ((await (await fetch(`${sandbox.runtime.url}/sandbox/messenger/state`)).json()) as { messages: unknown[] })
        .messages;
    const before = await messages();

    // Act
    const answer = await fetch(`${sandbox.runtime.url}/sandbox/messenger/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ text: '   ' }),
    });

    // Assess
    expect(answer.status).toBe(400);
    expect(await answer.json()).toEqual({ error: { code: 'invalid_field', message: 'text must not be empty' } });
    expect(await messages()).toEqual(before);
  });
});
