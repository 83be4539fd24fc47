import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StandardWebhookVerifier } from '../../functions/core/domain/standard-webhooks';
import { ChatServiceSink } from '../../local/sandbox/chat-service-sink';

const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const otherSecret = 'whsec_c2VjcmV0LW9mLXNvbWVvbmUtZWxzZS0xMjM0NTY=';
const minutes = (count: number) => count * 60_000;

/** The sink's notion of now, moved by tests instead of waiting. */
const clock = {
  nowMs: Date.parse('2026-11-21T10:00:00Z'),
  now() {
    return this.nowMs;
  },
};

const typingStarted = {
  type: 'typing.started',
  id: 'evt_1',
  timestamp: '2026-11-21T10:00:00.000Z',
  data: {
    scope_id: 'channel_account',
    account_id: 'account',
    conversation_id: 'c7',
    kommo_conversation_id: 'f1e4e02c-f502-4165-9377-8575c55c5ebd',
    user_id: 'fb0fb604-9e04-4e1d-bee9-37c71924cdc2',
    expires_at: '2026-11-21T10:00:05.000Z',
  },
};

interface Delivery {
  body: string;
  headers: Record<string, string>;
}

interface Signing {
  secret?: string;
  webhookId?: string;
  timestampMs?: number;
}

/** A delivery signed as the bridge signs it: Standard Webhooks over the exact body, `webhook-id` = event id. */
function signedDelivery(event: unknown, signing: Signing = {}): Delivery {
  const body = typeof event === 'string' ? event : JSON.stringify(event);
  const webhookId = signing.webhookId ?? (event as { id?: string }).id ?? 'evt_unknown';
  const timestampSeconds = Math.floor((signing.timestampMs ?? clock.now()) / 1000);
  return {
    body,
    headers: {
      'content-type': 'application/json',
      'webhook-id': webhookId,
      'webhook-timestamp': String(timestampSeconds),
      'webhook-signature': new StandardWebhookVerifier(signing.secret ?? secret).sign(
        webhookId,
        timestampSeconds,
        body,
      ),
    },
  };
}

let sink: ChatServiceSink;
let eventsUrl: string;
let logLines: string[];

async function deliver(delivery: Delivery, url = eventsUrl): Promise<{ status: number; body: unknown }> {
  const response = await fetch(url, { method: 'POST', headers: delivery.headers, body: delivery.body });
  return { status: response.status, body: await response.json() };
}

beforeEach(async () => {
  clock.nowMs = Date.parse('2026-11-21T10:00:00Z');
  logLines = [];
  sink = new ChatServiceSink({ secret, clock, log: (line) => logLines.push(line) });
  eventsUrl = await sink.start();
});

afterEach(async () => {
  await sink.close();
});

