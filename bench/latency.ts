import { chatEventKey, deliveryStatusCallKey, typingCallKey, type ArrivalClock } from './arrivals';
import { postChat, postChatTyping, postKommoTypingHook, type BenchTarget } from './bridge-client';
import { percentile, type BenchResults } from './figures';

const SAMPLES = 200;
/** A sample whose effect has not arrived by then counts as lost. */
const ARRIVAL_TIMEOUT_MS = 5_000;

interface Path {
  name: string;
  label: string;
  meaning: string;
  samples: number[];
  lost: number;
}

/**
 * One round = one sample of each path, one at a time (no concurrency), so every path sees the same
 * background (the refresh, expiry and status timers earlier rounds left behind). Every sample uses
 * fresh ids, so each typing start makes a Kommo call and each hook a new typing.
 */
export async function measureLatency(
  results: BenchResults,
  target: BenchTarget,
  clock: ArrivalClock,
  options: { runId: string; log: (line: string) => void },
): Promise<void> {
  const paths = {
    typingToKommo: path(
      'chat_typing_to_kommo',
      'chat typing start → Kommo typing call',
      'from sending a signed POST /chat/{scope}/typing start (fresh conversation) to the Kommo sandbox accepting the typing call',
    ),
    hookToAnswer: path(
      'kommo_hook_to_200',
      'Kommo hook → 200',
      'client-side latency of a signed Kommo-user typing hook to POST /kommo/{scope} (send to full answer)',
    ),
    hookToEvent: path(
      'kommo_hook_to_chat_event',
      'Kommo hook → chat-service event',
      'from sending the hook to the chat-service sink receiving its typing.started (through the hooks and events queues)',
    ),
    statusToKommo: path(
      'status_to_kommo',
      'status update → Kommo delivery_status',
      'from sending a signed POST /chat/{scope}/messages/{msgid}/status "delivered" (fresh msgid) to the Kommo sandbox accepting the delivery_status call',
    ),
  };

  for (let round = 0; round < SAMPLES; round += 1) {
    const sample = await oneRound(target, clock, `lat-${options.runId}-${round}`);
    record(paths.typingToKommo, sample.typingToKommo);
    record(paths.hookToAnswer, sample.hookToAnswer);
    record(paths.hookToEvent, sample.hookToEvent);
    record(paths.statusToKommo, sample.statusToKommo);
  }

  const details: Record<string, unknown> = {};
  for (const entry of Object.values(paths)) {
    for (const p of [50, 95, 99]) {
      results.add({
        name: `latency.${entry.name}.p${p}`,
        section: 'latency',
        label: `${entry.label} p${p}`,
        value: percentile(entry.samples, p),
        unit: 'ms',
        meaning: `p${p} of ${entry.samples.length} samples, ${entry.meaning}; local runtime on loopback.`,
      });
    }
    results.expect(
      `latency ${entry.name}: every sample arrived within ${ARRIVAL_TIMEOUT_MS} ms`,
      entry.lost === 0,
      `${entry.lost} of ${SAMPLES} lost`,
    );
    details[entry.name] = { samples: entry.samples.length, lost: entry.lost, max: Math.max(...entry.samples) };
    options.log(
      `  ${entry.label}: p50 ${percentile(entry.samples, 50).toFixed(1)} ms, p99 ${percentile(entry.samples, 99).toFixed(1)} ms, max ${Math.max(...entry.samples).toFixed(1)} ms`,
    );
  }
  results.details.latency = details;
}

/**
 * Unmeasured rounds of every path, run before any section: the first requests of a fresh process pay
 * for JIT, DynamoDB Local's JVM warming up and new sockets (~0.7 s for the very first typing call).
 */
export async function warmUp(target: BenchTarget, clock: ArrivalClock, runId: string, rounds: number): Promise<void> {
  for (let round = 0; round < rounds; round += 1) await oneRound(target, clock, `warm-${runId}-${round}`);
}

type RoundLatencies = Partial<Record<'typingToKommo' | 'hookToAnswer' | 'hookToEvent' | 'statusToKommo', number>>;

/** One sample of each path with fresh ids; a path whose effect did not arrive is left out. */
async function oneRound(target: BenchTarget, clock: ArrivalClock, id: string): Promise<RoundLatencies> {
  const latencies: RoundLatencies = {};

  // ttl 1 s: the refresh timer this start sets finds typing over, so no second call adds load.
  const typing = await postChatTyping(target, {
    conversationId: id,
    senderId: 'bench-client',
    state: 'start',
    ttlSeconds: 1,
  });
  const typingCall = typing.status === 202 ? await clock.first(typingCallKey(id), ARRIVAL_TIMEOUT_MS) : undefined;
  if (typingCall) latencies.typingToKommo = typingCall.at - typing.sentAt;

  const kommoConversationId = `kommo-${id}`;
  const hook = await postKommoTypingHook(target, {
    kommoConversationId,
    clientConversationId: id,
    userId: 'bench-kommo-user',
  });
  if (hook.status === 200) {
    latencies.hookToAnswer = hook.answeredAt - hook.sentAt;
    const started = await clock.first(chatEventKey('typing.started', kommoConversationId), ARRIVAL_TIMEOUT_MS);
    if (started) latencies.hookToEvent = started.at - hook.sentAt;
  }

  const msgid = `msg-${id}`;
  const status = await postChat(target, `/messages/${msgid}/status`, { status: 'delivered' });
  const statusCall =
    status.status === 202 ? await clock.first(deliveryStatusCallKey(msgid), ARRIVAL_TIMEOUT_MS) : undefined;
  if (statusCall) latencies.statusToKommo = statusCall.at - status.sentAt;
  return latencies;
}

function path(name: string, label: string, meaning: string): Path {
  return { name, label, meaning, samples: [], lost: 0 };
}

function record(entry: Path, latency: number | undefined): void {
  if (latency === undefined) entry.lost += 1;
  else entry.samples.push(latency);
}
