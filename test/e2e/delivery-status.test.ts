import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DynamoWriteMeter } from '../support/dynamo-writes';
import { tableItems } from '../support/hostile';
import { givenBridge, testSecrets, type TestBridge } from '../support/test-bridge';

/** Longer than the whole retry budget at the default DELIVERY_MAX_ATTEMPTS (8: waits of 1+2+4+…+64 s with mid-range jitter). */
const PAST_THE_RETRY_BUDGET_MS = 15 * 60_000;
const AFTER_THE_QUEUE_RUNS_MS = 10_000;

let bridge: TestBridge;

beforeEach(async () => {
  bridge = await givenBridge();
});

afterEach(async () => {
  vi.restoreAllMocks();
  await bridge.close();
});

const statusPath = (msgid: string) => `/chat/${bridge.scopeId}/messages/${encodeURIComponent(msgid)}/status`;
const postStatus = (msgid: string, body: unknown, options?: Parameters<TestBridge['chat']>[3]) =>
  bridge.chat('POST', statusPath(msgid), body, options);
const getStatus = (msgid: string) => bridge.chat('GET', statusPath(msgid));
const kommoBodies = () => bridge.kommo.deliveryStatusCalls().map((call) => call.body);
const statusQueueDepth = () => bridge.bridge.queues['kommo-status'].depth;

describe('status updates reach Kommo in order, once each', () => {
  it('sends only "read" when "delivered" comes after it', async () => {
    // Prepare
    await postStatus('m-1', { status: 'read' });

    // Act
    const stale = await postStatus('m-1', { status: 'delivered' });
    await bridge.advance(AFTER_THE_QUEUE_RUNS_MS);

    // Assess
    expect(stale).toMatchObject({ status: 202, body: { ok: true, applied: false, status: 'read' } });
    expect(kommoBodies()).toEqual([{ msgid: 'm-1', delivery_status: 2 }]);
    expect(bridge.metrics.get('StatusApplied')).toBe(1);
    expect(bridge.metrics.get('StatusIgnored')).toBe(1);
  });

  it('sends delivered, read and error 901 in that order', async () => {
    // Act
    const answers = [
      await postStatus('m-2', { status: 'delivered' }),
      await postStatus('m-2', { status: 'read' }),
      await postStatus('m-2', { status: 'error', error_code: 901 }),
    ];
    await bridge.advance(AFTER_THE_QUEUE_RUNS_MS);

    // Assess
    expect(answers.map((answer) => [answer.status, answer.body.applied, answer.body.status])).toEqual([
      [202, true, 'delivered'],
      [202, true, 'read'],
      [202, true, 'error'],
    ]);
    expect(kommoBodies()).toEqual([
      { msgid: 'm-2', delivery_status: 1 },
      { msgid: 'm-2', delivery_status: 2 },
      { msgid: 'm-2', delivery_status: -1, error_code: 901 },
    ]);
    expect(bridge.kommo.deliveryStatusCalls().every((call) => call.msgid === 'm-2')).toBe(true);
  });

  it('keeps the order when each update is sent before the next arrives', async () => {
    // Act
    for (const body of [
      { status: 'delivered' },
      { status: 'read' },
      { status: 'error', error_code: 905, error: 'Blocked by the recipient' },
    ]) {
      await postStatus('m-3', body);
      await bridge.advance(AFTER_THE_QUEUE_RUNS_MS);
    }

    // Assess
    expect(kommoBodies()).toEqual([
      { msgid: 'm-3', delivery_status: 1 },
      { msgid: 'm-3', delivery_status: 2 },
      { msgid: 'm-3', delivery_status: -1, error_code: 905, error: 'Blocked by the recipient' },
    ]);
    expect((await getStatus('m-3')).body).toEqual({
      msgid: 'm-3',
      status: 'error',
      error_code: 905,
      error: 'Blocked by the recipient',
      updated_at: new Date(bridge.clock.now() - AFTER_THE_QUEUE_RUNS_MS).toISOString(),
      kommo: { delivered: true, attempts: 1 },
    });
  });

  it('makes one Kommo call for 50 concurrent identical updates', async () => {
    // Act
    const answers = await Promise.all(Array.from({ length: 50 }, () => postStatus('m-4', { status: 'read' })));
    await bridge.advance(AFTER_THE_QUEUE_RUNS_MS);

    // Assess
    expect(answers.every((answer) => answer.status === 202 && answer.body.status === 'read')).toBe(true);
    expect(answers.filter((answer) => answer.body.applied)).toHaveLength(1);
    expect(kommoBodies()).toEqual([{ msgid: 'm-4', delivery_status: 2 }]);
  });

  it('answers a replayed webhook-id with the first answer and calls Kommo once', async () => {
    // Prepare
    const first = await postStatus('m-5', { status: 'delivered' }, { webhookId: 'msg_replayed' });
    await bridge.advance(AFTER_THE_QUEUE_RUNS_MS);

    // Act
    const replay = await postStatus('m-5', { status: 'delivered' }, { webhookId: 'msg_replayed' });
    await bridge.advance(AFTER_THE_QUEUE_RUNS_MS);

    // Assess
    expect(replay.status).toBe(first.status);
    expect(replay.body).toEqual({ ok: true, applied: true, status: 'delivered' });
    expect(replay.headers['webhook-replayed']).toBe('true');
    expect(kommoBodies()).toEqual([{ msgid: 'm-5', delivery_status: 1 }]);
  });

  it('calls Kommo no more once an update is acknowledged, however often it is repeated', async () => {
    // Prepare
    await postStatus('m-6', { status: 'read' });
    await bridge.advance(AFTER_THE_QUEUE_RUNS_MS);

    // Act
    for (let repeat = 0; repeat < 3; repeat += 1) {
      await postStatus('m-6', { status: 'read' });
      await bridge.advance(60_000);
    }

    // Assess
    expect(kommoBodies()).toEqual([{ msgid: 'm-6', delivery_status: 2 }]);
  });
});

