import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StandardWebhooksStatusSource } from '../../functions/core/adapters/chat-service/chat-service-client';
import { statusUrlFor } from '../../functions/core/config';
import { StandardWebhookVerifier } from '../../functions/core/domain/standard-webhooks';
import { ChatServiceSink } from '../../local/sandbox/chat-service-sink';

/**
 * The sink keeps message statuses as the chat service would, and answers the bridge's status query
 * only when it is signed with the shared secret (Standard Webhooks over the empty body).
 */

const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const otherSecret = 'whsec_c2VjcmV0LW9mLXNvbWVvbmUtZWxzZS0xMjM0NTY=';

const clock = {
  nowMs: Date.parse('2026-11-21T10:00:00Z'),
  now() {
    return this.nowMs;
  },
};

let sink: ChatServiceSink;
beforeEach(async () => {
  clock.nowMs = Date.parse('2026-11-21T10:00:00Z');
  sink = new ChatServiceSink({ secret, clock });
  await sink.start();
});
afterEach(async () => {
  await sink.close();
});

/** The bridge's own status query client, signing with `secrets` (the current one first). */
const bridgeSource = (secrets: [string, ...string[]] = [secret]) =>
  new StandardWebhooksStatusSource({ urlTemplate: sink.statusUrlTemplate, secrets, timeoutMs: 5_000, clock });

function signedHeaders(body: string, options: { secret?: string; webhookId?: string; timestampMs?: number } = {}) {
  const webhookId = options.webhookId ?? 'poll_1';
  const timestamp = Math.floor((options.timestampMs ?? clock.now()) / 1000);
  return {
    'webhook-id': webhookId,
    'webhook-timestamp': String(timestamp),
    'webhook-signature': new StandardWebhookVerifier(options.secret ?? secret).sign(webhookId, timestamp, body),
  };
}

async function query(msgid: string, headers: Record<string, string>): Promise<{ status: number; body: any }> {
  const response = await fetch(statusUrlFor(sink.statusUrlTemplate, msgid), { headers });
  return { status: response.status, body: await response.json() };
}

describe('the sink answers status queries signed as the bridge signs them', () => {
  it('404 for a message it has no status for, then the status it was given, as the bridge reads them', async () => {
    // Act
    const before = await bridgeSource().query('msg-1', { webhookId: 'poll_1' });
    sink.setMessageStatus('msg-1', { status: 'delivered' });
    const delivered = await bridgeSource().query('msg-1', { webhookId: 'poll_2' });
    sink.setMessageStatus('msg-1', { status: 'error', error_code: 905, error: 'blocked by the user' });
    const failed = await bridgeSource().query('msg-1', { webhookId: 'poll_3' });

    // Assess
    expect(before).toEqual({ outcome: 'unknown' });
    expect(delivered).toEqual({ outcome: 'update', update: { status: 'delivered' } });
    expect(failed).toEqual({
      outcome: 'update',
      update: { status: 'error', errorCode: 905, error: 'blocked by the user' },
    });
    expect(sink.statusQueriesFor('msg-1').map((entry) => [entry.webhookId, entry.answered])).toEqual([
      ['poll_1', 404],
      ['poll_2', 200],
      ['poll_3', 200],
    ]);
  });

  it('a msgid with "/" or "%" reaches the sink as one path segment and is read back as it was', async () => {
    // Prepare
    sink.setMessageStatus('a/b%c', { status: 'read' });

    // Act
    const answer = await bridgeSource().query('a/b%c', { webhookId: 'poll_1' });

    // Assess
    expect(answer).toEqual({ outcome: 'update', update: { status: 'read' } });
    expect(sink.statusQueries.map((entry) => entry.msgid)).toEqual(['a/b%c']);
  });

  it('during a secret rotation the bridge signs with both secrets, and a sink still on the previous one answers', async () => {
    // Prepare: the sink holds `secret`; the bridge's current secret is already the new one.
    sink.setMessageStatus('msg-1', { status: 'sent' });

    // Act
    const answer = await bridgeSource([otherSecret, secret]).query('msg-1', { webhookId: 'poll_1' });

    // Assess
    expect(answer).toEqual({ outcome: 'sent' });
  });
});

describe('the sink refuses status queries the chat service would refuse', () => {
  beforeEach(() => {
    sink.setMessageStatus('msg-1', { status: 'read' });
  });

  it.each([
    ['unsigned', {} as Record<string, string>, 'missing_signature'],
    ['signed with another secret', signedHeaders('', { secret: otherSecret }), 'invalid_signature'],
    ['signed over a body it does not carry', signedHeaders('{}'), 'invalid_signature'],
    ['signed 6 minutes ago', signedHeaders('', { timestampMs: Date.parse('2026-11-21T09:54:00Z') }), 'stale_timestamp'],
  ])('%s: 401, and the status is not given away', async (_, headers, code) => {
    // Act
    const answer = await query('msg-1', headers);

    // Assess
    expect(answer).toEqual({ status: 401, body: { error: { code, message: expect.any(String) } } });
    expect(sink.statusQueries).toEqual([]);
    expect(sink.rejected).toMatchObject([{ status: 401, code, httpMethod: 'GET' }]);
  });

  it('the bridge signing with a secret the sink does not hold: a failed call, not a status', async () => {
    // Act
    const answer = bridgeSource([otherSecret]).query('msg-1', { webhookId: 'poll_1' });

    // Assess
    await expect(answer).rejects.toMatchObject({ name: 'OutboundCallError', status: 401, retryable: false });
  });

  it('POST is not a status query: 405 naming GET and PUT', async () => {
    // Act
    const response = await fetch(statusUrlFor(sink.statusUrlTemplate, 'msg-1'), {
      method: 'POST',
      headers: signedHeaders(''),
      body: '',
    });

    // Assess
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('GET, PUT');
  });
});

describe('setting a status with PUT (npm run send -- chat-status)', () => {
  const put = (msgid: string, body: string, headers = signedHeaders(body)) =>
    fetch(statusUrlFor(sink.statusUrlTemplate, msgid), {
      method: 'PUT',
      headers: { 'content-type': 'application/json', ...headers },
      body,
    }).then(async (response) => ({ status: response.status, body: await response.json() }));

  it('a signed PUT sets what the next query answers', async () => {
    // Act
    const answer = await put('msg-1', JSON.stringify({ status: 'read' }));
    const queried = await bridgeSource().query('msg-1', { webhookId: 'poll_1' });

    // Assess
    expect(answer).toEqual({ status: 200, body: { ok: true, msgid: 'msg-1', status: 'read' } });
    expect(queried).toEqual({ outcome: 'update', update: { status: 'read' } });
  });

  it('an unsigned PUT is 401 and a status outside the contract is 400: neither changes anything', async () => {
    // Act
    const unsigned = await put('msg-1', JSON.stringify({ status: 'read' }), {} as ReturnType<typeof signedHeaders>);
    const unknownStatus = await put('msg-1', JSON.stringify({ status: 'seen' }));
    const queried = await bridgeSource().query('msg-1', { webhookId: 'poll_1' });

    // Assess
    expect(unsigned.status).toBe(401);
    expect(unknownStatus).toEqual({
      status: 400,
      body: { error: { code: 'invalid_status', message: expect.stringContaining('status') } },
    });
    expect(queried).toEqual({ outcome: 'unknown' });
  });
});
