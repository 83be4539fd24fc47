import autocannon from 'autocannon';
import type { LocalRuntime } from '../local/runtime';
import { signedKommoHook } from '../local/requests';
import type { ArrivalClock } from './arrivals';
import type { BenchTarget } from './bridge-client';
import type { BenchResults } from './figures';
import { sampleEvery, sleepUntil } from './timing';

const CONNECTIONS = 50;
const DURATION_SECONDS = 10;
/**
 * Distinct conversations per second of the run (about 1.5x the rate measured on a 2-CPU machine); a
 * faster machine repeats a second's bodies, which the bridge takes as duplicate hooks.
 */
const CONVERSATIONS_PER_SECOND = 5_000;
const RSS_SAMPLE_MS = 100;
/**
 * Kommo sends `expired_at` = time + 5 s. Here it is 5 min, so the expiry timer every accepted hook sets
 * (one typing.stopped each) falls after the bench: the hook path is the same, and the bench does not
 * spend a minute delivering 15,000 typing.stopped events before it can stop.
 */
const EXPIRES_AFTER_SECONDS = 300;
/**
 * How long to wait after the run for the backlog before giving up on the figure. Stopping the runtime
 * waits for the backlog anyway (LocalBridge.stop awaits the pump in progress), so this costs no extra time.
 */
const DRAIN_LIMIT_MS = 120_000;

const MB = 1024 * 1024;

interface SignedHook {
  body: string;
  headers: Record<string, string>;
}

/**
 * Signed Kommo-user typing hooks at 50 connections for 10 s. Bodies are signed before the run, one set per
 * second of the run with that second's `time`, each a new conversation, so no hook is stale when it
 * arrives and no signing happens while measuring. Autocannon, the bridge and the sandboxes share this
 * process and its event loop; DynamoDB Local runs beside it in its own JVM.
 */
