import { randomBytes, randomUUID } from 'node:crypto';
import { StandardWebhooksStatusSource } from '../functions/core/adapters/chat-service/chat-service-client';
import { createBridgeTable } from '../functions/core/adapters/dynamodb/table';
import { CountingMetrics, RecordingLog } from '../functions/core/adapters/telemetry/in-memory';
import { signKommoHook } from '../functions/core/domain/amojo-signature';
import { POLLING_WINDOW_MS } from '../functions/core/domain/status-poll';
import { loadConfig } from '../functions/core/config';
import { startDynamoDbLocal } from '../local/dynamodb-local';
import { LocalBridge } from '../local/local-bridge';
import { SANDBOX_ACCOUNT_ID } from '../local/runtime';
import { ChatServiceSink, type SinkMessageStatus } from '../local/sandbox/chat-service-sink';
import { KommoSandbox } from '../local/sandbox/kommo-sandbox';
import { ManualClock, TEST_START } from '../test/support/manual-clock';
import type { BenchResults } from './figures';

/**
 * Delivery status pulled from the chat service: how many status queries one message costs with the
 * bridge's backing-off schedule, side by side with a poller that asks every 2 s. Both ask the same
 * chat-service sink about messages with the same story (delivered at 2 s, read at 1 min). The bridge
 * runs whole (DynamoDB Local, queues, timers, the Kommo sandbox) on a manual clock, so a simulated
 * day takes seconds; every query counted is a real signed HTTP request the sink verified.
 */

const FIXED_INTERVAL_MS = 2_000;
const DELIVERED_AT_MS = 2_000;
const READ_AT_MS = 60_000;

interface StatusChange {
  atMs: number;
  msgid: string;
  status: SinkMessageStatus;
}

