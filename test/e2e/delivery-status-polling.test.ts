import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterEach, describe, expect, it } from 'vitest';
import { documentClient, partitionKey } from '../../functions/core/adapters/dynamodb/table';
import type { TimerJob } from '../../functions/core/queue-messages';
import type { ChatStatusQuery, ScriptedChatServiceAnswer } from '../../local/sandbox/chat-service-sink';
import { ForwardTarget } from '../support/forward-target';
import { DynamoFaults, type FaultMode } from '../support/hostile';
import { TEST_START } from '../support/manual-clock';
import { givenBridge, messageHook, type TestBridge } from '../support/test-bridge';

/**
 * Delivery status pulled from the chat service: Kommo's outgoing-message hook starts polling
 * CHAT_SERVICE_STATUS_URL (here the sink's), on a schedule that backs off, for up to 24 h, until
 * `read` or `error`. New statuses take the pushed statuses' ordered path to Kommo. Times are test
 * clock seconds after the hook, as the sink saw the queries.
 */

const SECOND = 1000;
/** The schedule after a hook at 0 s: 1 s, then waits of 2 s, 5 s, 15 s, 1 min, 5 min, 30 min, then hourly. */
const FIRST_POLLS_S = [1, 3, 8, 23, 83, 383, 2183];
const HOURLY_POLLS_S = Array.from({ length: 23 }, (_, index) => 2183 + (index + 1) * 3600);

let bridge: TestBridge;
let forwardTarget: ForwardTarget | undefined;
afterEach(async () => {
  await bridge.close();
  await forwardTarget?.close();
  forwardTarget = undefined;
});

async function givenPollingBridge(settings: Parameters<typeof givenBridge>[0] = {}): Promise<TestBridge> {
  bridge = await givenBridge(settings, { pollStatuses: true });
  return bridge;
}

/** Seconds after the test start at which the sink was asked about `msgid`. */
const queryTimes = (msgid = 'msg-1') =>
  bridge.sink.statusQueriesFor(msgid).map((query) => (query.at - TEST_START) / SECOND);
const kommoBodies = () => bridge.kommo.deliveryStatusCalls().map((call) => call.body);
const pendingPolls = () =>
  (bridge.bridge.queues.timers.peek() as TimerJob[]).filter((job) => job.kind === 'status-poll');
const statusPath = (msgid: string) => `/chat/${bridge.scopeId}/messages/${encodeURIComponent(msgid)}/status`;
const pushStatus = (msgid: string, body: unknown) => bridge.chat('POST', statusPath(msgid), body);
/** Lets test time run until `seconds` after the test start. */
const runUntil = (seconds: number) => bridge.advance(TEST_START + seconds * SECOND - bridge.clock.now());

async function pollItem(msgid = 'msg-1'): Promise<Record<string, unknown> | undefined> {
  const { Item } = await documentClient(bridge.dynamo).send(
    new GetCommand({
      TableName: bridge.tableName,
      Key: { pk: partitionKey('statusPoll', bridge.scopeId, msgid), sk: 'POLL' },
      ConsistentRead: true,
    }),
  );
  return Item;
}

/** Resolves at the next status query the sink verifies, leaving its answer to the sink. */
function nextStatusQuery(): Promise<Omit<ChatStatusQuery, 'answered'>> {
  return new Promise((resolve) =>
    bridge.sink.answerStatusQueriesWith((query) => {
      bridge.sink.answerStatusQueriesWith(undefined);
      resolve(query);
      return undefined;
    }),
  );
}

