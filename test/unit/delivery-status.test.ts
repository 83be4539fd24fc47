import { afterEach, describe, expect, it, vi } from 'vitest';
import { msgidSchema, statusRequestSchema } from '../../functions/chat-status/handler';
import { KommoChatApiClient } from '../../functions/core/adapters/kommo-chat-api/kommo-chat-api-client';
import {
  syncMayBeMissing,
  kommoDeliveryStatus,
  movesForward,
  nextEntryForKommo,
  statusView,
  type DeliveryStatus,
  type StatusEntry,
  type StatusRecord,
  type StatusUpdate,
} from '../../functions/core/domain/delivery-status';
import { BridgeError } from '../../functions/core/domain/errors';
import { validate } from '../../functions/core/http/api';
import { TEST_START } from '../support/manual-clock';

const scopeId = 'c0ffee00-0000-4000-8000-000000000001_52e591f7-c98f-4255-8495-827210138c81';

function entry(seq: number, update: StatusUpdate, kommo: StatusEntry['kommo'] = { attempts: 0 }): StatusEntry {
  return { ...update, seq, appliedAtMs: TEST_START + seq, kommo };
}

function record(history: StatusEntry[], overrides: Partial<StatusRecord> = {}): StatusRecord {
  return {
    scopeId,
    msgid: 'm-1',
    history,
    updatedAtMs: TEST_START,
    kommoSettledSeq: 0,
    syncRequestedAtMs: TEST_START,
    ...overrides,
  };
}

/** The 400 message a body gets, or the validated update. */
function validateBody(body: unknown): { update: StatusUpdate } | { refused: string } {
  try {
    return { update: validate(body, statusRequestSchema) };
  } catch (error) {
    if (error instanceof BridgeError && error.kind === 'invalid') return { refused: error.message };
    throw error;
  }
}

describe('status ordering', () => {
  it.each<[DeliveryStatus | undefined, DeliveryStatus, boolean]>([
    [undefined, 'delivered', true],
    [undefined, 'read', true],
    [undefined, 'error', true],
    ['delivered', 'read', true],
    ['delivered', 'error', true],
    ['read', 'error', true],
    ['delivered', 'delivered', false],
    ['read', 'delivered', false],
    ['read', 'read', false],
    ['error', 'delivered', false],
    ['error', 'read', false],
    ['error', 'error', false],
  ])('%s → %s moves forward: %s', (current, next, expected) => {
    // Act
    const forward = movesForward(current, next);

    // Assess
    expect(forward).toBe(expected);
  });
});

