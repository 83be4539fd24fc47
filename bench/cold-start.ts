import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { CfnElement } from 'aws-cdk-lib';
import { secretSettingNames } from '../functions/core/config';
import { functions as functionSpecs, type FunctionName } from '../functions/manifest';
import { median, type BenchResults } from './figures';

const run = promisify(execFile);

/** Fresh Node processes per function (issue 7). */
const INIT_RUNS = 20;

/** Issue 12's targets, as ratios or sizes measured in the same run (this machine is noisy; ratios are not). */
const MAX_BUNDLE_KB = 450;
const MAX_KOMMO_HOOK_BUNDLE_KB = 350;
const MAX_INIT_RATIO_TO_NOT_FOUND = 3;

/**
 * Synthesizes the real CDK app into a temporary directory, so each function's `index.mjs` is exactly
 * the asset `cdk deploy` uploads (BridgeFunction's esbuild options: minified ES module, everything
 * bundled), then loads each bundle in fresh Node processes with the environment the stack gives it.
 * Prints each function's bundle and init beside the previous committed figure, as ratios.
 */
export async function measureColdStart(
  results: BenchResults,
  log: (line: string) => void,
  previous: ReadonlyMap<string, number>,
): Promise<void> {
  const outdir = mkdtempSync(join(tmpdir(), 'kommo-bench-cdk-'));
  try {
    const started = performance.now();
    const bundles = await synthesizeBundles(outdir);
    log(`  synthesized ${bundles.length} function bundles in ${((performance.now() - started) / 1000).toFixed(1)} s`);

    const perFunction: Record<string, { bundleBytes: number; evaluateMs: number[]; readyMs: number[] }> = {};
    for (const bundle of bundles) {
      const evaluateMs: number[] = [];
      const readyMs: number[] = [];
      try {
        for (let attempt = 0; attempt < INIT_RUNS; attempt += 1) {
          const timing = await loadInFreshNode(bundle);
          evaluateMs.push(timing.evaluateMs);
          readyMs.push(timing.readyMs);
        }
      } catch (error) {
        // One function that cannot load (say, a setting this bench does not know yet) must not hide the others.
        results.failures.push({
          section: `cold start: ${bundle.name}`,
          error: error instanceof Error ? error.message.split('\n').slice(0, 4).join(' | ') : String(error),
        });
        log(`  ${bundle.name}: FAILED to load: ${error instanceof Error ? error.message : String(error)}`);
        continue;
      }
      perFunction[bundle.name] = { bundleBytes: bundle.bytes, evaluateMs, readyMs };
      results.add({
        name: `cold_start.${bundle.name}.bundle_size`,
        section: 'cold start',
        label: `${bundle.name}: bundle`,
        value: bundle.bytes / 1024,
        unit: 'KB',
        meaning: `Size of ${bundle.name}'s index.mjs as synthesized by the CDK app (esbuild, minified ES module, AWS SDK bundled; source map and metafile not counted).`,
      });
      results.add({
        name: `cold_start.${bundle.name}.module_init`,
        section: 'cold start',
        label: `${bundle.name}: module init (median of ${INIT_RUNS})`,
        value: median(readyMs),
        unit: 'ms',
        meaning: `Median over ${INIT_RUNS} fresh Node processes of the time to import ${bundle.name}'s bundle and let the dependency building it starts at load run (until the next macrotask), with the stack's environment and --enable-source-maps; excludes Node's own start-up and the Secrets Manager fetch.`,
      });
    }
    results.details.coldStart = {
      runsPerFunction: INIT_RUNS,
      note: 'evaluateMs: import() of the bundle; readyMs: import() plus the microtasks it queued (config validation, clients, handler).',
      perFunction,
    };
    reportSideBySide(results, log, perFunction, previous);
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

/**
 * One line per function: bundle and init now, the previous committed figure and the ratio, and init as
 * a multiple of not-found's in this run (the function that carries no client: the floor).
 */
function reportSideBySide(
  results: BenchResults,
  log: (line: string) => void,
  perFunction: Record<string, { bundleBytes: number; readyMs: number[] }>,
  previous: ReadonlyMap<string, number>,
): void {
  const floor = perFunction['not-found'] ? median(perFunction['not-found'].readyMs) : undefined;
  const ratio = (now: number, before: number | undefined) =>
    before === undefined || before === 0 ? '     ' : `×${(now / before).toFixed(2)}`.padStart(5);
  log(
    `\n  ${'function'.padEnd(20)} ${'bundle KB'.padStart(9)} ${'[previous]'.padStart(10)} ${'ratio'.padStart(5)}   ${'init ms'.padStart(7)} ${'[previous]'.padStart(10)} ${'ratio'.padStart(5)}   ÷ not-found`,
  );
  for (const [name, figures] of Object.entries(perFunction)) {
    const kb = figures.bundleBytes / 1024;
    const init = median(figures.readyMs);
    const kbBefore = previous.get(`cold_start.${name}.bundle_size`);
    const initBefore = previous.get(`cold_start.${name}.module_init`);
    log(
      `  ${name.padEnd(20)} ${kb.toFixed(0).padStart(9)} ${(kbBefore === undefined ? '' : `[${kbBefore.toFixed(0)}]`).padStart(10)} ${ratio(kb, kbBefore)}   ${init.toFixed(1).padStart(7)} ${(initBefore === undefined ? '' : `[${initBefore.toFixed(1)}]`).padStart(10)} ${ratio(init, initBefore)}   ${floor ? `${(init / floor).toFixed(1)}×` : ''}`,
    );
    const limit = name === 'kommo-hook' ? MAX_KOMMO_HOOK_BUNDLE_KB : MAX_BUNDLE_KB;
    results.expect(`cold start: ${name}'s bundle is at most ${limit} KB`, kb <= limit, `${kb.toFixed(0)} KB`);
    if (floor !== undefined && name !== 'not-found') {
      results.expect(
        `cold start: ${name}'s median init is at most ${MAX_INIT_RATIO_TO_NOT_FOUND}× not-found's`,
        init <= MAX_INIT_RATIO_TO_NOT_FOUND * floor,
        `${(init / floor).toFixed(1)}× (${init.toFixed(1)} ms against ${floor.toFixed(1)} ms)`,
      );
    }
  }
}

interface FunctionBundle {
  name: FunctionName;
  file: string;
  bytes: number;
  environment: Record<string, string>;
}

/** The CDK app's feature flags, so the synthesized assets are the ones `cdk synth` makes. */
function cdkContext(): Record<string, unknown> {
  const cdkJson = JSON.parse(readFileSync(new URL('../cdk.json', import.meta.url), 'utf8')) as {
    context?: Record<string, unknown>;
  };
  return cdkJson.context ?? {};
}

async function synthesizeBundles(outdir: string): Promise<FunctionBundle[]> {
  // Loaded here, not at the top: aws-cdk-lib is large, and the throughput section measures this process's RSS.
  const { App } = await import('aws-cdk-lib');
  const { BridgeStack } = await import('../infra/bridge-stack');
  const app = new App({ outdir, context: cdkContext() });
  const stack = new BridgeStack(app, 'KommoLiveBridge');
  const assembly = app.synth();
  const template = assembly.getStackByName(stack.stackName).template as {
    Parameters?: Record<string, { Default?: unknown }>;
    // biome-ignore lint/suspicious/noExplicitAny: a CloudFormation template, read the way test/infra reads it
    Resources: Record<string, { Type: string; Properties?: Record<string, any> }>;
  };
  return functionSpecs.map((spec) => {
    const bridgeFunction = stack.functions.get(spec.name);
    if (!bridgeFunction) throw new Error(`the stack has no function ${spec.name}`);
    const logicalId = stack.getLogicalId(bridgeFunction.function.node.defaultChild as CfnElement);
    const properties = template.Resources[logicalId]?.Properties;
    const s3Key = properties?.Code?.S3Key;
    if (typeof s3Key !== 'string') throw new Error(`no asset for ${spec.name} (${logicalId})`);
    const file = join(assembly.directory, `asset.${s3Key.replace(/\.zip$/, '')}`, 'index.mjs');
    return {
      name: spec.name,
      file,
      bytes: statSync(file).size,
      environment: deployedEnvironment(properties?.Environment?.Variables ?? {}, template.Parameters ?? {}),
    };
  });
}

/**
 * The function's environment from the template, with tokens replaced by plausible values: parameters
 * by their default (or a valid dummy), resources (queues, table) by dummies. The `*_SECRET_ARN`
 * variables are dropped and the secret settings are given as variables instead, so nothing calls Secrets Manager.
 */
function deployedEnvironment(
  variables: Record<string, unknown>,
  parameters: Record<string, { Default?: unknown }>,
): Record<string, string> {
  const dummies = dummySettings();
  const environment: Record<string, string> = {};
  for (const [name, value] of Object.entries(variables)) {
    if (name.endsWith('_SECRET_ARN')) continue;
    if (typeof value === 'string') environment[name] = value;
    else if (/_(QUEUE|DLQ)_URL$/.test(name)) {
      environment[name] = `https://sqs.eu-west-1.amazonaws.com/000000000000/${name.toLowerCase()}`;
    } else {
      const ref = (value as { Ref?: string } | null)?.Ref;
      const fallback = ref ? parameters[ref]?.Default : undefined;
      environment[name] = dummies[name] ?? (typeof fallback === 'string' ? fallback : '');
    }
  }
  const secrets = Object.fromEntries(secretSettingNames.map((name) => [name, dummies[name]!]));
  return {
    ...environment,
    ...secrets,
    // What Lambda itself sets; the SDK clients read the region.
    AWS_REGION: 'eu-west-1',
    AWS_DEFAULT_REGION: 'eu-west-1',
    AWS_LAMBDA_FUNCTION_NAME: 'bench',
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '512',
    // Local Node may be older than the Lambda runtime; the SDK's notice about it is noise here.
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  };
}

/** Valid, made-up values for every setting the functions validate at load (docs/contract.md, "Configuration"). */
function dummySettings(): Record<string, string> {
  const dummies: Record<string, string> = {
    KOMMO_CHANNEL_ID: '5a4db0c5-0000-4000-8000-00000000c4a7',
    KOMMO_CHANNEL_SECRET: '0123456789abcdef0123456789abcdef01234567',
    KOMMO_API_URL: 'https://amojo.kommo.com',
    CHAT_SERVICE_URL: 'https://chat.example.com/kommo-events',
    CHAT_SERVICE_SECRET: `whsec_${Buffer.alloc(32, 7).toString('base64')}`,
    CHAT_SERVICE_SECRET_PREVIOUS: '',
    KOMMO_CLIENT_SECRET: 'bench-client-secret-0123456789abcdef',
    KOMMO_REDIRECT_URI: 'https://bridge.example.com/kommo/oauth',
    ADMIN_TOKEN: 'bench-admin-token-0123456789abcdef',
    TABLE_NAME: 'kommo-live-bridge-table',
  };
  const unknown = secretSettingNames.filter((name) => !(name in dummies));
  if (unknown.length > 0)
    throw new Error(`bench/cold-start.ts has no dummy value for the secret setting(s) ${unknown.join(', ')}`);
  return dummies;
}

/**
 * Runs in the child (an ES module, like the bundle): times the import (module evaluation) and the
 * point where the microtasks it queued have run (wiring.ts builds config, clients and handler in a
 * promise chain).
 */
const childScript = `
import { pathToFileURL } from 'node:url';
const bundle = pathToFileURL(process.argv[1]).href;
const t0 = performance.now();
await import(bundle);
const t1 = performance.now();
setImmediate(() => {
  const t2 = performance.now();
  process.stdout.write('\\nBENCH_INIT ' + JSON.stringify({ evaluateMs: t1 - t0, readyMs: t2 - t0 }) + '\\n');
  process.exit(0);
});
`;

async function loadInFreshNode(bundle: FunctionBundle): Promise<{ evaluateMs: number; readyMs: number }> {
  const { stdout, stderr } = await run(process.execPath, ['--input-type=module', '-e', childScript, bundle.file], {
    env: { PATH: process.env.PATH ?? '', ...bundle.environment },
    timeout: 30_000,
    maxBuffer: 16 * 1024 * 1024,
  });
  // A configuration or start-up failure is logged by wiring.ts at ERROR: the figure would be meaningless.
  if (/"level"\s*:\s*"ERROR"/i.test(stdout + stderr))
    throw new Error(`${bundle.name} logged an error while loading:\n${(stdout + stderr).slice(0, 2000)}`);
  const line = stdout.split('\n').find((candidate) => candidate.startsWith('BENCH_INIT '));
  if (!line) throw new Error(`${bundle.name}: no timing from the child process:\n${stdout.slice(0, 2000)}`);
  return JSON.parse(line.slice('BENCH_INIT '.length)) as { evaluateMs: number; readyMs: number };
}