describe('the polling schedule', () => {
  it('a message the chat service never knows: polls at 1, 3, 8, 23, 83, 383, 2183 s, then hourly, and none after 24 h', async () => {
    // Prepare
    await givenPollingBridge();

    // Act
    const hook = await bridge.kommoHook(messageHook(bridge.accountId));
    await runUntil(26 * 3600);

    // Assess
    expect(hook.status).toBe(200);
    expect(queryTimes()).toEqual([...FIRST_POLLS_S, ...HOURLY_POLLS_S]);
    expect(Math.max(...queryTimes())).toBeLessThanOrEqual(24 * 3600);
    expect(bridge.sink.statusQueries.every((query) => query.answered === 404)).toBe(true);
    expect(pendingPolls()).toEqual([]);
    expect(await pollItem()).toMatchObject({ endedBecause: 'window-closed', pollsMade: 30 });
    expect(await pollItem()).not.toHaveProperty('timerId');
    expect(kommoBodies()).toEqual([]);
    expect(bridge.metrics.get('StatusPolled')).toBe(30);
  });

  it('each query carries a webhook-id of its own', async () => {
    // Prepare
    await givenPollingBridge();

    // Act
    await bridge.kommoHook(messageHook(bridge.accountId));
    await runUntil(100);

    // Assess
    const ids = bridge.sink.statusQueries.map((query) => query.webhookId);
    expect(ids).toHaveLength(5);
    expect(new Set(ids).size).toBe(5);
  });

  it('without CHAT_SERVICE_STATUS_URL nothing is polled, and the hook is still forwarded', async () => {
    // Prepare
    forwardTarget = new ForwardTarget();
    bridge = await givenBridge({ KOMMO_HOOK_FORWARD_URL: await forwardTarget.start() });

    // Act
    await bridge.kommoHook(messageHook(bridge.accountId));
    await runUntil(3600);

    // Assess
    expect(bridge.sink.statusQueries).toEqual([]);
    expect(pendingPolls()).toEqual([]);
    expect(await pollItem()).toBeUndefined();
    expect(forwardTarget.received).toHaveLength(1);
  });

  it('with polling on, the hook is forwarded unchanged as well', async () => {
    // Prepare
    forwardTarget = new ForwardTarget();
    await givenPollingBridge({ KOMMO_HOOK_FORWARD_URL: await forwardTarget.start() });
    const raw = JSON.stringify(messageHook(bridge.accountId));

    // Act
    await bridge.kommoHook(undefined, { rawBody: raw });
    await runUntil(10);

    // Assess
    expect(forwardTarget.received.map((forward) => forward.body.toString('utf8'))).toEqual([raw]);
    expect(queryTimes()).toEqual([1, 3, 8]);
  });
});

describe('statuses pulled reach Kommo in order, and polling stops at read', () => {
  it('delivered at the first poll, read at 20 s: Kommo gets delivered then read, and the poll at 23 s is the last', async () => {
    // Prepare
    await givenPollingBridge();
    bridge.sink.setMessageStatus('msg-1', { status: 'delivered' });

    // Act
    await bridge.kommoHook(messageHook(bridge.accountId));
    await runUntil(20);
    bridge.sink.setMessageStatus('msg-1', { status: 'read' });
    await runUntil(3 * 3600);

    // Assess
    expect(queryTimes()).toEqual([1, 3, 8, 23]);
    expect(kommoBodies()).toEqual([
      { msgid: 'msg-1', delivery_status: 1 },
      { msgid: 'msg-1', delivery_status: 2 },
    ]);
    expect((await bridge.chat('GET', statusPath('msg-1'))).body).toMatchObject({
      status: 'read',
      kommo: { delivered: true, attempts: 1 },
    });
    expect(pendingPolls()).toEqual([]);
    expect(await pollItem()).toMatchObject({ endedBecause: 'final-status', pollsMade: 4 });
  });

  it('404 until the chat service knows the message, then delivered: Kommo gets delivered once, and polling goes on for read', async () => {
    // Prepare
    await givenPollingBridge();

    // Act
    await bridge.kommoHook(messageHook(bridge.accountId));
    await runUntil(10);
    bridge.sink.setMessageStatus('msg-1', { status: 'sent' });
    await runUntil(20);
    bridge.sink.setMessageStatus('msg-1', { status: 'delivered' });
    await runUntil(400);

    // Assess
    expect(
      bridge.sink.statusQueriesFor('msg-1').map((query) => [(query.at - TEST_START) / SECOND, query.answered]),
    ).toEqual([
      [1, 404],
      [3, 404],
      [8, 404],
      [23, 200],
      [83, 200],
      [383, 200],
    ]);
    expect(kommoBodies()).toEqual([{ msgid: 'msg-1', delivery_status: 1 }]);
    expect(bridge.metrics.get('StatusApplied')).toBe(1);
    expect(pendingPolls()).toHaveLength(1);
  });

  it('error 905 from the chat service: Kommo gets it with its text, and polling stops', async () => {
    // Prepare
    await givenPollingBridge();
    bridge.sink.setMessageStatus('msg-1', {
      status: 'error',
      error_code: 905,
      error: 'The client blocked the channel',
    });

    // Act
    await bridge.kommoHook(messageHook(bridge.accountId));
    await runUntil(3600);

    // Assess
    expect(queryTimes()).toEqual([1]);
    expect(kommoBodies()).toEqual([
      { msgid: 'msg-1', delivery_status: -1, error_code: 905, error: 'The client blocked the channel' },
    ]);
    expect(pendingPolls()).toEqual([]);
  });
});