describe('status request validation', () => {
  it.each([
    { body: { status: 'delivered' }, update: { status: 'delivered' } },
    { body: { status: 'read' }, update: { status: 'read' } },
    ...[901, 902, 903, 904].map((code) => ({
      body: { status: 'error', error_code: code },
      update: { status: 'error', errorCode: code },
    })),
    {
      body: { status: 'error', error_code: 903, error: 'Gateway down' },
      update: { status: 'error', errorCode: 903, error: 'Gateway down' },
    },
    {
      body: { status: 'error', error_code: 905, error: 'Blocked' },
      update: { status: 'error', errorCode: 905, error: 'Blocked' },
    },
    {
      body: { status: 'error', error_code: 905, error: 'x'.repeat(500) },
      update: { status: 'error', errorCode: 905, error: 'x'.repeat(500) },
    },
  ])('accepts $body', ({ body, update }) => {
    // Act
    const result = validateBody(body);

    // Assess
    expect(result).toEqual({ update });
  });

  it.each([
    { name: 'no status', body: {}, message: 'status must be "delivered", "read" or "error"' },
    { name: 'an unknown status', body: { status: 'seen' }, message: 'status must be "delivered", "read" or "error"' },
    {
      name: 'error without a code',
      body: { status: 'error' },
      message: 'error_code (901-905) is required with status "error"',
    },
    {
      name: 'error text without a code',
      body: { status: 'error', error: 'Blocked' },
      message: 'error_code (901-905) is required with status "error"',
    },
    {
      name: 'a code outside 901-905',
      body: { status: 'error', error_code: 906 },
      message: 'error_code must be one of 901, 902, 903, 904, 905',
    },
    {
      name: 'a fractional code',
      body: { status: 'error', error_code: 901.5 },
      message: 'error_code must be one of 901, 902, 903, 904, 905',
    },
    {
      name: 'a code as text',
      body: { status: 'error', error_code: '901' },
      message: 'error_code must be one of 901, 902, 903, 904, 905',
    },
    {
      name: '905 without text',
      body: { status: 'error', error_code: 905 },
      message: 'error is required with error_code 905: Kommo shows it to the user',
    },
    {
      name: 'empty error text',
      body: { status: 'error', error_code: 905, error: '' },
      message: 'error must be 1-500 characters of text, not blank',
    },
    {
      name: 'blank error text',
      body: { status: 'error', error_code: 905, error: ' \n' },
      message: 'error must be 1-500 characters of text, not blank',
    },
    {
      name: 'error text over 500 characters',
      body: { status: 'error', error_code: 905, error: 'x'.repeat(501) },
      message: 'error must be 1-500 characters',
    },
    {
      name: 'error_code with delivered',
      body: { status: 'delivered', error_code: 901 },
      message: 'error_code is only allowed with status "error"',
    },
    {
      name: 'error text with read',
      body: { status: 'read', error: 'Blocked' },
      message: 'error is only allowed with status "error"',
    },
    {
      name: 'an unknown field',
      body: { status: 'read', read_at: '2026-11-21T10:00:00Z' },
      message: 'Unknown field: read_at',
    },
    { name: 'a body that is not an object', body: ['read'], message: 'The body must be a JSON object' },
  ])('refuses $name', ({ body, message }) => {
    // Act
    const result = validateBody(body);

    // Assess
    expect(result).toEqual({ refused: message });
  });

  it('counts error text in characters, so 500 emoji fit', () => {
    // Act
    const result = validateBody({ status: 'error', error_code: 905, error: '🙈'.repeat(500) });

    // Assess
    expect(result).toEqual({ update: { status: 'error', errorCode: 905, error: '🙈'.repeat(500) } });
  });

  it.each([
    { msgid: undefined, message: 'msgid is required' },
    { msgid: '', message: 'msgid must be 1-128 characters' },
    { msgid: 'm'.repeat(129), message: 'msgid must be 1-128 characters' },
  ])('refuses msgid $msgid', ({ msgid, message }) => {
    // Act
    const attempt = () => validate(msgid, msgidSchema);

    // Assess
    expect(attempt).toThrow(message);
  });
});

describe('the Kommo delivery-status call', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it.each([
    { update: { status: 'delivered' }, body: { msgid: 'm-1', delivery_status: 1 } },
    { update: { status: 'read' }, body: { msgid: 'm-1', delivery_status: 2 } },
    { update: { status: 'error', errorCode: 901 }, body: { msgid: 'm-1', delivery_status: -1, error_code: 901 } },
    {
      update: { status: 'error', errorCode: 903, error: 'Gateway down' },
      body: { msgid: 'm-1', delivery_status: -1, error_code: 903, error: 'Gateway down' },
    },
    {
      update: { status: 'error', errorCode: 905, error: 'Blocked' },
      body: { msgid: 'm-1', delivery_status: -1, error_code: 905, error: 'Blocked' },
    },
  ] satisfies { update: StatusUpdate; body: unknown }[])('sends $body for $update', async ({ update, body }) => {
    // Prepare
    const fetch = vi.spyOn(globalThis, 'fetch').mockResolvedValue(new Response('{}', { status: 200 }));
    const client = new KommoChatApiClient({
      baseUrl: 'https://amojo.example',
      channelId: 'c0ffee00-0000-4000-8000-000000000001',
      channelSecret: 'f2d7f8704eff95087ed45b23ba99c0b5aac8278e',
      timeoutMs: 1000,
      clock: { now: () => TEST_START },
    });

    // Act
    await client.deliveryStatus(scopeId, kommoDeliveryStatus('m-1', update));

    // Assess
    const [url, init] = fetch.mock.calls[0]!;
    expect(url).toBe(`https://amojo.example/v2/origin/custom/${scopeId}/m-1/delivery_status`);
    expect(JSON.parse(String(init?.body))).toEqual(body);
  });
});

