import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Standard Webhooks (https://www.standardwebhooks.com) signing and verification, with an injected clock.
 *
 * The signed content is `${webhook-id}.${webhook-timestamp}.` followed by the body, and it is checked
 * exactly as sent: the timestamp header's own digits and the body's own bytes. Verifying over a
 * normalised form (the timestamp re-serialised as a number, the body decoded as UTF-8) would let
 * another request that normalises the same way pass with the same signature.
 * The 5-minute window is checked against the bridge's clock, which tests control.
 */
export const STANDARD_WEBHOOKS_TOLERANCE_SECONDS = 5 * 60;

const SECRET_PREFIX = 'whsec_';
const SIGNATURE_VERSION = 'v1';

export type WebhookVerdict =
  | { ok: true; webhookId: string; timestampSeconds: number }
  | { ok: false; code: 'missing_signature' | 'stale_timestamp' | 'invalid_signature'; message: string };

export interface WebhookHeaders {
  'webhook-id'?: string | undefined;
  'webhook-timestamp'?: string | undefined;
  'webhook-signature'?: string | undefined;
}

/** The HMAC key of a secret: the base64 after `whsec_` (the prefix is optional, as in the spec's libraries). */
function secretKey(secret: string): Buffer {
  const encoded = secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret;
  // Node's base64 decoder skips characters it does not know; a typo must not silently become another key.
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(encoded))
    throw new Error('A Standard Webhooks secret must be "whsec_" followed by base64');
  const key = Buffer.from(encoded, 'base64');
  if (key.length === 0) throw new Error('A Standard Webhooks secret must not be empty');
  return key;
}

function signatureOver(key: Buffer, webhookId: string, timestamp: string, body: string | Uint8Array): string {
  return createHmac('sha256', key).update(`${webhookId}.${timestamp}.`).update(body).digest('base64');
}

export class StandardWebhookVerifier {
  private readonly keys: readonly [Buffer, ...Buffer[]];

  /**
   * Verifies with any of `secrets` (during a secret rotation, the previous and the new one);
   * signs with the first.
   */
  constructor(secrets: string | readonly string[]) {
    const [first, ...others] = typeof secrets === 'string' ? [secrets] : secrets;
    if (first === undefined) throw new Error('A Standard Webhooks verifier needs at least one secret');
    this.keys = [secretKey(first), ...others.map(secretKey)];
  }

  /** The `webhook-signature` header for a body; a string body is signed as its UTF-8 bytes. */
  sign(webhookId: string, timestampSeconds: number, body: string | Uint8Array): string {
    return `${SIGNATURE_VERSION},${signatureOver(this.keys[0], webhookId, String(timestampSeconds), body)}`;
  }

  verify(headers: WebhookHeaders, rawBody: Uint8Array, nowMs: number): WebhookVerdict {
    const webhookId = headers['webhook-id'];
    const timestamp = headers['webhook-timestamp'];
    const signatures = headers['webhook-signature'];
    if (!webhookId || !timestamp || !signatures) {
      return {
        ok: false,
        code: 'missing_signature',
        message: 'webhook-id, webhook-timestamp and webhook-signature headers are required',
      };
    }
    if (webhookId.length > 256 || !/^[\x21-\x7e]+$/.test(webhookId)) {
      return { ok: false, code: 'invalid_signature', message: 'webhook-id must be 1-256 printable ASCII characters' };
    }
    // Digits only: the header is signed as sent, so no sign, space, fraction or exponent is read as a number.
    // At most 12 digits: seconds need 10 until the year 2286; 13 is a timestamp in milliseconds.
    if (!/^[0-9]{1,12}$/.test(timestamp)) {
      return {
        ok: false,
        code: 'invalid_signature',
        message: 'webhook-timestamp must be whole seconds since the epoch: 1-12 digits, nothing else',
      };
    }
    const timestampSeconds = Number(timestamp);
    if (!(Math.abs(Math.floor(nowMs / 1000) - timestampSeconds) <= STANDARD_WEBHOOKS_TOLERANCE_SECONDS)) {
      return { ok: false, code: 'stale_timestamp', message: 'webhook-timestamp is more than 5 minutes away from now' };
    }
    const expected = this.keys.map((key) => Buffer.from(signatureOver(key, webhookId, timestamp, rawBody)));
    for (const candidate of signatures.split(' ')) {
      const [version, signature] = candidate.split(',', 2);
      if (version !== SIGNATURE_VERSION || signature === undefined) continue;
      const presented = Buffer.from(signature);
      if (expected.some((value) => presented.length === value.length && timingSafeEqual(presented, value))) {
        return { ok: true, webhookId, timestampSeconds };
      }
    }
    return { ok: false, code: 'invalid_signature', message: 'webhook-signature does not match the body' };
  }
}