describe('pushed and pulled statuses mixed', () => {
  it('delivered pulled, read pushed at 5 s: Kommo gets each once in order, and the next timer ends polling without asking', async () => {
    // Prepare
    await givenPollingBridge();
    bridge.sink.setMessageStatus('msg-1', { status: 'delivered' });

    // Act
    await bridge.kommoHook(messageHook(bridge.accountId));
    await runUntil(5);
    const pushed = await pushStatus('msg-1', { status: 'read' });
    await runUntil(3600);

    // Assess
    expect(pushed).toMatchObject({ status: 202, body: { applied: true, status: 'read' } });
    expect(queryTimes()).toEqual([1, 3]);
    expect(kommoBodies()).toEqual([
      { msgid: 'msg-1', delivery_status: 1 },
      { msgid: 'msg-1', delivery_status: 2 },
    ]);
    expect(await pollItem()).toMatchObject({ endedBecause: 'final-status', pollsMade: 2 });
    expect(pendingPolls()).toEqual([]);
  });

  it('delivered pushed first, then the chat service answers delivered and later read: Kommo gets delivered once, then read', async () => {
    // Prepare
    await givenPollingBridge();
    await bridge.kommoHook(messageHook(bridge.accountId));
    await pushStatus('msg-1', { status: 'delivered' });
    bridge.sink.setMessageStatus('msg-1', { status: 'delivered' });

    // Act
    await runUntil(10);
    bridge.sink.setMessageStatus('msg-1', { status: 'read' });
    await runUntil(30);
    const latePush = await pushStatus('msg-1', { status: 'delivered' });
    await runUntil(3600);

    // Assess
    expect(queryTimes()).toEqual([1, 3, 8, 23]);
    expect(latePush).toMatchObject({ status: 202, body: { applied: false, status: 'read' } });
    expect(kommoBodies()).toEqual([
      { msgid: 'msg-1', delivery_status: 1 },
      { msgid: 'msg-1', delivery_status: 2 },
    ]);
  });

  it('a pulled "delivered" that arrives after "read" was pushed never takes the status back', async () => {
    // Prepare: at 1 s the poll is in flight, its answer ("delivered") held, when the chat service pushes read.
    await givenPollingBridge();
    bridge.sink.setMessageStatus('msg-1', { status: 'delivered' });
    await bridge.kommoHook(messageHook(bridge.accountId));
    await runUntil(0.999);
    const release = bridge.sink.holdAnswers();
    const queried = nextStatusQuery();
    bridge.clock.set(TEST_START + SECOND);
    const polling = bridge.bridge.settle();
    await queried;

    // Act
    const pushed = await pushStatus('msg-1', { status: 'read' });
    release();
    await polling;
    await runUntil(3600);

    // Assess
    expect(pushed).toMatchObject({ status: 202, body: { applied: true, status: 'read' } });
    expect((await bridge.chat('GET', statusPath('msg-1'))).body).toMatchObject({ status: 'read' });
    expect(kommoBodies()).toEqual([{ msgid: 'msg-1', delivery_status: 2 }]);
    expect(queryTimes()).toEqual([1]);
    expect(pendingPolls()).toEqual([]);
  });

  it('read pushed before the first poll: no query at all, and Kommo gets read once', async () => {
    // Prepare
    await givenPollingBridge();
    bridge.sink.setMessageStatus('msg-1', { status: 'delivered' });

    // Act
    await bridge.kommoHook(messageHook(bridge.accountId));
    await pushStatus('msg-1', { status: 'read' });
    await runUntil(3600);

    // Assess
    expect(bridge.sink.statusQueries).toEqual([]);
    expect(kommoBodies()).toEqual([{ msgid: 'msg-1', delivery_status: 2 }]);
    expect(await pollItem()).toMatchObject({ endedBecause: 'final-status', pollsMade: 0 });
  });
});

