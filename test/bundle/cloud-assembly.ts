import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

/**
 * The cloud assembly `cdk synth` writes, read the way `cdk deploy` reads it: the stack template, and
 * the asset manifest that says which directory is uploaded as each function's code.
 */

const repositoryRoot = fileURLToPath(new URL('../../', import.meta.url));
const cdkCli = createRequire(import.meta.url).resolve('aws-cdk/bin/cdk');

/**
 * Runs the project's own `cdk synth` (the app in cdk.json, its context and cdk-nag, the esbuild
 * bundling `cdk deploy` uploads) into `outdir`. Offline: no notices, no lookups in this app.
 */
export async function synthesize(outdir: string): Promise<void> {
  try {
    await promisify(execFile)(process.execPath, [cdkCli, 'synth', '--output', outdir, '--quiet', '--no-notices'], {
      cwd: repositoryRoot,
      env: { ...process.env, CDK_DISABLE_CLI_TELEMETRY: 'true' },
      maxBuffer: 16 * 1024 * 1024,
    });
  } catch (error) {
    const { stdout = '', stderr = '' } = error as { stdout?: string; stderr?: string };
    throw new Error(`cdk synth failed:\n${stdout}\n${stderr}`.slice(-8000));
  }
}

export type Intrinsic = string | number | { Ref: string } | Record<string, unknown>;

export interface TemplateResource {
  Type: string;
  Properties?: Record<string, any>;
  Metadata?: Record<string, unknown>;
}

interface TemplateParameter {
  Type: 'String' | 'Number';
  Default?: string | number;
  AllowedPattern?: string;
  MinValue?: number;
  MaxValue?: number;
}

/** A Lambda function as the template declares it, with its code found in the assembly. */
export interface TemplateFunction {
  logicalId: string;
  /** The construct path, e.g. `KommoLiveBridge/KommoHookFunction/Function/Resource`. */
  constructPath: string;
  /** The directory `cdk deploy` zips and uploads as the function's code. */
  codeDirectory: string;
  handler: string;
  runtime: string;
  timeoutSeconds: number;
  memoryMb: number;
  environment: Readonly<Record<string, Intrinsic>>;
}

/** What each CloudFormation `Ref` in an environment becomes once deployed; `resolve` refuses anything else. */
export interface PhysicalValues {
  /** `Ref` of a parameter: the value passed with `--parameters`; parameters left out take their default. */
  parameters: Readonly<Record<string, string>>;
  /** `Ref` of a resource, by type (`Ref` of a queue is its URL, of a table its name, of a secret its ARN). */
  resources: Readonly<Record<string, (logicalId: string) => string>>;
  /** `Ref` of a pseudo parameter (`AWS::Region`, `AWS::URLSuffix`), for values the template joins. */
  pseudoParameters?: Readonly<Record<string, string>>;
  /**
   * Where a joined URL's origin is served here, as DNS would point it: e.g. the WebSocket stage's
   * `https://<api>.execute-api.<region>.amazonaws.com` callback origin to the Management API stand-in.
   */
  origins?: Readonly<Record<string, string>>;
}

export class CloudAssembly {
  readonly stackName: string;
  readonly resources: Readonly<Record<string, TemplateResource>>;
  private readonly parameters: Readonly<Record<string, TemplateParameter>>;
  private readonly conditions: Readonly<Record<string, Intrinsic>>;
  private readonly assetDirectories: ReadonlyMap<string, string>;

