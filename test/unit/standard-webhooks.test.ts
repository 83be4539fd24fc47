import { createHmac, randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { StandardWebhookVerifier } from '../../functions/core/domain/standard-webhooks';

/**
 * Standard Webhooks as the spec writes it: the signed content is `${id}.${timestamp}.` followed by the
 * body, the timestamp header's own characters and the body's own bytes, HMAC-SHA256 keyed with the
 * base64 after `whsec_`. The oracle here is that formula written out with node:crypto.
 */

const secret = `whsec_${randomBytes(32).toString('base64')}`;
const NOW_SECONDS = 1_700_000_000;
const NOW_MS = NOW_SECONDS * 1000;

/** The spec's signature over exactly these characters and bytes. */
function specSignature(secretValue: string, webhookId: string, timestamp: string, body: Uint8Array): string {
  const key = Buffer.from(secretValue.slice('whsec_'.length), 'base64');
  return `v1,${createHmac('sha256', key)
    .update(Buffer.concat([Buffer.from(`${webhookId}.${timestamp}.`), body]))
    .digest('base64')}`;
}

function headers(webhookId: string, timestamp: string, signature: string) {
  return { 'webhook-id': webhookId, 'webhook-timestamp': timestamp, 'webhook-signature': signature };
}

describe('Standard Webhooks signatures', () => {
  it("match the spec's published test vector", () => {
    // Prepare: the vector of the Standard Webhooks reference libraries.
    const verifier = new StandardWebhookVerifier('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw');

    // Act
    const signature = verifier.sign('msg_p5jXN8AQM9LWM0D4loKWxJek', 1614265330, '{"test": 2432232314}');

    // Assess
    expect(signature).toBe('v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=');
  });

  it('of any UTF-8 text are the ones the standardwebhooks library makes (the bridge signs its own events with it)', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'grapheme', maxLength: 200 }),
        fc.stringMatching(/^[\x21-\x7e]{1,40}$/),
        fc.integer({ min: 0, max: 99_999_999_999 }),
        (body, webhookId, timestamp) => {
          // Act
          const ours = new StandardWebhookVerifier(secret).sign(webhookId, timestamp, body);

          // Assess
          expect(ours).toBe(new Webhook(secret).sign(webhookId, new Date(timestamp * 1000), body));
        },
      ),
    );
  });
});

describe('StandardWebhookVerifier.verify checks the body bytes exactly as sent', () => {
  const verifier = new StandardWebhookVerifier(secret);

  it('accepts a body that is not valid UTF-8 when it was signed over those bytes', () => {
    // Prepare: 0xff and a lone continuation byte are not UTF-8.
    const body = Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0x80, 0x22, 0x7d]);

    // Act
    const verdict = verifier.verify(
      headers('msg_1', String(NOW_SECONDS), specSignature(secret, 'msg_1', String(NOW_SECONDS), body)),
      body,
      NOW_MS,
    );

    // Assess
    expect(verdict).toEqual({ ok: true, webhookId: 'msg_1', timestampSeconds: NOW_SECONDS });
  });

  it.each([
    ['0xff', [0xff]],
    ['0xfe', [0xfe]],
    ['a lone continuation byte', [0x80]],
    ['a truncated 3-byte sequence', [0xe2, 0x82]],
    ['an overlong "/"', [0xc0, 0xaf]],
  ])(
    'refuses a body holding %s under the signature of the body with U+FFFD in its place (a lossy decode makes them equal)',
    (_, bytes) => {
      // Prepare
      const signedBody = Buffer.from('{"a":"\uFFFD"}', 'utf8');
      const sentBody = Buffer.concat([Buffer.from('{"a":"'), Buffer.from(bytes), Buffer.from('"}')]);
      const signature = specSignature(secret, 'msg_1', String(NOW_SECONDS), signedBody);

      // Act
      const verdict = verifier.verify(headers('msg_1', String(NOW_SECONDS), signature), sentBody, NOW_MS);

      // Assess
      expect(verdict).toMatchObject({ ok: false, code: 'invalid_signature' });
    },
  );

  it('refuses, under a signature of one invalid byte sequence, a body with another that decodes the same', () => {
    // Prepare
    const signedBody = Buffer.from([0x22, 0xff, 0x22]);
    const sentBody = Buffer.from([0x22, 0xfe, 0x22]);
    expect(sentBody.toString('utf8')).toBe(signedBody.toString('utf8'));

    // Act
    const verdict = verifier.verify(
      headers('msg_1', String(NOW_SECONDS), specSignature(secret, 'msg_1', String(NOW_SECONDS), signedBody)),
      sentBody,
      NOW_MS,
    );

    // Assess
    expect(verdict).toMatchObject({ ok: false, code: 'invalid_signature' });
  });

  it('signs a Buffer body as its own bytes, not as decoded text', () => {
    // Prepare
    const body = Buffer.from([0x7b, 0xff, 0x7d]);

    // Act
    const signature = verifier.sign('msg_1', NOW_SECONDS, body);

    // Assess
    expect(signature).toBe(specSignature(secret, 'msg_1', String(NOW_SECONDS), body));
  });
});