describe('one polling chain per message', () => {
  it('the same hook three times (Kommo never resends, but a redrive or an SQS redelivery does): one chain', async () => {
    // Prepare
    await givenPollingBridge();
    const raw = JSON.stringify(messageHook(bridge.accountId));

    // Act: three copies accepted before the hook worker runs, so they are processed side by side.
    const answers = [
      await bridge.kommoHook(undefined, { rawBody: raw }),
      await bridge.kommoHook(undefined, { rawBody: raw }),
      await bridge.kommoHook(undefined, { rawBody: raw }),
    ];
    await runUntil(400);

    // Assess
    expect(answers.map((answer) => answer.status)).toEqual([200, 200, 200]);
    expect(queryTimes()).toEqual([1, 3, 8, 23, 83, 383]);
    expect(pendingPolls()).toHaveLength(1);
    expect(pendingPolls()[0]!.timerId).toBe((await pollItem())!.timerId);
  });

  it('the same hook again an hour later: the running chain goes on alone', async () => {
    // Prepare
    await givenPollingBridge();
    await bridge.kommoHook(messageHook(bridge.accountId));
    await runUntil(3600);

    // Act
    await bridge.kommoHook(messageHook(bridge.accountId));
    await runUntil(3 * 3600);

    // Assess
    expect(queryTimes()).toEqual([...FIRST_POLLS_S, 5783, 9383]);
    expect(pendingPolls()).toHaveLength(1);
  });

  it('a forward that fails re-queues the hook: still one chain, and the hook is forwarded once it succeeds', async () => {
    // Prepare
    forwardTarget = new ForwardTarget();
    await givenPollingBridge({ KOMMO_HOOK_FORWARD_URL: await forwardTarget.start() });
    forwardTarget.answerNext(503, 503);

    // Act
    await bridge.kommoHook(messageHook(bridge.accountId));
    await runUntil(100);

    // Assess
    expect(forwardTarget.received).toHaveLength(3);
    expect(queryTimes()).toEqual([1, 3, 8, 23, 83]);
    expect(pendingPolls()).toHaveLength(1);
  });

  it.each<[string, number, number[]]>([
    // Both copies run at 1 s. A copy that reads the item before the other hands on is the named timer too and
    // asks as well (a harmless extra GET; whether it does depends on how the two interleave); one hands on.
    ['the first poll timer', 0, [1, 3, 8, 23, 83, 383, 2183, 5783, 9383]],
    // Both copies of the step at 1283 s queue the next step; one hands on, the other's next step ends unused.
    ['a step of a 30-minute wait (longer than SQS delays go)', 400, [...FIRST_POLLS_S, 5783, 9383]],
  ])('%s delivered twice by SQS: one chain afterwards, on schedule', async (_, atSeconds, expectedTimes) => {
    // Prepare
    await givenPollingBridge();
    await bridge.kommoHook(messageHook(bridge.accountId));
    await runUntil(atSeconds);
    const timers = bridge.bridge.queues.timers;
    const [job] = pendingPolls();
    expect(pendingPolls()).toHaveLength(1);

    // Act: the same body again, due when the original is.
    await timers.send(job!, { delaySeconds: (timers.nextVisibleAt()! - bridge.clock.now()) / SECOND });
    expect(pendingPolls()).toHaveLength(2);
    await runUntil(3 * 3600);

    // Assess: the schedule, with at most the one extra GET of the duplicated step.
    const times = queryTimes();
    expect([...new Set(times)]).toEqual(expectedTimes);
    expect(times.length - expectedTimes.length).toBeLessThanOrEqual(1);
    expect(pendingPolls()).toHaveLength(1);
    expect(pendingPolls()[0]!.timerId).toBe((await pollItem())!.timerId);
    expect(bridge.bridge.deadLetters('timers')).toEqual([]);
  });
});