describe('when the queue fails', () => {
  it("answers 503, and the chat service's retry of the same request queues the stored update", async () => {
    // Prepare
    const queue = bridge.bridge.queues['kommo-status'];
    vi.spyOn(queue, 'send').mockRejectedValueOnce(new Error('SQS unavailable'));
    const failed = await postStatus('m-16', { status: 'read' }, { webhookId: 'msg_retried' });
    await bridge.advance(AFTER_THE_QUEUE_RUNS_MS);
    const stuck = await getStatus('m-16');

    // Act
    const retried = await postStatus('m-16', { status: 'read' }, { webhookId: 'msg_retried' });
    await bridge.advance(AFTER_THE_QUEUE_RUNS_MS);

    // Assess
    expect(failed).toMatchObject({ status: 503, body: { error: { code: 'queue_unavailable' } } });
    expect(stuck.body.kommo).toEqual({ delivered: false, attempts: 0 });
    expect(retried).toMatchObject({ status: 202, body: { ok: true, applied: false, status: 'read' } });
    expect(kommoBodies()).toEqual([{ msgid: 'm-16', delivery_status: 2 }]);
  });
});

describe('what is refused stores nothing', () => {
  it.each([
    {
      name: '905 without text',
      body: { status: 'error', error_code: 905 },
      message: 'error is required with error_code 905: Kommo shows it to the user',
    },
    { name: 'an unknown status', body: { status: 'seen' }, message: 'status must be "delivered", "read" or "error"' },
    {
      name: 'error fields with read',
      body: { status: 'read', error_code: 901 },
      message: 'error_code is only allowed with status "error"',
    },
  ])('$name: 400 naming the field', async ({ body, message }) => {
    // Act
    const answer = await postStatus('m-7', body);
    await bridge.advance(AFTER_THE_QUEUE_RUNS_MS);

    // Assess
    expect(answer).toMatchObject({ status: 400, body: { error: { code: 'invalid_field', message } } });
    expect((await getStatus('m-7')).status).toBe(404);
    expect(statusQueueDepth()).toBe(0);
    expect(kommoBodies()).toEqual([]);
  });

  it('answers a forged signature with 401', async () => {
    // Act
    const answer = await postStatus('m-8', { status: 'read' }, { secret: testSecrets().chatServiceSecret });
    await bridge.advance(AFTER_THE_QUEUE_RUNS_MS);

    // Assess
    expect(answer).toMatchObject({ status: 401, body: { error: { code: 'invalid_signature' } } });
    expect((await getStatus('m-8')).status).toBe(404);
    expect(statusQueueDepth()).toBe(0);
    expect(kommoBodies()).toEqual([]);
  });

  it("answers 404 for another channel's scope and for a message with no status", async () => {
    // Act
    const otherScope = await bridge.chat('POST', `/chat/other-channel_${bridge.accountId}/messages/m-9/status`, {
      status: 'read',
    });
    const unknown = await getStatus('m-9');

    // Assess
    expect(otherScope).toMatchObject({ status: 404, body: { error: { code: 'unknown_scope' } } });
    expect(unknown).toMatchObject({ status: 404, body: { error: { code: 'unknown_message' } } });
  });
});