describe('StandardWebhookVerifier.verify checks the webhook-timestamp header exactly as sent', () => {
  const verifier = new StandardWebhookVerifier(secret);
  const body = Buffer.from('{"status":"read"}');
  const canonical = String(NOW_SECONDS);

  it.each([`0${canonical}`, `00${canonical}`])(
    'refuses header %s under the signature made over the canonical form',
    (sent) => {
      // Act
      const verdict = verifier.verify(
        headers('msg_1', sent, specSignature(secret, 'msg_1', canonical, body)),
        body,
        NOW_MS,
      );

      // Assess
      expect(verdict).toMatchObject({ ok: false, code: 'invalid_signature' });
    },
  );

  it.each([`0${canonical}`, `00${canonical}`])(
    'refuses the canonical header under a signature made over %s',
    (signed) => {
      // Act
      const verdict = verifier.verify(
        headers('msg_1', canonical, specSignature(secret, 'msg_1', signed, body)),
        body,
        NOW_MS,
      );

      // Assess
      expect(verdict).toMatchObject({ ok: false, code: 'invalid_signature' });
    },
  );

  it('accepts a header with a leading zero when it was signed with that zero', () => {
    // Act
    const sent = `0${canonical}`;
    const verdict = verifier.verify(headers('msg_1', sent, specSignature(secret, 'msg_1', sent, body)), body, NOW_MS);

    // Assess
    expect(verdict).toEqual({ ok: true, webhookId: 'msg_1', timestampSeconds: NOW_SECONDS });
  });

  it.each([
    '1.7e9',
    '1700000000.0',
    ' 1700000000',
    '1700000000 ',
    '+1700000000',
    '-1700000000',
    '0x6553f100',
    '１７００００００００',
    '1_700_000_000',
    '1700000000000',
    '',
  ])('refuses header %j with 401 even when it was signed exactly so, or over the canonical form', (sent) => {
    // Act
    const signedAsSent = verifier.verify(
      headers('msg_1', sent, specSignature(secret, 'msg_1', sent, body)),
      body,
      NOW_MS,
    );
    const signedCanonical = verifier.verify(
      headers('msg_1', sent, specSignature(secret, 'msg_1', canonical, body)),
      body,
      NOW_MS,
    );

    // Assess
    expect(signedAsSent.ok).toBe(false);
    expect(signedCanonical.ok).toBe(false);
    if (!signedAsSent.ok) expect(['invalid_signature', 'missing_signature']).toContain(signedAsSent.code);
  });
});

describe('StandardWebhookVerifier with several secrets (a secret rotation)', () => {
  const previous = `whsec_${randomBytes(32).toString('base64')}`;
  const next = `whsec_${randomBytes(32).toString('base64')}`;
  const body = Buffer.from('{"client_id":"u-1","state":"online"}');
  const timestamp = String(NOW_SECONDS);

  it.each([
    ['the previous secret', previous],
    ['the new secret', next],
  ])('accepts a request signed with %s', (_, signingSecret) => {
    // Prepare
    const verifier = new StandardWebhookVerifier([next, previous]);

    // Act
    const verdict = verifier.verify(
      headers('msg_1', timestamp, specSignature(signingSecret, 'msg_1', timestamp, body)),
      body,
      NOW_MS,
    );

    // Assess
    expect(verdict).toEqual({ ok: true, webhookId: 'msg_1', timestampSeconds: NOW_SECONDS });
  });

  it('accepts a signature list holding a signature with each secret', () => {
    // Prepare
    const verifier = new StandardWebhookVerifier([next, previous]);
    const list = `${specSignature(previous, 'msg_1', timestamp, body)} ${specSignature(next, 'msg_1', timestamp, body)}`;

    // Act
    const verdict = verifier.verify(headers('msg_1', timestamp, list), body, NOW_MS);

    // Assess
    expect(verdict.ok).toBe(true);
  });

  it('refuses a request signed with a secret that is in neither place', () => {
    // Prepare
    const verifier = new StandardWebhookVerifier([next, previous]);
    const stranger = `whsec_${randomBytes(32).toString('base64')}`;

    // Act
    const verdict = verifier.verify(
      headers('msg_1', timestamp, specSignature(stranger, 'msg_1', timestamp, body)),
      body,
      NOW_MS,
    );

    // Assess
    expect(verdict).toMatchObject({ ok: false, code: 'invalid_signature' });
  });

  it('refuses, after the rotation, what only the previous secret signed', () => {
    // Prepare
    const verifier = new StandardWebhookVerifier(next);

    // Act
    const verdict = verifier.verify(
      headers('msg_1', timestamp, specSignature(previous, 'msg_1', timestamp, body)),
      body,
      NOW_MS,
    );

    // Assess
    expect(verdict).toMatchObject({ ok: false, code: 'invalid_signature' });
  });

  it('signs with the first secret only', () => {
    // Act
    const signature = new StandardWebhookVerifier([next, previous]).sign('msg_1', NOW_SECONDS, body);

    // Assess
    expect(signature).toBe(specSignature(next, 'msg_1', timestamp, body));
  });

  it.each([
    ['no secret', []],
    ['a secret that is not base64', ['whsec_not base64!']],
    ['an empty secret', ['whsec_']],
  ])('cannot be made with %s', (_, secrets) => {
    // Act
    const make = () => new StandardWebhookVerifier(secrets);

    // Assess
    expect(make).toThrow();
  });
});