export async function measureThroughput(
  results: BenchResults,
  target: BenchTarget,
  runtime: LocalRuntime,
  clock: ArrivalClock,
  options: { runId: string; log: (line: string) => void },
): Promise<void> {
  const firstSecond = Math.floor(Date.now() / 1000) + 1;
  const buckets = presign(target, options.runId, firstSecond);
  // Start on a whole second so bucket j is exactly the second whose `time` its bodies carry.
  await sleepUntil(performance.now() + (firstSecond * 1000 - Date.now()));

  clock.setRecording(false);
  const acceptedBefore = runtime.metrics.get('KommoHookAccepted');
  const rssBefore = process.memoryUsage.rss();
  const rss = sampleEvery(RSS_SAMPLE_MS, () => process.memoryUsage.rss());
  let sent = 0;
  const startedAt = performance.now();
  const result = await autocannon({
    url: `${target.url}/kommo/${target.scopeId}`,
    connections: CONNECTIONS,
    duration: DURATION_SECONDS,
    requests: [
      {
        method: 'POST',
        setupRequest: (request) => {
          const second = Math.min(buckets.length - 1, Math.max(0, Math.floor(Date.now() / 1000) - firstSecond));
          const bucket = buckets[second]!;
          const hook = bucket[sent % bucket.length]!;
          sent += 1;
          return { ...request, method: 'POST', body: hook.body, headers: hook.headers };
        },
      },
    ],
  });
  const rssSamples = rss.stop();

  // The 200 only means "queued": the hook worker processes the backlog after it (here in the same process).
  let drainedAt: number | undefined;
  const drainDeadline = performance.now() + DRAIN_LIMIT_MS;
  while (performance.now() < drainDeadline) {
    if (runtime.bridge.queues.hooks.depth === 0 && runtime.bridge.queues.events.depth === 0) {
      drainedAt = performance.now();
      break;
    }
    await sleepUntil(performance.now() + 50);
  }
  clock.setRecording(true);

  const accepted = runtime.metrics.get('KommoHookAccepted') - acceptedBefore;
  const failures = result.errors + result.non2xx;
  const meaningSuffix = `${CONNECTIONS} connections, ${DURATION_SECONDS} s, signed typing hooks to POST /kommo/{scope}`;
  results.add({
    name: 'throughput.requests_per_second',
    section: 'throughput',
    label: 'Kommo hooks answered',
    value: result.requests.average,
    unit: 'req/s',
    meaning: `Mean requests per second answered by the local runtime (autocannon, ${meaningSuffix}).`,
  });
  results.add({
    name: 'throughput.latency_p99',
    section: 'throughput',
    label: 'hook latency p99 under load',
    value: result.latency.p99,
    unit: 'ms',
    meaning: `p99 of autocannon's per-request latency during the run (${meaningSuffix}).`,
  });
  results.add({
    name: 'throughput.requests_total',
    section: 'throughput',
    label: 'hooks sent',
    value: result.requests.total,
    unit: 'requests',
    meaning: 'Requests completed during the run.',
  });
  results.add({
    name: 'throughput.errors',
    section: 'throughput',
    label: 'errors + non-2xx',
    value: failures,
    unit: 'requests',
    meaning: `Connection errors and timeouts (${result.errors}) plus non-2xx answers (${result.non2xx}); must be 0.`,
  });
  results.add({
    name: 'throughput.rss_peak',
    section: 'throughput',
    label: 'peak RSS during the run',
    value: Math.max(...rssSamples) / MB,
    unit: 'MB',
    meaning: `Highest process RSS, sampled every ${RSS_SAMPLE_MS} ms during the run; one process holds the bridge (its in-process queues too, so the hook backlog counts), both sandboxes and autocannon; DynamoDB Local is a separate JVM, not counted.`,
  });
  results.add({
    name: 'throughput.rss_before',
    section: 'throughput',
    label: 'RSS before the run',
    value: rssBefore / MB,
    unit: 'MB',
    meaning: 'The same process RSS just before the run, for comparison (includes the pre-signed hook bodies).',
  });
  if (drainedAt !== undefined) {
    results.add({
      name: 'throughput.hook_backlog_drained',
      section: 'throughput',
      label: 'hook backlog processed after',
      value: (drainedAt - startedAt) / 1000,
      unit: 's',
      meaning: `Seconds from the run's start until every accepted hook (${accepted}) was processed and its typing.started delivered to the sink; locally one in-process consumer per queue works the backlog, in AWS Lambda scales consumers.`,
    });
    results.add({
      name: 'throughput.hooks_processed_per_second',
      section: 'throughput',
      label: 'hooks processed end to end (local)',
      value: accepted / ((drainedAt - startedAt) / 1000),
      unit: 'hooks/s',
      meaning:
        'Accepted hooks divided by the time until the hooks and events queues were empty: what the single local consumers sustained (renewal write, expiry timer, signed typing.started POST).',
    });
  }
  results.expect(
    'throughput: no errors or non-2xx answers',
    failures === 0,
    `${result.errors} errors, ${result.timeouts} timeouts, ${result.non2xx} non-2xx`,
  );
  results.details.throughput = {
    connections: CONNECTIONS,
    durationSeconds: DURATION_SECONDS,
    accepted,
    backlog:
      drainedAt === undefined
        ? `not processed within ${DRAIN_LIMIT_MS / 1000} s after the run (${runtime.bridge.queues.hooks.depth} hooks, ${runtime.bridge.queues.events.depth} events queued)`
        : 'processed',
    statusCodes: result.statusCodeStats,
    latency: { p50: result.latency.p50, p90: result.latency.p90, p99: result.latency.p99, max: result.latency.max },
    rssSamplesMB: rssSamples.map((value) => Math.round(value / MB)),
  };
  options.log(
    `  ${Math.round(result.requests.average)} req/s, p99 ${result.latency.p99} ms, ${failures} errors/non-2xx, ${accepted} hooks accepted, backlog ${drainedAt === undefined ? 'not drained' : `drained after ${((drainedAt - startedAt) / 1000).toFixed(1)} s`}`,
  );
}

function presign(target: BenchTarget, runId: string, firstSecond: number): SignedHook[][] {
  // Two spare seconds: the run may end a little late, and its last requests still find fresh bodies.
  return Array.from({ length: DURATION_SECONDS + 2 }, (_, second) =>
    Array.from({ length: CONVERSATIONS_PER_SECOND }, (_, index) => {
      const time = firstSecond + second;
      const body = JSON.stringify({
        account_id: target.accountId,
        time,
        action: {
          typing: {
            user: { id: `bench-kommo-user-${index % 20}` },
            conversation: { id: `tp-${runId}-${second}-${index}`, client_id: `c-tp-${runId}-${second}-${index}` },
            expired_at: time + EXPIRES_AFTER_SECONDS,
          },
        },
      });
      return { body, headers: signedKommoHook(target.channelSecret, body) };
    }),
  );
}
