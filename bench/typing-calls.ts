import { monitorEventLoopDelay } from 'node:perf_hooks';
import { KOMMO_TYPING_DISPLAY_MS } from '../functions/core/domain/typing-session';
import { typingCallKey, type ArrivalClock } from './arrivals';
import { naiveTypingForwarder, postChatTyping, type Answer, type BenchTarget } from './bridge-client';
import type { BenchResults } from './figures';
import { sleepUntil } from './timing';

/** Issue 7: 12 s of client typing. */
const TYPING_MS = 12_000;
const KEYSTROKES_PER_SECOND = 10;
/** Kommo shows "typing" 5 s per call, so no sender can do with fewer calls than this. */
const LOWER_BOUND_CALLS = Math.ceil(TYPING_MS / KOMMO_TYPING_DISPLAY_MS);
/** The bridge refreshes every TYPING_REFRESH_SECONDS (4 s by default): one call at start and one per refresh. */
const MAX_BRIDGE_CALLS = (refreshSeconds: number) => Math.floor(TYPING_MS / (refreshSeconds * 1000)) + 1;
/** Watch this long after the stop was answered: longer than a refresh interval, so a stray refresh would show. */
const WATCH_AFTER_STOP_MS = 6_000;

interface ScriptedTyping {
  atMs: number;
  state: 'start' | 'stop';
  ttlSeconds?: number;
}

interface Scenario {
  /** Figure name part, e.g. `keystrokes`. */
  name: string;
  label: string;
  description: string;
  events: ScriptedTyping[];
}

const scenarios: Scenario[] = [
  {
    name: 'keystrokes',
    label: 'keystrokes',
    description: `(a) a start every ${1000 / KEYSTROKES_PER_SECOND} ms for ${TYPING_MS / 1000} s (default ttl), then stop`,
    events: [
      ...Array.from(
        { length: (TYPING_MS / 1000) * KEYSTROKES_PER_SECOND },
        (_, index): ScriptedTyping => ({ atMs: (index * 1000) / KEYSTROKES_PER_SECOND, state: 'start' }),
      ),
      { atMs: TYPING_MS, state: 'stop' },
    ],
  },
  {
    name: 'start_stop',
    label: 'start/stop',
    description: `(b) one start with ttl_seconds 15, stop after ${TYPING_MS / 1000} s`,
    events: [
      { atMs: 0, state: 'start', ttlSeconds: 15 },
      { atMs: TYPING_MS, state: 'stop' },
    ],
  },
];

interface ScenarioRun {
  scenario: Scenario;
  bridgeAnswers: { event: ScriptedTyping; answer: Answer }[];
  naiveErrors: number;
  bridgeConversation: string;
  naiveConversation: string;
  /** How long the stop waited for earlier requests still in flight (0 on an unloaded machine). */
  stopHeldMs: number;
}

/**
 * Both scenarios run at once on their own conversations; each event goes to the bridge and, side by
 * side, to the naive forwarder (another conversation in the same Kommo sandbox). Real time, ~18 s.
 */
