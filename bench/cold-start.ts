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

/**
 * Synthesizes the real CDK app into a temporary directory, so each function's `index.js` is exactly
 * the asset `cdk deploy` uploads (BridgeFunction's esbuild options: minified CJS, everything bundled),
 * then loads each bundle in fresh Node processes with the environment the stack gives it.
 */
export async function measureColdStart(results: BenchResults, log: (line: string) => void): Promise<void> {
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
        results.failures.push({ section: `cold start: ${bundle.name}`, error: error instanceof Error ? error.message.split('\n').slice(0, 4).join(' | ') : String(error) });
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
        meaning: `Size of ${bundle.name}'s index.js as synthesized by the CDK app (esbuild, minified, CJS, AWS SDK bundled; source map not counted).`,
      });
      results.add({
        name: `cold_start.${bundle.name}.module_init`,
        section: 'cold start',
        label: `${bundle.name}: module init (median of ${INIT_RUNS})`,
        value: median(readyMs),
        unit: 'ms',
        meaning:
          `Median over ${INIT_RUNS} fresh Node processes of the time to require ${bundle.name}'s bundle and let the dependency building it starts at load run (until the next macrotask), with the stack's environment and --enable-source-maps; excludes Node's own start-up and the Secrets Manager fetch.`,
      });
      log(`  ${bundle.name}: ${(bundle.bytes / 1024).toFixed(0)} KB, module init median ${median(readyMs).toFixed(1)} ms (evaluation alone ${median(evaluateMs).toFixed(1)} ms)`);
    }
    results.details.coldStart = {
      runsPerFunction: INIT_RUNS,
      note: 'evaluateMs: synchronous require() only; readyMs: require() plus the microtasks it queued (config validation, clients, handler).',
      perFunction,
    };
  } finally {
    rmSync(outdir, { recursive: true, force: true });
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
  const cdkJson = JSON.parse(readFileSync(new URL('../cdk.json', import.meta.url), 'utf8')) as { context?: Record<string, unknown> };
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
    Resources: Record<string, { Type: string; Properties?: Record<string, any> }>;
  };
  return functionSpecs.map((spec) => {
    const bridgeFunction = stack.functions.get(spec.name);
    if (!bridgeFunction) throw new Error(`the stack has no function ${spec.name}`);
    const logicalId = stack.getLogicalId(bridgeFunction.function.node.defaultChild as CfnElement);
    const properties = template.Resources[logicalId]?.Properties;
    const s3Key = properties?.Code?.S3Key;
    if (typeof s3Key !== 'string') throw new Error(`no asset for ${spec.name} (${logicalId})`);
    const file = join(assembly.directory, `asset.${s3Key.replace(/\.zip$/, '')}`, 'index.js');
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
function deployedEnvironment(variables: Record<string, unknown>, parameters: Record<string, { Default?: unknown }>): Record<string, string> {
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
  if (unknown.length > 0) throw new Error(`bench/cold-start.ts has no dummy value for the secret setting(s) ${unknown.join(', ')}`);
  return dummies;
}

/**
 * Runs in the child: times the synchronous `require` (module evaluation) and the point where the
 * microtasks it queued have run (wiring.ts builds config, clients and handler in a promise chain).
 */
const childScript = `
const t0 = performance.now();
require(process.argv[1]);
const t1 = performance.now();
setImmediate(() => {
  const t2 = performance.now();
  process.stdout.write('\\nBENCH_INIT ' + JSON.stringify({ evaluateMs: t1 - t0, readyMs: t2 - t0 }) + '\\n');
  process.exit(0);
});
`;

async function loadInFreshNode(bundle: FunctionBundle): Promise<{ evaluateMs: number; readyMs: number }> {
  const { stdout, stderr } = await run(process.execPath, ['-e', childScript, bundle.file], {
    env: { PATH: process.env.PATH ?? '', ...bundle.environment },
    timeout: 30_000,
    maxBuffer: 16 * 1024 * 1024,
  });
  // A configuration or start-up failure is logged by wiring.ts at ERROR: the figure would be meaningless.
  if (/"level"\s*:\s*"ERROR"/i.test(stdout + stderr)) throw new Error(`${bundle.name} logged an error while loading:\n${(stdout + stderr).slice(0, 2000)}`);
  const line = stdout.split('\n').find((candidate) => candidate.startsWith('BENCH_INIT '));
  if (!line) throw new Error(`${bundle.name}: no timing from the child process:\n${stdout.slice(0, 2000)}`);
  return JSON.parse(line.slice('BENCH_INIT '.length)) as { evaluateMs: number; readyMs: number };
}