  constructor(readonly directory: string) {
    const manifest = readJson(join(directory, 'manifest.json')) as {
      artifacts: Record<string, { type: string; properties: Record<string, string> }>;
    };
    const artifacts = Object.entries(manifest.artifacts);
    const stacks = artifacts.filter(([, artifact]) => artifact.type === 'aws:cloudformation:stack');
    if (stacks.length !== 1)
      throw new Error(`expected one stack in the assembly, found ${stacks.map(([name]) => name).join(', ') || 'none'}`);
    const [stackName, stack] = stacks[0]!;
    this.stackName = stackName;
    const template = readJson(join(directory, stack.properties.templateFile!)) as {
      Resources: Record<string, TemplateResource>;
      Parameters?: Record<string, TemplateParameter>;
      Conditions?: Record<string, Intrinsic>;
    };
    this.resources = template.Resources;
    this.parameters = template.Parameters ?? {};
    this.conditions = template.Conditions ?? {};

    // The asset manifest maps each file asset's S3 object key to the assembly directory it is built from.
    const directories = new Map<string, string>();
    for (const [, artifact] of artifacts.filter(([, candidate]) => candidate.type === 'cdk:asset-manifest')) {
      const assets = readJson(join(directory, artifact.properties.file!)) as {
        files: Record<
          string,
          { source: { path: string; packaging?: string }; destinations: Record<string, { objectKey: string }> }
        >;
      };
      for (const asset of Object.values(assets.files)) {
        if (asset.source.packaging !== 'zip') continue;
        for (const destination of Object.values(asset.destinations))
          directories.set(destination.objectKey, join(directory, asset.source.path));
      }
    }
    this.assetDirectories = directories;
  }

  functions(): TemplateFunction[] {
    return Object.entries(this.resources)
      .filter(([, resource]) => resource.Type === 'AWS::Lambda::Function')
      .map(([logicalId, resource]) => {
        const properties = resource.Properties!;
        const objectKey = properties.Code?.S3Key as string | undefined;
        const codeDirectory = objectKey === undefined ? undefined : this.assetDirectories.get(objectKey);
        if (!codeDirectory)
          throw new Error(
            `${logicalId}: its Code (${JSON.stringify(properties.Code)}) is not a zip asset of this assembly`,
          );
        return {
          logicalId,
          constructPath: String(resource.Metadata?.['aws:cdk:path'] ?? logicalId),
          codeDirectory,
          handler: properties.Handler as string,
          runtime: properties.Runtime as string,
          timeoutSeconds: properties.Timeout as number,
          memoryMb: properties.MemorySize as number,
          environment: (properties.Environment?.Variables ?? {}) as Record<string, Intrinsic>,
        };
      });
  }

  /**
   * A template value as CloudFormation would resolve it at deploy time. Only literals, `Ref`s,
   * `Fn::Join`s of them and `Fn::If` on a condition of `Fn::Equals` / `Fn::Not` are understood; any
   * other intrinsic fails loudly, so the test never runs a bundle with a guessed value.
   */
  resolve(value: Intrinsic, physical: PhysicalValues, where: string): string {
    if (typeof value === 'string' || typeof value === 'number') return String(value);
    const choice = (value as { 'Fn::If'?: unknown })['Fn::If'];
    if (
      Object.keys(value).length === 1 &&
      Array.isArray(choice) &&
      choice.length === 3 &&
      typeof choice[0] === 'string'
    ) {
      return this.resolve(
        (this.holds(choice[0], physical, where) ? choice[1] : choice[2]) as Intrinsic,
        physical,
        where,
      );
    }
    const join = (value as { 'Fn::Join'?: unknown })['Fn::Join'];
    if (
      Object.keys(value).length === 1 &&
      Array.isArray(join) &&
      join.length === 2 &&
      typeof join[0] === 'string' &&
      Array.isArray(join[1])
    ) {
      const joined = (join[1] as Intrinsic[]).map((part) => this.resolve(part, physical, where)).join(join[0]);
      const origin = Object.keys(physical.origins ?? {}).find((candidate) => joined.startsWith(`${candidate}/`));
      return origin === undefined ? joined : `${physical.origins![origin]}${joined.slice(origin.length)}`;
    }
    const keys = Object.keys(value);
    if (keys.length !== 1 || keys[0] !== 'Ref' || typeof value.Ref !== 'string') {
      throw new Error(`${where}: the bundle test resolves literals and Ref only, not ${JSON.stringify(value)}`);
    }
    const name = value.Ref;
    const pseudo = physical.pseudoParameters?.[name];
    if (pseudo !== undefined) return pseudo;
    const parameter = this.parameters[name];
    if (parameter) return this.parameterValue(name, parameter, physical.parameters[name]);
    const resource = this.resources[name];
    const resolveRef = resource && physical.resources[resource.Type];
    if (!resolveRef)
      throw new Error(`${where}: no physical value for Ref ${name} (${resource?.Type ?? 'not in the template'})`);
    return resolveRef(name);
  }

