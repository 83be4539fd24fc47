import { createHmac } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { NO_EFFECT, observe } from '../support/hostile';
import { givenBridge, type TestBridge } from '../support/test-bridge';
import { expectContractError } from '../support/contract-errors';

/**
 * `/chat/...` requests are verified over the `webhook-timestamp` header and the body exactly as sent,
 * as the Standard Webhooks spec signs them: `${id}.${timestamp}.` + body bytes, HMAC-SHA256 with the
 * base64 after `whsec_`. The signatures here are that formula written out, not the bridge's signer.
 */

let bridge: TestBridge;
beforeEach(async () => {
  bridge = await givenBridge();
});
afterEach(async () => {
  await bridge.close();
});

function specSignature(webhookId: string, timestamp: string, body: Buffer): string {
  const key = Buffer.from(bridge.secrets.chatServiceSecret.slice('whsec_'.length), 'base64');
  return `v1,${createHmac('sha256', key)
    .update(Buffer.concat([Buffer.from(`${webhookId}.${timestamp}.`), body]))
    .digest('base64')}`;
}

function post(path: string, body: Buffer, signed: { webhookId: string; timestamp: string; signature: string }) {
  const headers = {
    'content-type': 'application/json',
    'webhook-id': signed.webhookId,
    'webhook-timestamp': signed.timestamp,
    'webhook-signature': signed.signature,
  };
  return bridge.send('POST', path, headers, body);
}

const now = () => String(Math.floor(bridge.clock.now() / 1000));
const presencePath = () => `/chat/${bridge.scopeId}/presence`;

describe('the body is verified as bytes', () => {
  it('a body that is not UTF-8, correctly signed over its bytes, passes the signature and is refused as JSON (400 invalid_json)', async () => {
    // Prepare
    const body = Buffer.from([0xff, 0xfe, 0x7b, 0x7d]);

    // Act
    const outcome = await observe(bridge, () =>
      post(presencePath(), body, {
        webhookId: 'msg_bytes',
        timestamp: now(),
        signature: specSignature('msg_bytes', now(), body),
      }),
    );

    // Assess
    expectContractError(outcome.result, [400]);
    expect(outcome.result.body.error.code).toBe('invalid_json');
    expect(outcome.effects).toEqual(NO_EFFECT);
  });

  it('JSON holding an invalid UTF-8 byte in a string, correctly signed, is 400 invalid_json: it is not JSON text, and would merge with U+FFFD', async () => {
    // Prepare
    const body = Buffer.concat([
      Buffer.from('{"client_id":"u-'),
      Buffer.from([0xff]),
      Buffer.from('","state":"online"}'),
    ]);

    // Act
    const outcome = await observe(bridge, () =>
      post(presencePath(), body, {
        webhookId: 'msg_json',
        timestamp: now(),
        signature: specSignature('msg_json', now(), body),
      }),
    );

    // Assess
    expectContractError(outcome.result, [400]);
    expect(outcome.result.body.error.code).toBe('invalid_json');
    expect(outcome.effects).toEqual(NO_EFFECT);
  });

  it('a body differing only in bytes that a lossy UTF-8 decode merges is refused with 401 and changes nothing', async () => {
    // Prepare: signed with U+FFFD (valid UTF-8), sent with 0xff where it was.
    const signedBody = Buffer.from('{"client_id":"u-\uFFFD","state":"online"}', 'utf8');
    const sentBody = Buffer.concat([
      Buffer.from('{"client_id":"u-'),
      Buffer.from([0xff]),
      Buffer.from('","state":"online"}'),
    ]);

    // Act
    const outcome = await observe(bridge, () =>
      post(presencePath(), sentBody, {
        webhookId: 'msg_merge',
        timestamp: now(),
        signature: specSignature('msg_merge', now(), signedBody),
      }),
    );

    // Assess
    expectContractError(outcome.result, [401]);
    expect(outcome.result.body.error.code).toBe('invalid_signature');
    expect(outcome.effects).toEqual(NO_EFFECT);
    expect(outcome.newReplays).toBe(0);
  });
});

describe('the webhook-timestamp header is verified as sent', () => {
  const body = Buffer.from(JSON.stringify({ client_id: 'u-1', state: 'online' }));

  it('a leading zero added to a header signed in canonical form is refused with 401 and changes nothing', async () => {
    // Act
    const outcome = await observe(bridge, () =>
      post(presencePath(), body, {
        webhookId: 'msg_zero',
        timestamp: `0${now()}`,
        signature: specSignature('msg_zero', now(), body),
      }),
    );

    // Assess
    expectContractError(outcome.result, [401]);
    expect(outcome.result.body.error.code).toBe('invalid_signature');
    expect(outcome.effects).toEqual(NO_EFFECT);
    expect(outcome.newReplays).toBe(0);
  });

  it('a header with a leading zero, signed with it, is accepted', async () => {
    // Act
    const response = await post(presencePath(), body, {
      webhookId: 'msg_zero_signed',
      timestamp: `0${now()}`,
      signature: specSignature('msg_zero_signed', `0${now()}`, body),
    });

    // Assess
    expect(response).toMatchObject({ status: 202, body: { ok: true } });
    expect((await bridge.chat('GET', `/chat/${bridge.scopeId}/presence/u-1`)).body.online).toBe(true);
  });

  it.each(['1.7e9', '+{now}', '{now}.0', '0x{hex}'])(
    'header %s is refused with 401 whichever form was signed, and changes nothing',
    async (template) => {
      // Prepare
      const sent = template.replace('{now}', now()).replace('{hex}', Number(now()).toString(16));

      // Act
      const signedAsSent = await observe(bridge, () =>
        post(presencePath(), body, {
          webhookId: 'msg_form',
          timestamp: sent,
          signature: specSignature('msg_form', sent, body),
        }),
      );
      const signedCanonical = await observe(bridge, () =>
        post(presencePath(), body, {
          webhookId: 'msg_form',
          timestamp: sent,
          signature: specSignature('msg_form', now(), body),
        }),
      );

      // Assess
      for (const outcome of [signedAsSent, signedCanonical]) {
        expectContractError(outcome.result, [401]);
        expect(outcome.effects).toEqual(NO_EFFECT);
        expect(outcome.newReplays).toBe(0);
      }
    },
  );
});