export async function measureStatusPolls(results: BenchResults, log: (line: string) => void): Promise<void> {
  const clock = new ManualClock(TEST_START);
  const at = (offsetMs: number) => TEST_START + offsetMs;
  const channelSecret = randomBytes(20).toString('hex');
  const chatServiceSecret = `whsec_${randomBytes(32).toString('base64')}`;
  const channelId = '5a4db0c5-0000-4000-8000-0000000b0e9c';
  const scopeId = `${channelId}_${SANDBOX_ACCOUNT_ID}`;
  const kommo = new KommoSandbox({ channelId, channelSecret, clock });
  const sink = new ChatServiceSink({ secret: chatServiceSecret, clock });
  const [kommoUrl, sinkUrl] = await Promise.all([kommo.start(), sink.start()]);
  const dynamo = await startDynamoDbLocal();
  const config = loadConfig({
    KOMMO_CHANNEL_ID: channelId,
    KOMMO_CHANNEL_SECRET: channelSecret,
    KOMMO_API_URL: kommoUrl,
    CHAT_SERVICE_URL: sinkUrl,
    CHAT_SERVICE_SECRET: chatServiceSecret,
    CHAT_SERVICE_STATUS_URL: sink.statusUrlTemplate,
  });
  const tableName = `bench-status-polls-${randomUUID().slice(0, 8)}`;
  // No TTL deletion: DynamoDB Local would reap by the wall clock, and this bridge runs on a manual one.
  await createBridgeTable(dynamo.client, tableName, { ttl: false });
  const bridge = new LocalBridge({
    config,
    clock,
    dynamo: dynamo.client,
    tableName,
    log: new RecordingLog({ level: 'silent' }),
    metrics: new CountingMetrics(),
    scheduling: 'manual',
  });
  // The fixed poller signs its queries with the bridge's own client, so the sink treats both alike.
  const fixedPoller = new StandardWebhooksStatusSource({
    urlTemplate: sink.statusUrlTemplate,
    secrets: [chatServiceSecret],
    timeoutMs: 5_000,
    clock,
  });
  let fixedPolls = 0;

  try {
    const sendHook = async (msgid: string) => {
      const body = Buffer.from(
        JSON.stringify({
          account_id: SANDBOX_ACCOUNT_ID,
          time: Math.floor(clock.now() / 1000),
          message: {
            conversation: { id: 'kommo-chat-1', client_id: 'c-1' },
            message: { id: msgid, type: 'text', text: 'Hello' },
          },
        }),
      );
      const answer = await bridge.invoke({
        method: 'POST',
        url: `/kommo/${scopeId}`,
        headers: { 'content-type': 'application/json', 'x-signature': signKommoHook(body, channelSecret) },
        body,
      });
      if (answer.statusCode !== 200)
        throw new Error(`the message hook was answered ${answer.statusCode}: ${answer.body}`);
    };

    /** Runs the bridge's queues, the scripted status changes and the 2-s poller, in time order, until `untilMs`. */
    const run = async (
      untilMs: number,
      changes: StatusChange[],
      fixed: { msgid: string; nextAtMs: number; sawReadAtMs?: number } | undefined,
    ) => {
      for (;;) {
        await bridge.settle();
        const due = [
          bridge.nextDueAt(),
          changes[0]?.atMs,
          fixed && fixed.sawReadAtMs === undefined ? fixed.nextAtMs : undefined,
        ].filter((candidate): candidate is number => candidate !== undefined && candidate <= untilMs);
        if (due.length === 0) break;
        clock.set(Math.max(Math.min(...due), clock.now()));
        // At the same instant the chat service's change comes first: a poll then sees it.
        while (changes[0] && changes[0].atMs <= clock.now()) {
          const change = changes.shift()!;
          sink.setMessageStatus(change.msgid, change.status);
        }
        if (fixed && fixed.sawReadAtMs === undefined && fixed.nextAtMs <= clock.now()) {
          fixedPolls += 1;
          const answer = await fixedPoller.query(fixed.msgid, { webhookId: `fixed_${fixedPolls}` });
          if (answer.outcome === 'update' && answer.update.status === 'read') fixed.sawReadAtMs = clock.now();
          fixed.nextAtMs += FIXED_INTERVAL_MS;
        }
      }
      clock.set(Math.max(untilMs, clock.now()));
      await bridge.settle();
    };

    // A message delivered at 2 s and read at 1 min: the bridge polls it, and the fixed poller another one with the same story.
    await sendHook('read-after-1-min');
    const story = (msgid: string): StatusChange[] => [
      { atMs: at(DELIVERED_AT_MS), msgid, status: { status: 'delivered' } },
      { atMs: at(READ_AT_MS), msgid, status: { status: 'read' } },
    ];
    const fixed = { msgid: 'fixed-read-after-1-min', nextAtMs: at(FIXED_INTERVAL_MS) } as {
      msgid: string;
      nextAtMs: number;
      sawReadAtMs?: number;
    };
    await run(
      at(2 * 60 * 60_000),
      [...story('read-after-1-min'), ...story('fixed-read-after-1-min')].sort((a, b) => a.atMs - b.atMs),
      fixed,
    );
    const bridgeQueries = sink.statusQueriesFor('read-after-1-min');
    const kommoRead = kommo
      .deliveryStatusCalls()
      .find((call) => call.msgid === 'read-after-1-min' && call.body.delivery_status === 2);
    if (!kommoRead || fixed.sawReadAtMs === undefined)
      throw new Error('read never reached Kommo (bridge) or the fixed poller');
    const pollTimes = bridgeQueries.map((query) => (query.at - TEST_START) / 1000);
    log(
      `  bridge polls at ${pollTimes.join(', ')} s; fixed 2-s poller: ${fixedPolls} polls, read seen at ${(fixed.sawReadAtMs - TEST_START) / 1000} s`,
    );

    // A message nobody reads: the bridge's whole day, measured.
    const dayStart = clock.now();
    await sendHook('never-read');
    await run(dayStart + POLLING_WINDOW_MS + 2 * 60 * 60_000, [], undefined);
    const neverReadPolls = sink.statusQueriesFor('never-read').length;

    results.add({
      name: 'status_polls.read_after_1_min.bridge_polls',
      section: 'status polls',
      label: 'read after 1 min: bridge polls',
      value: bridgeQueries.length,
      unit: 'calls',
      meaning: `Status queries the bridge made for a message delivered at 2 s and read at 60 s (polls at ${pollTimes.join(', ')} s after the hook).`,
    });
    results.add({
      name: 'status_polls.read_after_1_min.fixed_2s_polls',
      section: 'status polls',
      label: 'read after 1 min: fixed 2 s poller',
      value: fixedPolls,
      unit: 'calls',
      meaning:
        'Status queries a poller asking every 2 s (from 2 s after the hook until it sees read) made for a message with the same story, same run.',
    });
    results.add({
      name: 'status_polls.read_after_1_min.bridge_read_lag',
      section: 'status polls',
      label: 'read after 1 min: read reaches Kommo after (bridge)',
      value: (kommoRead.at - at(READ_AT_MS)) / 1000,
      unit: 's',
      meaning:
        'From the chat service marking the message read to Kommo receiving delivery_status 2 from the bridge (simulated time): the price of backing off.',
    });
    results.add({
      name: 'status_polls.read_after_1_min.fixed_2s_read_lag',
      section: 'status polls',
      label: 'read after 1 min: read seen after (fixed 2 s)',
      value: (fixed.sawReadAtMs - at(READ_AT_MS)) / 1000,
      unit: 's',
      meaning: 'From the chat service marking the message read to the fixed 2-s poller seeing it (simulated time).',
    });
    results.add({
      name: 'status_polls.never_read.bridge_polls',
      section: 'status polls',
      label: 'never read: bridge polls in 24 h',
      value: neverReadPolls,
      unit: 'calls',
      meaning:
        'Status queries the bridge made for a message that is never read, over its whole 24-h polling window (measured).',
    });
    results.add({
      name: 'status_polls.never_read.fixed_2s_polls',
      section: 'status polls',
      label: 'never read: fixed 2 s poller in 24 h',
      value: POLLING_WINDOW_MS / FIXED_INTERVAL_MS,
      unit: 'calls',
      meaning: '24 h / 2 s: what a fixed 2-s poller would ask about the same message (arithmetic, not run).',
    });
    results.expect(
      'status polls: the first poll within 2 s of the hook',
      pollTimes[0] !== undefined && pollTimes[0] <= 2,
      `first poll at ${pollTimes[0]} s after the hook`,
    );
    results.expect(
      'status polls: fewer queries than a fixed 2-s poller, and read reaches Kommo',
      bridgeQueries.length < fixedPolls && kommoRead !== undefined,
      `${bridgeQueries.length} bridge polls vs ${fixedPolls} fixed`,
    );
  } finally {
    await bridge.stop();
    await Promise.all([kommo.close(), sink.close()]);
    await dynamo.stop();
  }
}