  /** Whether a template condition holds (`Fn::Equals` of resolvable values, `Fn::Not` of another). */
  private holds(condition: string | Intrinsic, physical: PhysicalValues, where: string): boolean {
    const expression = typeof condition === 'string' ? this.conditions[condition] : condition;
    if (expression === undefined || typeof expression !== 'object')
      throw new Error(`${where}: no condition ${JSON.stringify(condition)} in the template`);
    const equals = (expression as { 'Fn::Equals'?: unknown })['Fn::Equals'];
    if (Array.isArray(equals) && equals.length === 2) {
      return (
        this.resolve(equals[0] as Intrinsic, physical, where) === this.resolve(equals[1] as Intrinsic, physical, where)
      );
    }
    const not = (expression as { 'Fn::Not'?: unknown })['Fn::Not'];
    if (Array.isArray(not) && not.length === 1) return !this.holds(not[0] as Intrinsic, physical, where);
    throw new Error(
      `${where}: the bundle test evaluates Fn::Equals and Fn::Not only, not ${JSON.stringify(expression)}`,
    );
  }

  /** The logical id of the function behind an HTTP API route key (`POST /kommo/{scope_id}`, `$default`). */
  functionForRoute(routeKey: string): string {
    const routes = this.routesOf('HTTP', routeKey);
    if (routes.length !== 1) throw new Error(`expected one route ${routeKey} in the template, found ${routes.length}`);
    // Target: {"Fn::Join": ["", ["integrations/", {"Ref": "<integration>"}]]}
    const target = JSON.stringify(routes[0]!.Properties!.Target);
    const integrationId = /"integrations\/",\{"Ref":"([^"]+)"\}/.exec(target)?.[1];
    const integration = integrationId === undefined ? undefined : this.resources[integrationId];
    if (integration?.Type !== 'AWS::ApiGatewayV2::Integration')
      throw new Error(`route ${routeKey}: no integration in target ${target}`);
    const { IntegrationType, PayloadFormatVersion, IntegrationUri } = integration.Properties!;
    if (IntegrationType !== 'AWS_PROXY' || PayloadFormatVersion !== '2.0') {
      throw new Error(
        `route ${routeKey}: the test builds payload 2.0 proxy events, the integration is ${IntegrationType} ${PayloadFormatVersion}`,
      );
    }
    return (IntegrationUri as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
  }

