import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { replayRecord } from '../support/hostile';
import { givenBridge, type TestBridge } from '../support/test-bridge';

let bridge: TestBridge;
beforeEach(async () => {
  bridge = await givenBridge();
});
afterEach(async () => {
  await bridge.close();
});

const start = { conversation_id: 'c-1', sender_id: 'u-7', state: 'start' };

describe('Standard Webhooks authentication on /chat/...', () => {
  it('accepts a correctly signed request', async () => {
    const response = await bridge.chat('POST', `/chat/${bridge.scopeId}/typing`, start);

    expect(response).toMatchObject({ status: 202, body: { ok: true } });
    expect(bridge.kommo.typingCalls()).toHaveLength(1);
  });

  it.each([
    ['signed with another secret', { secret: `whsec_${randomBytes(32).toString('base64')}` }, 'invalid_signature'],
    [
      '6 minutes old',
      { timestampSeconds: Math.floor(Date.parse('2026-11-21T10:00:00Z') / 1000) - 360 },
      'stale_timestamp',
    ],
    [
      '6 minutes ahead',
      { timestampSeconds: Math.floor(Date.parse('2026-11-21T10:00:00Z') / 1000) + 360 },
      'stale_timestamp',
    ],
    ['with no signature header', { headers: { 'webhook-signature': '' } }, 'missing_signature'],
    ['with a truncated signature', { headers: { 'webhook-signature': 'v1,abc' } }, 'invalid_signature'],
    [
      'with an unknown signature version',
      { headers: { 'webhook-signature': 'v2,bm90LWEtc2lnbmF0dXJl' } },
      'invalid_signature',
    ],
    ['with a non-numeric timestamp', { headers: { 'webhook-timestamp': '12abc' } }, 'invalid_signature'],
  ])('refuses a request %s with 401 and changes nothing', async (_, options, code) => {
    const response = await bridge.chat('POST', `/chat/${bridge.scopeId}/typing`, start, options);

    expect(response).toMatchObject({ status: 401, body: { error: { code } } });
    expect(bridge.kommo.typingCalls()).toHaveLength(0);
    expect(bridge.bridge.queues.timers.depth).toBe(0);
  });

  it('refuses a signed body that was changed afterwards', async () => {
    const signed = JSON.stringify(start);
    const response = await bridge.chat('POST', `/chat/${bridge.scopeId}/typing`, undefined, {
      rawBody: signed.replace('u-7', 'u-8'),
      headers: {
        'webhook-signature': (
          await import('../../functions/core/domain/standard-webhooks')
        ).StandardWebhookVerifier.prototype.sign.call(
          new (await import('../../functions/core/domain/standard-webhooks')).StandardWebhookVerifier(
            bridge.secrets.chatServiceSecret,
          ),
          'msg_x',
          Math.floor(bridge.clock.now() / 1000),
          signed,
        ),
        'webhook-id': 'msg_x',
      },
    });

    expect(response.status).toBe(401);
    expect(bridge.kommo.typingCalls()).toHaveLength(0);
  });

  it('answers a replayed webhook-id on a claimed route (a status update) with the first answer and no second effect', async () => {
    const first = await bridge.chat(
      'POST',
      `/chat/${bridge.scopeId}/messages/m-1/status`,
      { status: 'read' },
      { webhookId: 'msg_replayed' },
    );
    bridge.clock.advanceBy(5_000);

    const replay = await bridge.chat(
      'POST',
      `/chat/${bridge.scopeId}/messages/m-1/status`,
      { status: 'read' },
      { webhookId: 'msg_replayed' },
    );
    await bridge.advance(60_000);

    expect(first).toMatchObject({ status: 202, body: { ok: true, applied: true } });
    expect(replay).toMatchObject({ status: 202, body: first.body, headers: { 'webhook-replayed': 'true' } });
    expect(bridge.kommo.deliveryStatusCalls()).toHaveLength(1);
    expect(await replayRecord(bridge, 'msg_replayed')).toEqual({ state: 'answered', statusCode: 202 });
  });

  it('processes a repeated typing start again (typing is not claimed): the same answer, no second Kommo call, no replay record', async () => {
    const first = await bridge.chat('POST', `/chat/${bridge.scopeId}/typing`, start, { webhookId: 'msg_repeated' });
    bridge.clock.advanceBy(1_000);

    const repeat = await bridge.chat('POST', `/chat/${bridge.scopeId}/typing`, start, { webhookId: 'msg_repeated' });
    await bridge.advance(0);

    expect(first).toMatchObject({ status: 202, body: { ok: true } });
    expect(repeat).toMatchObject({ status: 202, body: first.body });
    expect(repeat.headers['webhook-replayed']).toBeUndefined();
    expect(bridge.kommo.typingCalls()).toHaveLength(1);
    expect(await replayRecord(bridge, 'msg_repeated')).toBeUndefined();
  });

  it('replays a first answer that was an error, too', async () => {
    const bad = { status: 'seen' };
    const first = await bridge.chat('POST', `/chat/${bridge.scopeId}/messages/m-1/status`, bad, {
      webhookId: 'msg_bad',
    });

    const replay = await bridge.chat('POST', `/chat/${bridge.scopeId}/messages/m-1/status`, bad, {
      webhookId: 'msg_bad',
    });

    expect(first).toMatchObject({ status: 400, body: { error: { code: 'invalid_field' } } });
    expect(replay).toMatchObject({ status: 400, body: first.body, headers: { 'webhook-replayed': 'true' } });
  });

  it('answers 404 for a scope of another channel, after authentication', async () => {
    const response = await bridge.chat('POST', `/chat/other-channel_${bridge.accountId}/typing`, start);

    expect(response).toMatchObject({ status: 404, body: { error: { code: 'unknown_scope' } } });
  });

  it('refuses bodies over 64 KiB with 413', async () => {
    const response = await bridge.chat('POST', `/chat/${bridge.scopeId}/typing`, {
      ...start,
      padding: 'x'.repeat(70_000),
    });

    expect(response).toMatchObject({ status: 413, body: { error: { code: 'body_too_large' } } });
  });
});