export async function measureTypingCalls(
  results: BenchResults,
  target: BenchTarget,
  clock: ArrivalClock,
  options: { runId: string; refreshSeconds: number; log: (line: string) => void },
): Promise<void> {
  const details: Record<string, unknown> = {};
  const t0 = performance.now() + 100;
  // A stalled event loop (GC, a busy machine) delays requests and timers alike: kept in the details to tell such a run apart.
  const loopDelay = monitorEventLoopDelay({ resolution: 10 });
  loopDelay.enable();
  const runs = await Promise.all(scenarios.map((scenario) => playScenario(target, scenario, t0, options.runId)));
  loopDelay.disable();
  details.eventLoopDelayMs = { max: Math.round(loopDelay.max / 1e6), p99: Math.round(loopDelay.percentile(99) / 1e6) };
  const maxBridgeCalls = MAX_BRIDGE_CALLS(options.refreshSeconds);

  for (const run of runs) {
    const { scenario } = run;
    const start = run.bridgeAnswers[0]!.answer.sentAt;
    const stop = run.bridgeAnswers.find((entry) => entry.event.state === 'stop')!.answer;
    const bridgeCalls = clock.all(typingCallKey(run.bridgeConversation)).map((arrival) => arrival.at);
    const naiveCalls = clock.all(typingCallKey(run.naiveConversation)).map((arrival) => arrival.at);
    const beforeStop = bridgeCalls.filter((at) => at <= stop.answeredAt);
    const afterStop = bridgeCalls.filter((at) => at > stop.answeredAt);
    const gap = longestGap(start, beforeStop, stop.sentAt);
    const bridgeShown = shownFraction(start, stop.sentAt, beforeStop);
    const naiveShown = shownFraction(
      start,
      stop.sentAt,
      naiveCalls.filter((at) => at <= stop.answeredAt),
    );
    const refused = run.bridgeAnswers.filter((entry) => entry.answer.status !== 202).length;
    const prefix = `typing.${scenario.name}`;
    const events = `${scenario.events.length} events: ${scenario.description}`;

    results.add({
      name: `${prefix}.bridge_calls`,
      section: 'typing calls',
      label: `${scenario.label}: bridge calls`,
      value: bridgeCalls.length,
      unit: 'calls',
      meaning: `Kommo typing calls the bridge made for ${events}.`,
    });
    results.add({
      name: `${prefix}.naive_calls`,
      section: 'typing calls',
      label: `${scenario.label}: naive forwarder calls`,
      value: naiveCalls.length,
      unit: 'calls',
      meaning: `Kommo typing calls a naive forwarder (one call per start, nothing on stop) made for the same events, same run.`,
    });
    results.add({
      name: `${prefix}.lower_bound`,
      section: 'typing calls',
      label: `${scenario.label}: lower bound`,
      value: LOWER_BOUND_CALLS,
      unit: 'calls',
      meaning: `ceil(${TYPING_MS / 1000} s / ${KOMMO_TYPING_DISPLAY_MS / 1000} s): the fewest calls that keep Kommo's 5 s typing display up for ${TYPING_MS / 1000} s.`,
    });
    results.add({
      name: `${prefix}.longest_gap`,
      section: 'typing calls',
      label: `${scenario.label}: longest gap between bridge calls`,
      value: gap,
      unit: 'ms',
      meaning:
        'Longest time without a fresh bridge typing call between the first start and the stop (both ends counted); above 5000 ms Kommo would stop showing "typing".',
    });
    results.add({
      name: `${prefix}.calls_after_stop`,
      section: 'typing calls',
      label: `${scenario.label}: bridge calls after stop`,
      value: afterStop.length,
      unit: 'calls',
      meaning: `Bridge typing calls that reached Kommo after the stop was answered 202 (watched for ${WATCH_AFTER_STOP_MS / 1000} s); must be 0.`,
    });
    results.add({
      name: `${prefix}.bridge_shown`,
      section: 'typing calls',
      label: `${scenario.label}: typing shown in Kommo (bridge)`,
      value: bridgeShown * 100,
      unit: '%',
      meaning:
        'Share of the time from first start to stop during which a bridge call was showing "typing" (each call shows it for 5 s).',
    });
    results.add({
      name: `${prefix}.naive_shown`,
      section: 'typing calls',
      label: `${scenario.label}: typing shown in Kommo (naive)`,
      value: naiveShown * 100,
      unit: '%',
      meaning: 'The same share for the naive forwarder.',
    });

    results.expect(
      `${prefix}: no bridge typing call after stop`,
      afterStop.length === 0,
      `${afterStop.length} call(s) after stop`,
    );
    results.expect(
      `${prefix}: longest gap between bridge calls <= ${KOMMO_TYPING_DISPLAY_MS} ms`,
      gap <= KOMMO_TYPING_DISPLAY_MS,
      `${gap.toFixed(0)} ms`,
    );
    results.expect(
      `${prefix}: at most ${maxBridgeCalls} bridge calls (one per ${options.refreshSeconds} s window)`,
      bridgeCalls.length <= maxBridgeCalls,
      `${bridgeCalls.length} calls`,
    );
    results.expect(
      `${prefix}: every typing request answered 202`,
      refused === 0,
      `${refused} of ${run.bridgeAnswers.length} not 202`,
    );
    results.expect(
      `${prefix}: the naive forwarder's calls all accepted`,
      run.naiveErrors === 0,
      `${run.naiveErrors} refused`,
    );

    const offsets = (times: number[]) => times.map((at) => Math.round(at - start));
    const slowest = [...run.bridgeAnswers].sort(
      (a, b) => b.answer.answeredAt - b.answer.sentAt - (a.answer.answeredAt - a.answer.sentAt),
    )[0]!;
    details[scenario.name] = {
      slowestAnswer: {
        sentAtMs: Math.round(slowest.answer.sentAt - start),
        tookMs: Math.round(slowest.answer.answeredAt - slowest.answer.sentAt),
        state: slowest.event.state,
      },
      description: scenario.description,
      stopSentAtMs: Math.round(stop.sentAt - start),
      stopHeldForInFlightStartsMs: Math.round(run.stopHeldMs),
      stopAnsweredAtMs: Math.round(stop.answeredAt - start),
      bridgeCallOffsetsMs: offsets(bridgeCalls),
      naiveCallCount: naiveCalls.length,
    };
    options.log(
      `  ${scenario.label}: bridge calls at ${offsets(bridgeCalls).join(', ')} ms (stop sent at ${Math.round(stop.sentAt - start)} ms); naive forwarder ${naiveCalls.length} calls; slowest answer ${Math.round(slowest.answer.answeredAt - slowest.answer.sentAt)} ms (sent at ${Math.round(slowest.answer.sentAt - start)} ms)`,
    );
  }
  results.details.typingCalls = details;
}