describe('a poll timer that fails half-way: neither lost nor doubled', () => {
  it.each<[string, FaultMode, number[]]>([
    // The chain still names the failed timer: its redelivery (after the 180-s visibility timeout) polls and goes on; the next timer it had queued ends unused.
    ['fails between queueing the next timer and handing the chain on', 'request-lost', [1, 3, 183, 188, 203, 263, 563]],
    // The chain moved on: the next timer polls on schedule, and the redelivered one ends unused.
    ['hands the chain on but never hears so', 'answer-lost', [1, 3, 8, 23, 83, 383]],
  ])('the poll at 3 s %s', async (_, mode, expectedTimes) => {
    // Prepare
    await givenPollingBridge();
    const faults = new DynamoFaults(bridge.dynamo);
    await bridge.kommoHook(messageHook(bridge.accountId));
    await runUntil(2);

    // Act: the timer's third DynamoDB call (its hand-on, after reading the poll and the status) fails.
    faults.arm(3, mode);
    await runUntil(3);
    expect(faults.disarm()).toEqual(['GetItem', 'GetItem', 'UpdateItem']);
    await runUntil(600);

    // Assess
    expect(queryTimes()).toEqual(expectedTimes);
    expect(bridge.bridge.deadLetters('timers')).toEqual([]);
    expect(pendingPolls()).toHaveLength(1);
    expect(pendingPolls()[0]!.timerId).toBe((await pollItem())!.timerId);
  });
});