  /** The logical id of the function behind a WebSocket API route key (`$connect`, `$disconnect`, `$default`). */
  functionForWebSocketRoute(routeKey: string): string {
    const routes = this.routesOf('WEBSOCKET', routeKey);
    if (routes.length !== 1)
      throw new Error(`expected one WebSocket route ${routeKey} in the template, found ${routes.length}`);
    const target = JSON.stringify(routes[0]!.Properties!.Target);
    const integrationId = /"integrations\/",\{"Ref":"([^"]+)"\}/.exec(target)?.[1];
    const integration = integrationId === undefined ? undefined : this.resources[integrationId];
    if (
      integration?.Type !== 'AWS::ApiGatewayV2::Integration' ||
      integration.Properties?.IntegrationType !== 'AWS_PROXY'
    ) {
      throw new Error(`WebSocket route ${routeKey}: no Lambda proxy integration in target ${target}`);
    }
    // IntegrationUri: arn:…:apigateway:<region>:lambda:path/2015-03-31/functions/<function ARN>/invocations
    const functionId = /"Fn::GetAtt":\["([^"]+)","Arn"\]/.exec(
      JSON.stringify(integration.Properties.IntegrationUri),
    )?.[1];
    if (functionId === undefined) throw new Error(`WebSocket route ${routeKey}: the integration names no function`);
    return functionId;
  }

  /** The routes with `routeKey` of the template's API of that protocol. */
  private routesOf(protocol: 'HTTP' | 'WEBSOCKET', routeKey: string): TemplateResource[] {
    const apis = new Set(
      Object.entries(this.resources)
        .filter(
          ([, resource]) =>
            resource.Type === 'AWS::ApiGatewayV2::Api' && resource.Properties?.ProtocolType === protocol,
        )
        .map(([id]) => id),
    );
    return Object.values(this.resources).filter(
      (resource) =>
        resource.Type === 'AWS::ApiGatewayV2::Route' &&
        resource.Properties?.RouteKey === routeKey &&
        apis.has((resource.Properties?.ApiId as { Ref?: string })?.Ref ?? ''),
    );
  }

  /** The function an SQS event source mapping feeds from a queue, and its batch settings. */
  consumerOf(queueLogicalId: string): { functionLogicalId: string; batchSize: number; reportsItemFailures: boolean } {
    const mappings = Object.values(this.resources).filter(
      (resource) =>
        resource.Type === 'AWS::Lambda::EventSourceMapping' &&
        JSON.stringify(resource.Properties?.EventSourceArn) ===
          JSON.stringify({ 'Fn::GetAtt': [queueLogicalId, 'Arn'] }),
    );
    if (mappings.length !== 1)
      throw new Error(`expected one event source mapping from ${queueLogicalId}, found ${mappings.length}`);
    const properties = mappings[0]!.Properties!;
    return {
      functionLogicalId: (properties.FunctionName as { Ref: string }).Ref,
      batchSize: properties.BatchSize as number,
      reportsItemFailures:
        JSON.stringify(properties.FunctionResponseTypes) === JSON.stringify(['ReportBatchItemFailures']),
    };
  }

  /** The secret's initial value as CloudFormation generates it: the template's JSON and a generated key. */
  generatedSecretTemplate(secretLogicalId: string): {
    template: Record<string, string>;
    generatedKey: string;
    length: number;
  } {
    const generate = this.resources[secretLogicalId]?.Properties?.GenerateSecretString as
      | { SecretStringTemplate: string; GenerateStringKey: string; PasswordLength?: number }
      | undefined;
    if (!generate) throw new Error(`${secretLogicalId} has no GenerateSecretString`);
    return {
      template: JSON.parse(generate.SecretStringTemplate),
      generatedKey: generate.GenerateStringKey,
      length: generate.PasswordLength ?? 32,
    };
  }

  /** A parameter's value, checked against its constraints as CloudFormation checks `--parameters`. */
  private parameterValue(name: string, parameter: TemplateParameter, given: string | undefined): string {
    const value = given ?? (parameter.Default === undefined ? undefined : String(parameter.Default));
    if (value === undefined) throw new Error(`parameter ${name} has no default: give it a value`);
    // CloudFormation matches AllowedPattern against the whole value.
    if (parameter.AllowedPattern !== undefined && !new RegExp(`^(?:${parameter.AllowedPattern})$`).test(value)) {
      throw new Error(`parameter ${name}: ${JSON.stringify(value)} does not match ${parameter.AllowedPattern}`);
    }
    if (parameter.Type === 'Number') {
      const number = Number(value);
      if (
        Number.isNaN(number) ||
        (parameter.MinValue !== undefined && number < parameter.MinValue) ||
        (parameter.MaxValue !== undefined && number > parameter.MaxValue)
      ) {
        throw new Error(`parameter ${name}: ${value} is outside ${parameter.MinValue}-${parameter.MaxValue}`);
      }
    }
    return value;
  }
}

function readJson(path: string): unknown {
  return JSON.parse(readFileSync(path, 'utf8'));
}