async function playScenario(target: BenchTarget, scenario: Scenario, t0: number, runId: string): Promise<ScenarioRun> {
  const bridgeConversation = `bench-${runId}-${scenario.name}-bridge`;
  const naiveConversation = `bench-${runId}-${scenario.name}-naive`;
  const senderId = 'bench-client';
  const forward = naiveTypingForwarder(target);
  const bridgeAnswers: ScenarioRun['bridgeAnswers'] = [];
  let naiveErrors = 0;
  const pending: Promise<unknown>[] = [];
  let stopHeldMs = 0;
  for (const event of scenario.events) {
    await sleepUntil(t0 + event.atMs);
    if (event.state === 'stop') {
      // Concurrent requests may be handled in any order, and a start handled after the stop legitimately
      // starts typing again. A careful client sends its stop after its starts were answered; so does this one.
      const heldSince = performance.now();
      await Promise.all(pending);
      stopHeldMs = performance.now() - heldSince;
    }
    const typing = {
      senderId,
      state: event.state,
      ...(event.ttlSeconds !== undefined ? { ttlSeconds: event.ttlSeconds } : {}),
    };
    pending.push(
      postChatTyping(target, { ...typing, conversationId: bridgeConversation }).then((answer) =>
        bridgeAnswers.push({ event, answer }),
      ),
    );
    pending.push(forward({ ...typing, conversationId: naiveConversation }).catch(() => (naiveErrors += 1)));
  }
  await Promise.all(pending);
  bridgeAnswers.sort((a, b) => a.answer.sentAt - b.answer.sentAt);
  const stop = bridgeAnswers.find((entry) => entry.event.state === 'stop')!.answer;
  await sleepUntil(stop.answeredAt + WATCH_AFTER_STOP_MS);
  return { scenario, bridgeAnswers, naiveErrors, bridgeConversation, naiveConversation, stopHeldMs };
}

/** Longest interval in [start, end] between consecutive points of {start, calls…, end}. */
export function longestGap(start: number, calls: readonly number[], end: number): number {
  const points = [start, ...calls.filter((at) => at > start && at < end), end].sort((a, b) => a - b);
  let longest = 0;
  for (let index = 1; index < points.length; index += 1)
    longest = Math.max(longest, points[index]! - points[index - 1]!);
  return longest;
}

/** Share of [start, end] covered by the union of [call, call + 5 s]. */
export function shownFraction(start: number, end: number, calls: readonly number[]): number {
  if (end <= start) return 0;
  let covered = 0;
  let reached = start;
  for (const call of [...calls].sort((a, b) => a - b)) {
    const from = Math.max(call, reached);
    const to = Math.min(call + KOMMO_TYPING_DISPLAY_MS, end);
    if (to > from) {
      covered += to - from;
      reached = to;
    }
  }
  return covered / (end - start);
}