describe('the status record', () => {
  it('shows the current status and how far Kommo got with it', () => {
    // Prepare
    const history = [
      entry(1, { status: 'delivered' }, { attempts: 1, outcome: 'acknowledged' }),
      entry(
        2,
        { status: 'error', errorCode: 905, error: 'Blocked' },
        { attempts: 3, lastError: 'Kommo answered 503', nextAttemptAtMs: TEST_START + 8000 },
      ),
    ];

    // Act
    const view = statusView(record(history, { kommoSettledSeq: 1, updatedAtMs: TEST_START + 2 }));

    // Assess
    expect(view).toEqual({
      msgid: 'm-1',
      status: 'error',
      error_code: 905,
      error: 'Blocked',
      updated_at: new Date(TEST_START + 2).toISOString(),
      kommo: { delivered: false, attempts: 3, last_error: 'Kommo answered 503' },
    });
  });

  it.each([
    { outcome: 'acknowledged', delivered: true },
    { outcome: 'refused', delivered: false },
    { outcome: 'dead-lettered', delivered: false },
    { outcome: undefined, delivered: false },
  ] as const)(
    'counts the latest entry as delivered to Kommo only when acknowledged ($outcome)',
    ({ outcome, delivered }) => {
      // Act
      const view = statusView(record([entry(1, { status: 'read' }, { attempts: 1, ...(outcome ? { outcome } : {}) })]));

      // Assess
      expect(view.kommo.delivered).toBe(delivered);
      expect(view).not.toHaveProperty('error_code');
    },
  );

  it('sends Kommo the oldest unsettled entry next', () => {
    // Prepare
    const history = [
      entry(1, { status: 'delivered' }),
      entry(2, { status: 'read' }),
      entry(3, { status: 'error', errorCode: 901 }),
    ];

    // Act
    const next = [0, 1, 2, 3].map((settled) => nextEntryForKommo(record(history, { kommoSettledSeq: settled }))?.seq);

    // Assess
    expect(next).toEqual([1, 2, 3, undefined]);
  });

  it.each([
    { name: 'unsettled, nobody on it', overrides: {}, atMs: TEST_START + 1, stuck: true },
    { name: 'never queued', overrides: { syncRequestedAtMs: 0 }, atMs: TEST_START, stuck: true },
    {
      name: 'leased by a job',
      overrides: { leaseUntilMs: TEST_START + 60_000 },
      atMs: TEST_START + 30_000,
      stuck: false,
    },
    { name: 'settled', overrides: { kommoSettledSeq: 1 }, atMs: TEST_START + 60_000, stuck: false },
    {
      name: 'in backoff',
      overrides: {},
      kommo: { attempts: 2, nextAttemptAtMs: TEST_START + 60_000 },
      atMs: TEST_START + 59_999,
      stuck: false,
    },
    {
      name: 'past its backoff',
      overrides: {},
      kommo: { attempts: 2, nextAttemptAtMs: TEST_START + 60_000 },
      atMs: TEST_START + 60_000,
      stuck: true,
    },
  ])('a repeated update queues the sync again when $name: $stuck', ({ overrides, kommo, atMs, stuck }) => {
    // Act
    const verdict = syncMayBeMissing(record([entry(1, { status: 'read' }, kommo)], overrides), atMs);

    // Assess
    expect(verdict).toBe(stuck);
  });
});