describe('bad answers from the chat service are logged, counted, and polled again on the schedule', () => {
  /** The first two queries get `bad`; after that the sink answers from the message's status (delivered). */
  async function withBadAnswers(bad: ScriptedChatServiceAnswer): Promise<void> {
    await givenPollingBridge();
    bridge.sink.setMessageStatus('msg-1', { status: 'delivered' });
    let scripted = 0;
    bridge.sink.answerStatusQueriesWith(() => (scripted++ < 2 ? bad : undefined));
  }

  it.each<[string, ScriptedChatServiceAnswer, string]>([
    ['malformed JSON', { status: 200, rawBody: '{"status": "delivered"' }, 'not JSON'],
    [
      'an unknown status',
      { status: 200, body: { status: 'seen' } },
      'status must be "sent", "delivered", "read" or "error"',
    ],
    ['error without its code', { status: 200, body: { status: 'error' } }, 'error_code'],
    ['a field the contract does not have', { status: 200, body: { status: 'delivered', at: 'now' } }, 'at'],
  ])('%s: StatusPollMalformed, a warning naming the rule, then delivered at the third poll', async (_, bad, rule) => {
    // Prepare
    await withBadAnswers(bad);

    // Act
    const hook = await bridge.kommoHook(messageHook(bridge.accountId));
    await runUntil(30);

    // Assess
    expect(hook.status).toBe(200);
    expect(queryTimes()).toEqual([1, 3, 8, 23]);
    expect(bridge.metrics.get('StatusPollMalformed')).toBe(2);
    const warnings = bridge.log.lines.filter(
      (line) => line.level === 'warn' && line.message.includes('outside the contract'),
    );
    expect(warnings).toHaveLength(2);
    expect(String(warnings[0]!.attributes?.reason)).toContain(rule);
    expect(kommoBodies()).toEqual([{ msgid: 'msg-1', delivery_status: 1 }]);
  });

  it.each<[string, ScriptedChatServiceAnswer]>([
    ['500', { status: 500 }],
    ['429', { status: 429 }],
    ['401 (a secret the chat service does not hold)', { status: 401 }],
  ])('%s: StatusPollFailed, a warning, then delivered at the third poll; the hook was answered 200', async (_, bad) => {
    // Prepare
    await withBadAnswers(bad);

    // Act
    const hook = await bridge.kommoHook(messageHook(bridge.accountId));
    await runUntil(30);

    // Assess
    expect(hook.status).toBe(200);
    expect(queryTimes()).toEqual([1, 3, 8, 23]);
    expect(bridge.metrics.get('StatusPollFailed')).toBe(2);
    const warnings = bridge.log.lines.filter(
      (line) => line.level === 'warn' && line.message.includes('status query to the chat service failed'),
    );
    expect(warnings.map((line) => line.attributes?.status)).toEqual([bad.status, bad.status]);
    expect(kommoBodies()).toEqual([{ msgid: 'msg-1', delivery_status: 1 }]);
    expect(bridge.bridge.deadLetters('timers')).toEqual([]);
  });

  it('the chat service down (network error): retried on the schedule, delivered once it is back', async () => {
    // Prepare
    await givenPollingBridge();
    bridge.sink.setMessageStatus('msg-1', { status: 'delivered' });
    bridge.sink.setDown(true);

    // Act
    const hook = await bridge.kommoHook(messageHook(bridge.accountId));
    await runUntil(5);
    bridge.sink.setDown(false);
    await runUntil(30);

    // Assess
    expect(hook.status).toBe(200);
    expect(bridge.metrics.get('StatusPollFailed')).toBe(2);
    expect(queryTimes()).toEqual([8, 23]);
    expect(kommoBodies()).toEqual([{ msgid: 'msg-1', delivery_status: 1 }]);
  });

  it('no answer before CHAT_SERVICE_TIMEOUT_MS on the bridge clock: given up, and the next poll comes on the schedule', async () => {
    // Prepare: at 1 s the first poll is in flight and its answer held.
    await givenPollingBridge({ CHAT_SERVICE_TIMEOUT_MS: '2000' });
    bridge.sink.setMessageStatus('msg-1', { status: 'delivered' });
    await bridge.kommoHook(messageHook(bridge.accountId));
    await runUntil(0.999);
    const release = bridge.sink.holdAnswers();
    const queried = nextStatusQuery();
    bridge.clock.set(TEST_START + SECOND);
    const polling = bridge.bridge.settle();
    await queried;

    // Act: 2 s later on the bridge clock the call is given up; the next poll (2 s after that) is answered.
    bridge.clock.advanceBy(2000);
    await polling;
    release();
    await runUntil(30);

    // Assess
    expect(bridge.metrics.get('StatusPollFailed')).toBe(1);
    expect(
      bridge.log.lines.some(
        (line) => line.level === 'warn' && String(line.attributes?.error).includes('timed out after 2000 ms'),
      ),
    ).toBe(true);
    expect(queryTimes()).toEqual([1, 5, 10, 25]);
    expect(kommoBodies()).toEqual([{ msgid: 'msg-1', delivery_status: 1 }]);
  });
});
