import { timingSafeEqual } from 'node:crypto';
import type { Webhook } from 'standardwebhooks';

/** Both directions (requests to the bridge, events from it) are signed with the same `whsec_…` secret. */
export const TIMESTAMP_TOLERANCE_SECONDS = 5 * 60;

export interface SignedHeaders {
  'webhook-id': string;
  'webhook-timestamp': string;
  'webhook-signature': string;
}

export function signedHeaders(webhook: Webhook, webhookId: string, nowMs: number, body: string): SignedHeaders {
  const timestamp = new Date(Math.floor(nowMs / 1000) * 1000);
  return {
    'webhook-id': webhookId,
    'webhook-timestamp': String(Math.floor(nowMs / 1000)),
    'webhook-signature': webhook.sign(webhookId, timestamp, body),
  };
}

export class SignatureError extends Error {
  override readonly name = 'SignatureError';
}

/**
 * The Standard Webhooks check, on a clock you can give (the library's `verify` reads the wall clock,
 * which a test on a manual clock or a replayed capture cannot use). The HMAC is the library's.
 */
export function verifySignature(
  webhook: Webhook,
  headers: Record<string, string | string[] | undefined> | Headers,
  body: string,
  nowMs: number,
): { webhookId: string } {
  const get = (name: string): string | undefined => {
    if (typeof (headers as Headers).get === 'function') return (headers as Headers).get(name) ?? undefined;
    const record = headers as Record<string, string | string[] | undefined>;
    const key = Object.keys(record).find((candidate) => candidate.toLowerCase() === name);
    const value = key === undefined ? undefined : record[key];
    return Array.isArray(value) ? value[0] : value;
  };
  const webhookId = get('webhook-id');
  const timestampText = get('webhook-timestamp');
  const signatures = get('webhook-signature');
  if (!webhookId || !timestampText || !signatures)
    throw new SignatureError('webhook-id, webhook-timestamp and webhook-signature are all required');
  if (!/^[0-9]{1,12}$/.test(timestampText)) throw new SignatureError('webhook-timestamp must be unix seconds');
  const timestamp = Number(timestampText);
  if (Math.abs(nowMs / 1000 - timestamp) > TIMESTAMP_TOLERANCE_SECONDS)
    throw new SignatureError('webhook-timestamp is more than 5 minutes away from now');
  const expected = Buffer.from(webhook.sign(webhookId, new Date(timestamp * 1000), body));
  const matches = signatures
    .split(' ')
    .map((candidate) => Buffer.from(candidate))
    .some((candidate) => candidate.length === expected.length && timingSafeEqual(candidate, expected));
  if (!matches) throw new SignatureError('no webhook-signature matches the body and the secret');
  return { webhookId };
}
