import { fileURLToPath } from 'node:url';
import { Duration, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { LogLevel, NodejsFunction, OutputFormat, SourceMapMode } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { telemetryNames } from '../../functions/core/adapters/telemetry/names';
import type { FunctionSpec } from '../../functions/manifest';

/**
 * The Powertools settings every function gets: the names its logs and metrics carry (the ones the
 * functions' own telemetry adapter uses, and the alarms read) and the log level.
 */
export const powertoolsEnvironment = {
  POWERTOOLS_SERVICE_NAME: telemetryNames.serviceName,
  POWERTOOLS_METRICS_NAMESPACE: telemetryNames.metricsNamespace,
  POWERTOOLS_LOG_LEVEL: 'INFO',
} as const;

/**
 * The newest Node.js runtime this aws-cdk-lib offers. Named rather than `NODEJS_LATEST`, whose meaning
 * changes silently with an aws-cdk-lib upgrade: a runtime change should be a reviewed diff.
 */
export const bridgeRuntime = lambda.Runtime.NODEJS_24_X;

/** Graviton: cheaper per GB-second than x86 for the same work, and nothing here is native code. */
export const bridgeArchitecture = lambda.Architecture.ARM_64;

/** Resolved from this file's location, so synth works from any working directory. */
const repositoryRoot = new URL('../../', import.meta.url);

function pathInRepository(relativePath: string): string {
  return fileURLToPath(new URL(relativePath, repositoryRoot));
}

/** The AWS SDK's event-stream support, which no operation the bridge calls uses. */
export const sdkEventStreams = '@smithy/core/event-streams';

/** The stand-in for the AWS SDK's credential chain in every bundle (see that module). */
const lambdaCredentialsModule = pathInRepository('functions/core/lambda/credentials.ts');

/** Where the handler of function `name` lives: `functions/<name>/index.ts`, exporting `handler`. */
export function functionEntry(name: string): string {
  return pathInRepository(`functions/${name}/index.ts`);
}

export interface BridgeFunctionProps {
  /**
   * The function as the manifest describes it: its folder name under `functions/`, description,
   * timeout and memory. Access rights are granted by the stack, not here.
   */
  readonly spec: FunctionSpec;
  /**
   * Settings for the handler, added to the Powertools and source-map variables every function gets.
   * Never secrets: those are read from Secrets Manager at run time.
   * @default - none
   */
  readonly environment?: Readonly<Record<string, string>>;
  /**
   * How long the function's log events are kept.
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * Concurrent executions set aside for this function (and the most it may run).
   * @default - unreserved: the function draws on the account's unreserved pool
   */
  readonly reservedConcurrentExecutions?: number;
  /**
   * X-Ray active tracing.
   * @default false
   */
  readonly tracing?: boolean;
  /**
   * Lambda's START, END and REPORT lines; `false` uses Lambda's JSON log format with system logs at WARN.
   * @default true
   */
  readonly platformLogs?: boolean;
  /**
   * Memory in MB, in place of the manifest's (the stack's `functionMemoryMb`).
   * @default - the manifest's `memoryMb`
   */
  readonly memoryMb?: number;
}

/**
 * A bridge Lambda function: the handler in `functions/<name>/index.ts`, bundled locally with esbuild
 * as an ES module (AWS SDK included, so what runs in AWS is what the tests ran), on the newest Node.js runtime on
 * arm64, with X-Ray tracing when asked, source-mapped stack traces, and its own log group with a retention.
 *
 * The function runs under its own role that may only write to its own log group; the stack grants
 * table, queue and secret access per function from the manifest.
 */
export class BridgeFunction extends Construct {
  /** The Lambda function. */
  readonly function: NodejsFunction;
  /** The function's execution role. */
  readonly role: iam.Role;
  /** The log group the function writes to. */
  readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: BridgeFunctionProps) {
    super(scope, id);
    const { spec } = props;

    this.logGroup = new logs.LogGroup(this, 'LogGroup', {
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
    });

    // An own role instead of the AWSLambdaBasicExecutionRole managed policy, which allows writing to
    // every log group in the account; this one may only write to the function's own log group.
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `Execution role of the ${spec.name} function`,
    });
    this.logGroup.grantWrite(this.role);

    this.function = new NodejsFunction(this, 'Function', {
      entry: functionEntry(spec.name),
      handler: 'handler',
      projectRoot: pathInRepository('.'),
      depsLockFilePath: pathInRepository('package-lock.json'),
      description: spec.description,
      runtime: bridgeRuntime,
      architecture: bridgeArchitecture,
      memorySize: props.memoryMb ?? spec.memoryMb,
      timeout: Duration.seconds(spec.timeoutSeconds),
      ...(props.reservedConcurrentExecutions === undefined
        ? {}
        : { reservedConcurrentExecutions: props.reservedConcurrentExecutions }),
      role: this.role,
      logGroup: this.logGroup,
      tracing: props.tracing ? lambda.Tracing.ACTIVE : lambda.Tracing.DISABLED,
      // Without the platform lines: JSON format, system logs at WARN; the application level stays DEBUG
      // so that Powertools alone decides (POWERTOOLS_LOG_LEVEL and the DEBUG sample rate).
      ...(props.platformLogs === false
        ? {
            loggingFormat: lambda.LoggingFormat.JSON,
            systemLogLevelV2: lambda.SystemLogLevel.WARN,
            applicationLogLevelV2: lambda.ApplicationLogLevel.DEBUG,
          }
        : {}),
      environment: {
        NODE_OPTIONS: '--enable-source-maps',
        ...powertoolsEnvironment,
        ...props.environment,
      },
      bundling: {
        // ES modules: esbuild then takes the AWS SDK's ES build (its `module` entry), whose unused
        // commands and serializers tree-shake away; the CommonJS build cannot.
        format: OutputFormat.ESM,
        mainFields: ['module', 'main'],
        // A few bundled CommonJS dependencies `require` Node built-ins, which an ES module lacks.
        banner:
          "import { createRequire as bridgeCreateRequire } from 'node:module'; const require = bridgeCreateRequire(import.meta.url);",
        // Lambda's role credentials come from the environment: the SDK's full chain (profiles, SSO,
        // web identity, instance metadata, with their own STS and SSO clients) is ~90 KB Lambda never uses.
        esbuildArgs: {
          '--alias:@aws-sdk/credential-provider-node': lambdaCredentialsModule,
          // Loaded by the SDK only for event-stream operations (`import()` in HttpProtocol), which no
          // bridge call is; left out, it saves ~20 KB of every bundle to parse at cold start.
          [`--external:${sdkEventStreams}`]: true,
        },
        minify: true,
        // Minified class names would turn typed errors into `e` in logs.
        keepNames: true,
        // A linked map (index.mjs.map plus its sourceMappingURL comment), which --enable-source-maps reads.
        sourceMap: true,
        sourceMapMode: SourceMapMode.DEFAULT,
        // Stack traces need the mappings only; embedding the sources would double the bundle.
        sourcesContent: false,
        // esbuild's record of what went into the bundle (index.meta.json beside it): test/bundle reads it
        // to check that no function carries a client or library its manifest entry does not need.
        metafile: true,
        // Bundle everything, the AWS SDK included: the runtime's SDK version is not the one tested.
        externalModules: [],
        forceDockerBundling: false,
        // Warnings and errors only: esbuild's size report for fourteen bundles buries what matters.
        logLevel: LogLevel.WARNING,
      },
    });

    if (props.tracing)
      Validations.of(this.role).acknowledge({
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason:
          'X-Ray tracing (Tracing.ACTIVE) adds xray:PutTraceSegments and xray:PutTelemetryRecords, which do not ' +
          'support resource-level permissions, so AWS requires Resource "*" for them. No other statement of this ' +
          'role uses "*" (asserted in test/infra).',
      });
  }
}