describe('ChatServiceSink accepts signed events', () => {
  it('records an event once even when it is delivered twice', async () => {
    // Prepare
    const delivery = signedDelivery(typingStarted);

    // Act
    const first = await deliver(delivery);
    const redelivery = await deliver(delivery);

    // Assess
    expect(first).toEqual({ status: 200, body: { ok: true } });
    expect(redelivery).toEqual({ status: 200, body: { ok: true } });
    expect(sink.events).toEqual([
      {
        id: 'evt_1',
        type: 'typing.started',
        data: typingStarted.data,
        timestamp: typingStarted.timestamp,
        receivedAt: clock.now(),
      },
    ]);
    expect(sink.duplicates).toBe(1);
    expect(sink.rejected).toEqual([]);
    expect(logLines[0]).toBe(
      'chat service ← typing.started: Kommo user fb0f… types in conversation c7 until 10:00:05Z',
    );
  });

  it.each([
    {
      event: { ...typingStarted, type: 'typing.stopped' as const, id: 'evt_2' },
      logLine: 'chat service ← typing.stopped: Kommo user fb0f… stopped typing in conversation c7',
    },
    {
      event: {
        ...typingStarted,
        type: 'presence.changed' as const,
        id: 'evt_3',
        data: { ...typingStarted.data, state: 'online' },
      },
      logLine: 'chat service ← presence.changed: Kommo user fb0f… is now online in conversation c7',
    },
    {
      event: {
        ...typingStarted,
        type: 'conversation.read' as const,
        id: 'evt_4',
        data: { ...typingStarted.data, read_at: '2026-11-21T09:59:30.000Z' },
      },
      logLine: 'chat service ← conversation.read: Kommo user fb0f… read conversation c7 up to 09:59:30Z',
    },
    {
      event: {
        ...typingStarted,
        type: 'presence.changed' as const,
        id: 'evt_5',
        data: { ...typingStarted.data, user_id: null, kommo_user_id: 7001, state: 'offline' },
      },
      logLine: 'chat service ← presence.changed: Kommo user #7001 is now offline in conversation c7',
    },
  ])('records $event.type and logs what the chat service learns', async ({ event, logLine }) => {
    // Prepare
    const delivery = signedDelivery(event);

    // Act
    const response = await deliver(delivery);

    // Assess
    expect(response.status).toBe(200);
    expect(sink.eventsOfType(event.type)).toMatchObject([{ id: event.id, data: event.data }]);
    expect(logLines).toEqual([logLine]);
  });

  it('accepts a timestamp 4 minutes old, inside the 5-minute window', async () => {
    // Prepare
    const delivery = signedDelivery(typingStarted, { timestampMs: clock.now() - minutes(4) });

    // Act
    const response = await deliver(delivery);

    // Assess
    expect(response.status).toBe(200);
    expect(sink.events).toHaveLength(1);
  });
});

describe('ChatServiceSink refuses what a careful receiver refuses', () => {
  it.each([
    {
      name: 'is signed with another secret',
      code: 'invalid_signature',
      delivery: () => signedDelivery(typingStarted, { secret: otherSecret }),
    },
    {
      name: 'was changed after signing',
      code: 'invalid_signature',
      delivery: () => ({
        ...signedDelivery(typingStarted),
        body: JSON.stringify({ ...typingStarted, data: { ...typingStarted.data, conversation_id: 'c8' } }),
      }),
    },
    {
      name: 'is timestamped 6 minutes ago',
      code: 'stale_timestamp',
      delivery: () => signedDelivery(typingStarted, { timestampMs: clock.now() - minutes(6) }),
    },
    {
      name: 'was signed before the clock moved 6 minutes on',
      code: 'stale_timestamp',
      delivery: () => {
        const delivery = signedDelivery(typingStarted);
        clock.nowMs += minutes(6);
        return delivery;
      },
    },
    {
      name: 'has no webhook-signature',
      code: 'missing_signature',
      delivery: () => {
        const { 'webhook-signature': _signature, ...headers } = signedDelivery(typingStarted).headers;
        return { body: JSON.stringify(typingStarted), headers };
      },
    },
  ])('401 $code when the delivery $name, and nothing is recorded', async ({ delivery, code }) => {
    // Prepare
    const forged = delivery();

    // Act
    const response = await deliver(forged);

    // Assess
    expect(response).toEqual({ status: 401, body: { error: { code, message: expect.any(String) } } });
    expect(sink.events).toEqual([]);
    expect(sink.rejected).toMatchObject([{ status: 401, code, scripted: false }]);
    expect(logLines).toEqual([
      expect.stringMatching(new RegExp(`^chat service refuses POST /events: 401 ${code} \\(.+\\)$`)),
    ]);
  });

  it.each([
    {
      name: 'webhook-id differs from the event id',
      code: 'webhook_id_mismatch',
      delivery: () => signedDelivery(typingStarted, { webhookId: 'evt_other' }),
    },
    {
      name: 'the body is not JSON',
      code: 'invalid_json',
      delivery: () => signedDelivery('{"type":', { webhookId: 'evt_1' }),
    },
    {
      name: 'the event type is not in the contract',
      code: 'invalid_event',
      delivery: () => signedDelivery({ ...typingStarted, type: 'typing.paused' }),
    },
    {
      name: 'data has no scope_id',
      code: 'invalid_event',
      delivery: () => signedDelivery({ ...typingStarted, data: { ...typingStarted.data, scope_id: undefined } }),
    },
    {
      name: 'typing.started has no expires_at',
      code: 'invalid_event',
      delivery: () => signedDelivery({ ...typingStarted, data: { ...typingStarted.data, expires_at: undefined } }),
    },
  ])('400 $code when $name', async ({ delivery, code }) => {
    // Prepare
    const signed = delivery();

    // Act
    const response = await deliver(signed);

    // Assess
    expect(response).toEqual({ status: 400, body: { error: { code, message: expect.any(String) } } });
    expect(sink.events).toEqual([]);
  });

  it('404 for a path other than /events', async () => {
    // Prepare
    const delivery = signedDelivery(typingStarted);

    // Act
    const response = await deliver(delivery, eventsUrl.replace(/\/events$/, '/webhooks'));

    // Assess
    expect(response).toEqual({ status: 404, body: { error: { code: 'not_found', message: expect.any(String) } } });
    expect(sink.events).toEqual([]);
  });
});

