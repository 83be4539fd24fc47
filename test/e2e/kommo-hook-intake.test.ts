import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { signKommoHook } from '../../functions/core/domain/amojo-signature';
import { givenBridge, messageHook, typingHook, type TestBridge } from '../support/test-bridge';

let bridge: TestBridge;
beforeEach(async () => {
  bridge = await givenBridge();
});
afterEach(async () => {
  await bridge.close();
});

describe('POST /kommo/{scope_id}', () => {
  it('accepts a signed hook with 200 and queues it before any other party is called', async () => {
    const response = await bridge.kommoHook(typingHook(bridge));

    expect(response).toMatchObject({ status: 200, body: { ok: true } });
    expect(bridge.bridge.queues.hooks.depth).toBe(1);
    expect(bridge.sink.events).toHaveLength(0);
  });

  it('refuses the same hook with one byte changed: 401 and nothing queued', async () => {
    const raw = JSON.stringify(typingHook(bridge));
    const signature = signKommoHook(Buffer.from(raw), bridge.secrets.channelSecret);

    const response = await bridge.kommoHook(undefined, { rawBody: raw.replace('"c-1"', '"c-2"'), signature });

    expect(response).toMatchObject({ status: 401, body: { error: { code: 'invalid_signature' } } });
    expect(bridge.bridge.queues.hooks.depth).toBe(0);
  });

  it.each([
    ['missing', null, 'missing_signature'],
    ['uppercase hex', 'UPPER', 'invalid_signature'],
    ['from another secret', 'OTHER', 'invalid_signature'],
    ['truncated', 'TRUNCATED', 'invalid_signature'],
  ])('refuses a %s signature with 401', async (_, kind, code) => {
    const body = typingHook(bridge);
    const right = signKommoHook(Buffer.from(JSON.stringify(body)), bridge.secrets.channelSecret);
    const signature =
      kind === null
        ? null
        : kind === 'UPPER'
          ? right.toUpperCase()
          : kind === 'TRUNCATED'
            ? right.slice(0, 20)
            : signKommoHook(Buffer.from(JSON.stringify(body)), 'f'.repeat(40));

    const response = await bridge.kommoHook(body, { signature });

    expect(response).toMatchObject({ status: 401, body: { error: { code } } });
    expect(bridge.bridge.queues.hooks.depth).toBe(0);
  });

  it('refuses a hook for another account of the channel with 400', async () => {
    const response = await bridge.kommoHook({
      ...typingHook(bridge),
      account_id: '11111111-2222-4333-8444-555555555555',
    });

    expect(response).toMatchObject({ status: 400, body: { error: { code: 'account_mismatch' } } });
    expect(bridge.bridge.queues.hooks.depth).toBe(0);
  });

  it.each([
    ['another channel', 'ffffffff-0000-4000-8000-000000000000_52e591f7-c98f-4255-8495-827210138c81'],
    ['no account part', 'c0ffee00-0000-4000-8000-000000000001_'],
    ['path characters', 'c0ffee00-0000-4000-8000-000000000001_..%2F..'],
  ])('answers 404 for a scope of %s', async (_, scope) => {
    const response = await bridge.kommoHook(typingHook(bridge), { scope });

    expect(response).toMatchObject({ status: 404, body: { error: { code: 'unknown_scope' } } });
    expect(bridge.bridge.queues.hooks.depth).toBe(0);
  });

  it.each([
    ['not JSON', '{"account_id":', 'invalid_json'],
    [
      'a typing hook without expired_at',
      JSON.stringify({
        account_id: '52e591f7-c98f-4255-8495-827210138c81',
        action: { typing: { user: { id: 'u' }, conversation: { id: 'c' } } },
      }),
      'invalid_hook',
    ],
    [
      'a message hook without a message id',
      JSON.stringify({
        account_id: '52e591f7-c98f-4255-8495-827210138c81',
        message: { conversation: { id: 'c' }, message: { type: 'text' } },
      }),
      'invalid_hook',
    ],
    ['no account_id', JSON.stringify({ time: 1 }), 'invalid_hook'],
    ['a JSON array', '[]', 'invalid_hook'],
  ])('refuses %s with 400 and queues nothing', async (_, raw, code) => {
    const response = await bridge.kommoHook(undefined, { rawBody: raw });

    expect(response).toMatchObject({ status: 400, body: { error: { code } } });
    expect(bridge.bridge.queues.hooks.depth).toBe(0);
  });

  it('refuses a body over 64 KiB with 413 before reading it', async () => {
    const raw = JSON.stringify({ ...messageHook(bridge.accountId), padding: 'x'.repeat(64 * 1024) });

    const response = await bridge.kommoHook(undefined, { rawBody: raw });

    expect(response).toMatchObject({ status: 413, body: { error: { code: 'body_too_large' } } });
    expect(bridge.bridge.queues.hooks.depth).toBe(0);
  });

  it('acknowledges a typing hook that has already expired and drops it', async () => {
    const response = await bridge.kommoHook(
      typingHook(bridge, { expiredAtSeconds: Math.floor(bridge.clock.now() / 1000) - 1 }),
    );
    await bridge.advance(10_000);

    expect(response.status).toBe(200);
    expect(bridge.sink.events).toHaveLength(0);
  });

  it('acknowledges a message hook without forwarding when no forward URL is set', async () => {
    const response = await bridge.kommoHook(messageHook(bridge.accountId));
    await bridge.advance(1000);

    expect(response.status).toBe(200);
    expect(bridge.bridge.queues.hooks.depth).toBe(0);
    expect(bridge.metrics.get('HookForwarded')).toBe(0);
  });
});

describe('routes that do not exist', () => {
  it('answers an unknown route with the contract 404', async () => {
    const response = await bridge.send('GET', '/nowhere', {}, Buffer.alloc(0));

    expect(response).toMatchObject({ status: 404, body: { error: { code: 'unknown_route' } } });
  });

  it('answers a wrong method with 405', async () => {
    const response = await bridge.send('GET', `/kommo/${bridge.scopeId}`, {}, Buffer.alloc(0));

    expect(response).toMatchObject({ status: 405, body: { error: { code: 'method_not_allowed' } } });
  });
});