describe('when Kommo fails', () => {
  it('delivers on the third attempt after two 503s', async () => {
    // Prepare
    bridge.kommo.failNext(2, 503);

    // Act
    const answer = await postStatus('m-10', { status: 'delivered' });
    await bridge.advance(60_000);

    // Assess
    expect(answer.status).toBe(202);
    expect(bridge.kommo.rejected.map((refusal) => refusal.status)).toEqual([503, 503]);
    expect(kommoBodies()).toEqual([{ msgid: 'm-10', delivery_status: 1 }]);
    expect((await getStatus('m-10')).body.kommo).toMatchObject({ delivered: true, attempts: 3 });
    expect(bridge.bridge.deadLetters('kommo-status')).toEqual([]);
  });

  it('does not retry a 404, shows it on the record and keeps it in the dead-letter queue', async () => {
    // Prepare
    bridge.kommo.failNext(1, 404);

    // Act
    await postStatus('m-11', { status: 'read' });
    await bridge.advance(PAST_THE_RETRY_BUDGET_MS);

    // Assess
    expect(bridge.kommo.rejected.map((refusal) => refusal.status)).toEqual([404]);
    expect(kommoBodies()).toEqual([]);
    const record = await getStatus('m-11');
    expect(record.body).toMatchObject({ status: 'read', kommo: { delivered: false, attempts: 1 } });
    expect(record.body.kommo.last_error).toContain('404');
    expect(bridge.metrics.get('KommoCallFailed')).toBe(1);
    expect(bridge.bridge.deadLetters('kommo-status')).toEqual([
      expect.objectContaining({
        attempts: 1,
        reason: expect.stringMatching(/^final answer: delivery status "read" \(update 1\) of message m-11: .*404/),
      }),
    ]);
  });

  it('goes on with later updates after a refused one', async () => {
    // Prepare
    bridge.kommo.failNext(1, 400);
    await postStatus('m-12', { status: 'delivered' });
    await bridge.advance(AFTER_THE_QUEUE_RUNS_MS);

    // Act
    await postStatus('m-12', { status: 'read' });
    await bridge.advance(AFTER_THE_QUEUE_RUNS_MS);

    // Assess
    expect(bridge.kommo.rejected.map((refusal) => refusal.status)).toEqual([400]);
    expect(kommoBodies()).toEqual([{ msgid: 'm-12', delivery_status: 2 }]);
  });

  it('dead-letters the update with its reason when Kommo is down past the retry budget, and loses nothing', async () => {
    // Prepare
    bridge.kommo.setDown(true);
    const maxAttempts = bridge.config.DELIVERY_MAX_ATTEMPTS;

    // Act
    await postStatus('m-13', { status: 'delivered' });
    await bridge.advance(PAST_THE_RETRY_BUDGET_MS);

    // Assess
    expect(bridge.bridge.deadLetters('kommo-status')).toEqual([
      {
        reason: expect.stringMatching(
          new RegExp(
            `^gave up after ${maxAttempts} attempts: delivery status "delivered" \\(update 1\\) of message m-13: .*network error`,
          ),
        ),
        failedAt: expect.any(String),
        attempts: maxAttempts,
        message: { scopeId: bridge.scopeId, msgid: 'm-13', attempt: maxAttempts },
      },
    ]);
    const record = await getStatus('m-13');
    expect(record.body).toMatchObject({ status: 'delivered', kommo: { delivered: false, attempts: maxAttempts } });
    expect(record.body.kommo.last_error).toContain('network error');
    expect(statusQueueDepth()).toBe(0);
  });

  it('sends later updates once Kommo is back after a dead-lettered one', async () => {
    // Prepare
    bridge.kommo.setDown(true);
    await postStatus('m-14', { status: 'delivered' });
    await bridge.advance(PAST_THE_RETRY_BUDGET_MS);
    bridge.kommo.setDown(false);

    // Act
    await postStatus('m-14', { status: 'read' });
    await bridge.advance(AFTER_THE_QUEUE_RUNS_MS);

    // Assess
    expect(kommoBodies()).toEqual([{ msgid: 'm-14', delivery_status: 2 }]);
    expect((await getStatus('m-14')).body.kommo).toEqual({ delivered: true, attempts: 1 });
  });

  it('waits out the backoff of an earlier update before sending a newer one', async () => {
    // Prepare: "delivered" fails once and waits for its retry.
    bridge.kommo.failNext(1, 503);
    await postStatus('m-15', { status: 'delivered' });
    await bridge.advance(0);

    // Act: "read" arrives during the backoff.
    await postStatus('m-15', { status: 'read' });
    await bridge.advance(AFTER_THE_QUEUE_RUNS_MS);

    // Assess
    expect(kommoBodies()).toEqual([
      { msgid: 'm-15', delivery_status: 1 },
      { msgid: 'm-15', delivery_status: 2 },
    ]);
    expect(bridge.kommo.deliveryStatusCalls()[0]!.at).toBeGreaterThanOrEqual(bridge.kommo.rejected[0]!.at + 1000);
  });
});

