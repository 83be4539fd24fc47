import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { cpus, homedir, loadavg, tmpdir, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import { sourceOfPrintedLine, startLocalRuntime, type LocalRuntime } from '../local/runtime';
import { ArrivalClock } from './arrivals';
import { benchTarget } from './bridge-client';
import { measureColdStart } from './cold-start';
import { measureBatching, saveMeasuredBatching } from './batching';
import { measureCost } from './cost';
import { BenchResults, formatMarkdownTable, formatTable, previousFigures } from './figures';
import { measureLatency, warmUp } from './latency';
import { measureLivePresence } from './live-channel';
import { measureThroughput } from './throughput';
import { measureStatusPolls } from './status-polls';
import { measureTypingCalls } from './typing-calls';
import { measureWidget } from './widget';

/**
 * `npm run bench` (issue 7): typing calls, latency, throughput and cold start, against the local
 * runtime (real clock, DynamoDB Local, Kommo sandbox, chat-service sink) and the synthesized bundles.
 * Prints a table, writes bench/results.json, and exits non-zero when a hard expectation fails.
 */

process.env.CDK_DISABLE_CLI_TELEMETRY ??= 'true';
// Local machines may run an older Node than the Lambda runtime; the SDK's notice about it is noise here.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const RESULTS_FILE = new URL('./results.json', import.meta.url);
const SECTIONS = [
  'typing',
  'latency',
  'live',
  'widget',
  'throughput',
  'status-polls',
  'batching',
  'cost',
  'cold-start',
] as const;
/** `BENCH_SECTIONS=typing,latency npm run bench` runs only those (results.json then holds only them). */
const selected = new Set((process.env.BENCH_SECTIONS ?? SECTIONS.join(',')).split(',').map((name) => name.trim()));
const runs = (name: (typeof SECTIONS)[number]) => selected.has(name);
const SECTION_ORDER = [
  'typing calls',
  'latency',
  'live channel',
  'widget',
  'throughput',
  'status polls',
  'batching',
  'cost',
  'cold start',
];
/** `BENCH_BATCHING_ACCOUNTS=20`: the accounts whose traffic the batching section drives (as many as the machine carries). */
const BATCHING_ACCOUNTS = Number(process.env.BENCH_BATCHING_ACCOUNTS ?? 10);
const MEASURED_SECONDS = Number(process.env.BENCH_BATCHING_SECONDS ?? 60);

const LEGEND = `Legend
  typing calls  Client typing for 12 s, (a) a start every 100 ms, (b) one start (ttl 15 s) and a stop after 12 s.
                bridge = Kommo typing calls the bridge made; naive = a forwarder making one call per start;
                lower bound = ceil(12 s / 5 s display). "typing shown" = share of the 12 s that Kommo showed typing.
  latency       Sequential samples with fresh ids, measured from request send to the sandbox recording the
                call or event (performance.now(), same process). Loopback, DynamoDB Local: relative, not AWS figures.
  live channel  A widget on the live channel (ticket from POST /widget/live, a real WebSocket on the HTTP port) watches a
                chat; the chat service turns its client online and offline in turn, 200 times: from sending the signed
                presence request to the client.presence frame arriving on the socket (performance.now(), same process).
  widget        The real widget/script.js in headless Chromium on the sandbox's Kommo stand-in (real jQuery, RequireJS)
                against this runtime: navigation start → the mark in the lead card (10 fresh tabs); a signed client
                presence change → the mark's state flipping in the open card (40 changes); the HTTP requests Chromium
                sent to the bridge and the CRM API per card open and per hour open (the hour on Playwright's page clock).
  throughput    autocannon, 50 connections, 10 s of signed Kommo typing hooks. The bridge, both sandboxes and
                autocannon share one Node process, so RSS and req/s are for all of them together.
  status polls  Delivery status pulled from the chat service (CHAT_SERVICE_STATUS_URL): signed status queries the sink
                verified for a message delivered at 2 s and read at 1 min, the bridge's backing-off schedule beside a
                fixed 2-s poller; the whole bridge runs on a manual clock, so times are simulated, counts real.
  batching      The account profile's working-hours traffic for N accounts (BENCH_BATCHING_ACCOUNTS, default 10) sent in real
                time through the local runtime, every queue delivered as an SQS event source mapping does (5 pollers, the
                manifest's batch size and window): messages per consumer invocation over 60 s after a 60-s warm-up (timers re-armed every minute reach their pace). Saved
                to bench/batching.json, which the cost section prices the queues with.
  cost          Each event type run through the whole bridge on a manual clock, its timers and queued work included:
                API requests, live-channel frames, Lambda invocations, SQS requests, DynamoDB units by AWS's rules,
                outbound calls, and the log bytes the handlers print through Powertools at INFO (plus Lambda's and
                API Gateway's lines); $/M at batch size 1. The all-in month of the account profile, for 1 to 10,000
                accounts: consumers batched as the batching section measured (bench/batching.json), X-Ray only with
                the stack's tracing prop (off by default), and the deployment's fixed costs shared (bench/cost-model.ts, docs/cost-model.md). [brackets]: the last committed figure.
  cold start    Bundles synthesized by the CDK app (exactly what deploys, ES modules); module init = import() of the
                bundle plus the config/client building it starts at load, median of 20 fresh Node processes (local
                Node, not Lambda's; Node start-up and the Secrets Manager fetch excluded). Beside each: [the last
                committed figure], the ratio, and init as a multiple of not-found's in the same run.`;

async function main(): Promise<number> {
  const startedAt = performance.now();
  const results = new BenchResults();
  const runId = randomBytes(3).toString('hex');
  const say = (line: string) => process.stdout.write(`${line}\n`);
  const bridgeProblems: string[] = [];
  let bridgeProblemCount = 0;
  const clock = new ArrivalClock();

  const section = async (name: string, work: () => Promise<void>) => {
    const sectionStart = performance.now();
    say(`\n▶ ${name}`);
    try {
      await work();
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      results.failures.push({ section: name, error: message.split('\n').slice(0, 3).join(' | ') });
      say(`  FAILED: ${error instanceof Error ? (error.stack ?? message) : message}`);
    }
    say(`  (${((performance.now() - sectionStart) / 1000).toFixed(1)} s)`);
  };

  const loadAtStart = loadavg()[0]!;
  say(
    `Kommo Live Bridge bench · node ${process.version} · ${cpus().length} CPUs · load average ${loadAtStart.toFixed(2)} · run ${runId}`,
  );
  if (loadAtStart > cpus().length)
    say(
      `  warning: the machine is busy (load average ${loadAtStart.toFixed(1)} on ${cpus().length} CPUs); timings will be noisy`,
    );

  let runtime: LocalRuntime | undefined;
  const needsRuntime = runs('typing') || runs('latency') || runs('live') || runs('widget') || runs('throughput');
  if (needsRuntime)
    await section('starting the local runtime (DynamoDB Local, Kommo sandbox, chat-service sink)', async () => {
      runtime = await startLocalRuntime({
        env: {},
        port: 0,
        logLevel: 'warn',
        print: (line) => {
          clock.onLine(line);
          if (sourceOfPrintedLine(line) === 'bridge') {
            bridgeProblemCount += 1;
            if (bridgeProblems.length < 10) bridgeProblems.push(line);
          }
        },
      });
      clock.attach(runtime.kommo!, runtime.sink!);
      // Start-up notices (say, optional settings the sandbox leaves unset) are not problems of the run.
      for (const line of bridgeProblems.splice(0)) say(`  ${line}`);
      bridgeProblemCount = 0;
      say(`  listening on ${runtime.url}`);
    });

  if (runtime) {
    // Ctrl-C still stops DynamoDB Local (a separate JVM that would outlive this process).
    const running = runtime;
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      process.once(signal, () => {
        say(`\n${signal}: stopping the local runtime…`);
        void running.stop().finally(() => process.exit(130));
      });
    }
    const target = benchTarget(runtime);
    try {
      await section('warming up (20 unmeasured rounds of every latency path)', () => warmUp(target, clock, runId, 20));
      if (runs('typing'))
        await section(
          'typing calls (12 s of typing, two styles at once, bridge and naive forwarder side by side)',
          () =>
            measureTypingCalls(results, target, clock, {
              runId,
              refreshSeconds: runtime!.config.TYPING_REFRESH_SECONDS,
              log: say,
            }),
        );
      if (runs('latency'))
        await section('latency (200 samples per path)', () =>
          measureLatency(results, target, clock, { runId, log: say }),
        );
      if (runs('live'))
        await section('live channel (200 client presence transitions pushed to a watching widget)', () =>
          measureLivePresence(results, target, runtime!, { runId, log: say }),
        );
      if (runs('widget'))
        await section(
          'widget (the real widget in headless Chromium on the Kommo stand-in: card opens, presence, an hour open)',
          () => measureWidget(results, target, runtime!, { log: say }),
        );
      if (runs('throughput'))
        await section('throughput (autocannon, 50 connections, 10 s)', () =>
          measureThroughput(results, target, runtime!, clock, { runId, log: say }),
        );
    } finally {
      await section('stopping the local runtime', () => runtime!.stop());
    }
  }

  if (runs('status-polls'))
    await section('status polls (a simulated day on a manual clock: bridge schedule beside a fixed 2-s poller)', () =>
      measureStatusPolls(results, say),
    );
  if (runs('batching'))
    await section(
      `batching (the profile's working-hours traffic for ${BATCHING_ACCOUNTS} accounts in real time, ${MEASURED_SECONDS} s measured: messages per consumer invocation)`,
      async () => {
        const measured = await measureBatching(results, say, {
          accounts: BATCHING_ACCOUNTS,
          warmUpSeconds: 60,
          measuredSeconds: MEASURED_SECONDS,
          runId,
        });
        // The cost section prices the queues with it (bench/batching.json), only from a clean run.
        if (measured.failedRequests === 0) saveMeasuredBatching(measured);
      },
    );
  if (runs('cost'))
    await section(
      'cost (every event type through the whole bridge on a manual clock, priced per event and per account-month)',
      () => measureCost(results, say, RESULTS_FILE),
    );

  // Last, once the runtime is stopped: CDK bundling blocks the event loop and the child processes want the
  // CPUs, and loading aws-cdk-lib would inflate the RSS the throughput section reports.
  if (runs('cold-start'))
    await section('cold start (synthesizing the CDK app, then 20 fresh Node processes per function)', () =>
      measureColdStart(results, say, previousFigures(RESULTS_FILE)),
    );

  if (needsRuntime) results.details.bridgeWarningsDuringRun = { count: bridgeProblemCount, first: bridgeProblems };
  results.figures.sort((a, b) => SECTION_ORDER.indexOf(a.section) - SECTION_ORDER.indexOf(b.section));
  const durationSeconds = (performance.now() - startedAt) / 1000;

  const report = {
    generatedAt: new Date().toISOString(),
    environment: {
      node: process.version,
      platform: process.platform,
      arch: process.arch,
      cpuCount: cpus().length,
      cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
      totalMemoryMB: Math.round(totalmem() / (1024 * 1024)),
      // Other work on the machine shows in every timing; one-minute load averages around the run.
      loadAverageAtStart: Math.round(loadAtStart * 100) / 100,
      loadAverageAtEnd: Math.round(loadavg()[0]! * 100) / 100,
    },
    durationSeconds: Math.round(durationSeconds),
    passed: results.passed,
    figures: results.figures,
    expectations: results.expectations,
    failures: results.failures,
    details: results.details,
  };
  writeFileSync(RESULTS_FILE, `${withoutMachinePaths(JSON.stringify(report, null, 2))}\n`);

  say(`\n${formatTable(results.figures)}`);
  say(`\n${LEGEND}`);
  if (bridgeProblems.length > 0)
    say(
      `\nBridge warnings/errors during the run (${bridgeProblemCount}, first ${bridgeProblems.length}):\n  ${bridgeProblems.join('\n  ')}`,
    );
  const failed = results.expectations.filter((expectation) => !expectation.passed);
  say(`\nExpectations: ${results.expectations.length - failed.length}/${results.expectations.length} kept`);
  for (const expectation of failed) say(`  FAILED ${expectation.name}: ${expectation.detail}`);
  for (const failure of results.failures) say(`  SECTION FAILED ${failure.section}: ${failure.error}`);
  if (process.env.BENCH_MARKDOWN) say(`\n${formatMarkdownTable(results.figures)}`);
  say(
    `\nWrote ${fileURLToPath(RESULTS_FILE).split('/').slice(-2).join('/')} · ${durationSeconds.toFixed(0)} s · ${results.passed ? 'PASS' : 'FAIL'}`,
  );
  return results.passed ? 0 : 1;
}

/** results.json is committed: error texts must not carry this machine's directories. */
function withoutMachinePaths(text: string): string {
  const repository = fileURLToPath(new URL('../', import.meta.url));
  return text.replaceAll(repository, '').replaceAll(tmpdir(), '<tmp>').replaceAll(homedir(), '~');
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
