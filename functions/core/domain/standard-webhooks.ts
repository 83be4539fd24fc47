import { timingSafeEqual } from 'node:crypto';
import { Webhook } from 'standardwebhooks';

/**
 * Standard Webhooks verification (https://www.standardwebhooks.com) with an injected clock.
 * The `standardwebhooks` library computes the signature; the 5-minute window is checked here against
 * the bridge's clock because the library's own check reads the system time, which tests must control.
 */
export const STANDARD_WEBHOOKS_TOLERANCE_SECONDS = 5 * 60;

export type WebhookVerdict =
  | { ok: true; webhookId: string; timestampSeconds: number }
  | { ok: false; code: 'missing_signature' | 'stale_timestamp' | 'invalid_signature'; message: string };

export interface WebhookHeaders {
  'webhook-id'?: string | undefined;
  'webhook-timestamp'?: string | undefined;
  'webhook-signature'?: string | undefined;
}

export class StandardWebhookVerifier {
  private readonly webhook: Webhook;

  constructor(secret: string) {
    this.webhook = new Webhook(secret);
  }

  sign(webhookId: string, timestampSeconds: number, body: string): string {
    return this.webhook.sign(webhookId, new Date(timestampSeconds * 1000), body);
  }

  verify(headers: WebhookHeaders, rawBody: Buffer, nowMs: number): WebhookVerdict {
    const webhookId = headers['webhook-id'];
    const timestamp = headers['webhook-timestamp'];
    const signatures = headers['webhook-signature'];
    if (!webhookId || !timestamp || !signatures) {
      return { ok: false, code: 'missing_signature', message: 'webhook-id, webhook-timestamp and webhook-signature headers are required' };
    }
    if (webhookId.length > 256 || !/^[\x21-\x7e]+$/.test(webhookId)) {
      return { ok: false, code: 'invalid_signature', message: 'webhook-id must be 1-256 printable ASCII characters' };
    }
    if (!/^\d{1,12}$/.test(timestamp)) {
      return { ok: false, code: 'invalid_signature', message: 'webhook-timestamp must be whole seconds since the epoch' };
    }
    const timestampSeconds = Number(timestamp);
    if (Math.abs(Math.floor(nowMs / 1000) - timestampSeconds) > STANDARD_WEBHOOKS_TOLERANCE_SECONDS) {
      return { ok: false, code: 'stale_timestamp', message: 'webhook-timestamp is more than 5 minutes away from now' };
    }
    const expected = Buffer.from(this.sign(webhookId, timestampSeconds, rawBody.toString('utf8')).slice('v1,'.length));
    for (const candidate of signatures.split(' ')) {
      const [version, signature] = candidate.split(',', 2);
      if (version !== 'v1' || signature === undefined) continue;
      const presented = Buffer.from(signature);
      if (presented.length === expected.length && timingSafeEqual(presented, expected)) {
        return { ok: true, webhookId, timestampSeconds };
      }
    }
    return { ok: false, code: 'invalid_signature', message: 'webhook-signature does not match the body' };
  }
}