describe('redriving a dead-lettered status', () => {
  it('sends the current status once the operator moves the dead letter back, and never an older one', async () => {
    // Prepare: delivered reaches Kommo, read is dead-lettered while Kommo is down.
    await postStatus('m-90', { status: 'delivered' });
    await bridge.advance(AFTER_THE_QUEUE_RUNS_MS);
    bridge.kommo.setDown(true);
    await postStatus('m-90', { status: 'read' });
    await bridge.advance(PAST_THE_RETRY_BUDGET_MS);
    const [letter] = bridge.bridge.deadLetters('kommo-status');
    bridge.kommo.setDown(false);

    // Act: what SQS redrive does, the dead letter verbatim back on its queue.
    await bridge.bridge.queues['kommo-status'].sendRaw(JSON.stringify(letter));
    await bridge.advance(AFTER_THE_QUEUE_RUNS_MS);

    // Assess
    expect(kommoBodies().map((body) => body.delivery_status)).toEqual([1, 2]);
    expect((await getStatus('m-90')).body).toMatchObject({ status: 'read', kommo: { delivered: true, attempts: 1 } });
  });
});

/** Writes counted as AWS charges them (test/support/dynamo-writes.ts); every item write is charged per started KB. */
describe('what a status update costs in DynamoDB', () => {
  const statusItem = async (msgid: string) =>
    (await tableItems(bridge.dynamo, bridge.tableName)).find(
      (item) => item.pk?.S?.startsWith('STATUS#') && item.msgid?.S === msgid,
    );

  it("stores an error's text once, in its history entry, and still shows it", async () => {
    // Prepare
    const text = 'Blocked by the recipient. '.repeat(19);

    // Act
    await postStatus('m-cost-1', { status: 'error', error_code: 905, error: text });
    await bridge.advance(AFTER_THE_QUEUE_RUNS_MS);

    // Assess
    const item = await statusItem('m-cost-1');
    expect(JSON.stringify(item).split(text).length - 1).toBe(1);
    expect(item).not.toHaveProperty('error');
    expect(item).not.toHaveProperty('errorCode');
    expect((await getStatus('m-cost-1')).body).toMatchObject({ status: 'error', error_code: 905, error: text });
    expect(kommoBodies()).toEqual([{ msgid: 'm-cost-1', delivery_status: -1, error_code: 905, error: text }]);
  });

  it('syncs one update to Kommo with two writes: the lease, then the settle that also gives the lease up', async () => {
    // Prepare
    await postStatus('m-cost-2', { status: 'delivered' });
    const meter = new DynamoWriteMeter(bridge.dynamo);

    // Act
    await bridge.advance(AFTER_THE_QUEUE_RUNS_MS);

    // Assess
    expect(kommoBodies()).toEqual([{ msgid: 'm-cost-2', delivery_status: 1 }]);
    expect(meter.to('STATUS#').map((write) => write.refused)).toEqual([false, false]);
    const item = await statusItem('m-cost-2');
    expect(item).not.toHaveProperty('leaseOwner');
    expect(item).not.toHaveProperty('leaseUntilMs');
  });

  it('keeps the lease for an update that arrives while the latest one is being sent, and sends it too', async () => {
    // Prepare: "read" is applied while Kommo is being told "delivered".
    const kommoChatApi = bridge.deps.kommoChatApi;
    const send = kommoChatApi.deliveryStatus.bind(kommoChatApi);
    let readPosted: Promise<unknown> | undefined;
    vi.spyOn(kommoChatApi, 'deliveryStatus').mockImplementation(async (...args) => {
      readPosted ??= postStatus('m-cost-3', { status: 'read' });
      await readPosted;
      return send(...args);
    });
    await postStatus('m-cost-3', { status: 'delivered' });

    // Act
    await bridge.advance(AFTER_THE_QUEUE_RUNS_MS);

    // Assess
    expect(kommoBodies()).toEqual([
      { msgid: 'm-cost-3', delivery_status: 1 },
      { msgid: 'm-cost-3', delivery_status: 2 },
    ]);
    expect((await getStatus('m-cost-3')).body).toMatchObject({
      status: 'read',
      kommo: { delivered: true, attempts: 1 },
    });
    expect(await statusItem('m-cost-3')).not.toHaveProperty('leaseOwner');
  });
});