describe('ChatServiceSink fault injection', () => {
  it('failNext answers 503 without recording, and the redelivery is recorded once', async () => {
    // Prepare
    sink.failNext(1, 503);
    const delivery = signedDelivery(typingStarted);

    // Act
    const first = await deliver(delivery);
    const retry = await deliver(delivery);

    // Assess
    expect(first.status).toBe(503);
    expect(retry.status).toBe(200);
    expect(sink.events.map((event) => event.id)).toEqual(['evt_1']);
    expect(sink.duplicates).toBe(0);
    expect(sink.rejected).toMatchObject([{ status: 503, webhookId: 'evt_1', scripted: true }]);
  });

  it('respondWith scripts answers per event and leaves the others to normal handling', async () => {
    // Prepare
    sink.respondWith((event) =>
      event.type === 'typing.stopped' ? { status: 429, headers: { 'retry-after': '1' } } : undefined,
    );

    // Act
    const throttled = await deliver(signedDelivery({ ...typingStarted, type: 'typing.stopped', id: 'evt_2' }));
    const accepted = await deliver(signedDelivery(typingStarted));

    // Assess
    expect(throttled.status).toBe(429);
    expect(accepted.status).toBe(200);
    expect(sink.events.map((event) => event.type)).toEqual(['typing.started']);
  });

  it('still refuses a badly signed delivery with 401 while a script answers every event', async () => {
    // Prepare
    sink.respondWith(() => ({ status: 503 }));

    // Act
    const response = await deliver(signedDelivery(typingStarted, { secret: otherSecret }));

    // Assess
    expect(response.status).toBe(401);
    expect(sink.rejected).toMatchObject([{ status: 401, scripted: false }]);
  });

  it('while down, the sender gets a network error and nothing is recorded; back up, events are recorded', async () => {
    // Prepare
    sink.setDown(true);
    const delivery = signedDelivery(typingStarted);

    // Act
    await expect(deliver(delivery)).rejects.toThrow(TypeError);
    sink.setDown(false);
    const afterRecovery = await deliver(delivery);

    // Assess
    expect(afterRecovery.status).toBe(200);
    expect(sink.events).toHaveLength(1);
  });

  it('setLatency delays the answer in real time', async () => {
    // Prepare
    sink.setLatency(50);
    const startedAt = performance.now();

    // Act
    const response = await deliver(signedDelivery(typingStarted));

    // Assess
    expect(response.status).toBe(200);
    expect(performance.now() - startedAt).toBeGreaterThanOrEqual(45);
  });
});
