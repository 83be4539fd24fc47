import { liveChannelMethods, type FunctionSpec } from '../../functions/manifest';

/** The part of an esbuild metafile this check reads: every input file of the output, with its bytes in it. */
export interface EsbuildMetafile {
  outputs: Record<string, { bytes: number; inputs: Record<string, { bytesInOutput: number }> }>;
}

/** The npm package an input file of the bundle comes from (`@scope/name` or `name`), or undefined for the project's own sources. */
export function packageOf(inputPath: string): string | undefined {
  const match = /node_modules\/((?:@[^/]+\/)?[^/]+)\/(?!.*node_modules\/)/.exec(inputPath);
  return match?.[1];
}

/** A rule a bundle breaks: what it carries that its manifest entry gives it no use for. */
export interface BundleFinding {
  rule: string;
  inputs: string[];
}

interface Rule {
  rule: string;
  /** Whether the rule applies to this function. */
  appliesTo: (spec: FunctionSpec) => boolean;
  /** The input files that break it. */
  offends: (inputPath: string) => boolean;
}

const fromPackage =
  (...names: string[]) =>
  (inputPath: string) =>
    names.includes(packageOf(inputPath) ?? '');

/**
 * What a function may not carry, by its manifest entry (functions/manifest.ts): each client only where
 * the entry gives the function that use, and for every function neither classic zod (zod/mini only),
 * nor the AWS SDK's full credential chain (Lambda's credentials come from the environment), nor two
 * copies of Powertools' commons (one Powertools version).
 */
const rules: readonly Rule[] = [
  {
    rule: "a DynamoDB client in a function whose manifest entry has table: 'none'",
    appliesTo: (spec) => spec.table === 'none',
    offends: fromPackage(
      '@aws-sdk/client-dynamodb',
      '@aws-sdk/lib-dynamodb',
      '@aws-sdk/util-dynamodb',
      '@aws-sdk/dynamodb-codec',
    ),
  },
  {
    rule: 'an SQS client in a function that sends to no queue',
    appliesTo: (spec) => spec.sendsTo.length === 0 && spec.deadLettersTo.length === 0,
    offends: fromPackage('@aws-sdk/client-sqs'),
  },
  {
    rule: 'a Secrets Manager client in a function that holds no secret',
    appliesTo: (spec) => spec.secrets.length === 0,
    offends: fromPackage('@aws-sdk/client-secrets-manager'),
  },
  {
    rule: 'an API Gateway Management API client in a function that neither pushes to nor closes live channel connections',
    appliesTo: (spec) => liveChannelMethods(spec.liveChannel).length === 0,
    offends: fromPackage('@aws-sdk/client-apigatewaymanagementapi'),
  },
  {
    // zod/mini with its English messages only (functions/core/zod.ts): any other locale means all of them were loaded.
    rule: 'classic zod, or all of its locales (the project uses zod/mini with the English messages)',
    appliesTo: () => true,
    offends: (inputPath) =>
      packageOf(inputPath) === 'zod' && /\/zod\/(v4\/classic|v3)\/|\/zod\/v4\/locales\/(?!en\.js)/.test(inputPath),
  },
  {
    rule: "the AWS SDK's full credential chain (Lambda's credentials are in the environment)",
    appliesTo: () => true,
    offends: fromPackage(
      '@aws-sdk/credential-provider-node',
      '@aws-sdk/credential-provider-ini',
      '@aws-sdk/credential-provider-sso',
      '@aws-sdk/credential-provider-login',
      '@aws-sdk/credential-provider-web-identity',
      '@aws-sdk/credential-provider-process',
      '@aws-sdk/nested-clients',
      '@smithy/credential-provider-imds',
    ),
  },
  {
    rule: 'a second copy of @aws-lambda-powertools/commons (two Powertools versions)',
    appliesTo: () => true,
    offends: (inputPath) =>
      packageOf(inputPath) === '@aws-lambda-powertools/commons' &&
      /node_modules\/@aws-lambda-powertools\/[^/]+\/node_modules\//.test(inputPath),
  },
];

/** Every rule the bundle described by `metafile` breaks, with the offending input files (at most five shown per rule). */
export function bundleFindings(spec: FunctionSpec, metafile: EsbuildMetafile): BundleFinding[] {
  const inputs = Object.values(metafile.outputs).flatMap((output) =>
    Object.entries(output.inputs)
      .filter(([, input]) => input.bytesInOutput > 0)
      .map(([path]) => path),
  );
  const findings: BundleFinding[] = [];
  for (const rule of rules) {
    if (!rule.appliesTo(spec)) continue;
    const offending = inputs.filter(rule.offends);
    if (offending.length > 0) findings.push({ rule: rule.rule, inputs: offending.slice(0, 5) });
  }
  return findings;
}

/** Bytes per npm package in the bundle (the project's own sources as `(project)`), largest first. */
export function bytesByPackage(metafile: EsbuildMetafile): [string, number][] {
  const totals = new Map<string, number>();
  for (const output of Object.values(metafile.outputs)) {
    for (const [path, input] of Object.entries(output.inputs)) {
      const name = packageOf(path) ?? '(project)';
      totals.set(name, (totals.get(name) ?? 0) + input.bytesInOutput);
    }
  }
  return [...totals].sort((a, b) => b[1] - a[1]);
}
