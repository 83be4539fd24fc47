import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import type { SecretGroup } from '../../functions/core/config';
import {
  fallbackFunction,
  functions as functionSpecs,
  liveChannelMethods,
  liveChannelVariables,
  queues as queueSpecs,
  secretArnVariables,
  type FunctionName,
  type FunctionSpec,
  type QueueName,
} from '../../functions/manifest';
import { BridgeFunction } from './bridge-function';
import type { BridgeQueue } from './bridge-queue';
import type { BridgeTable } from './bridge-table';
import type { LiveChannel } from './live-channel';
import { declared, pascalCase } from './names';
import { StackPart } from './stack-part';

export interface BridgeFunctionsProps {
  /** The non-secret settings every function but the 404 answer gets (`BridgeSettings.environment`). */
  readonly settings: Readonly<Record<string, string>>;
  readonly table: BridgeTable;
  readonly secrets: ReadonlyMap<SecretGroup, secretsmanager.Secret>;
  readonly queues: ReadonlyMap<QueueName, BridgeQueue>;
  readonly liveChannel: LiveChannel;
  /** How long function logs are kept. */
  readonly logRetention: logs.RetentionDays;
  /** X-Ray active tracing on every function. */
  readonly tracing: boolean;
  /** Lambda's START, END and REPORT lines; `false` uses Lambda's JSON log format with system logs at WARN. */
  readonly platformLogs: boolean;
  /**
   * Memory of every function in MB, in place of the manifest's.
   * @default - the manifest's
   */
  readonly memoryMb?: number;
  /**
   * Reserved concurrent executions by function.
   * @default - none reserved
   */
  readonly reservedConcurrency?: Partial<Readonly<Record<FunctionName, number>>>;
}

/** One function per manifest entry, each with exactly the access the manifest gives it and the settings that go with it. */
export class BridgeFunctions extends StackPart {
  /** Each manifest function. */
  readonly functions: ReadonlyMap<FunctionName, BridgeFunction>;

  constructor(scope: Construct, id: string, props: BridgeFunctionsProps) {
    super(scope, id);
    this.functions = new Map(functionSpecs.map((spec) => [spec.name, this.declareFunction(spec, props)] as const));
  }

  private declareFunction(spec: FunctionSpec, props: BridgeFunctionsProps): BridgeFunction {
    const { table, queues, liveChannel } = props;
    const secretNamed = (group: SecretGroup) => declared(props.secrets, 'secret', group);
    const queueNamed = (name: QueueName) => declared(queues, 'queue', name);
    const queueSpecNamed = (name: QueueName) => {
      const queueSpec = queueSpecs.find((candidate) => candidate.name === name);
      if (!queueSpec) throw new Error(`The manifest names queue "${name}" but does not declare it`);
      return queueSpec;
    };

    const environment: Record<string, string> = {};
    if (spec.table !== 'none') environment.TABLE_NAME = table.table.tableName;
    // Every function but the 404 answer validates the bridge's settings at start.
    if (spec.name !== fallbackFunction) Object.assign(environment, props.settings);
    for (const group of spec.secrets) environment[secretArnVariables[group]] = secretNamed(group).secretArn;
    for (const name of spec.sendsTo) {
      environment[queueSpecNamed(name).urlVariable] = queueNamed(name).queue.queueUrl;
    }
    for (const name of spec.deadLettersTo) {
      environment[queueSpecNamed(name).deadLetterUrlVariable] = queueNamed(name).deadLetterQueue.queueUrl;
    }
    if (spec.liveChannel?.address) environment[liveChannelVariables.address] = liveChannel.publicUrl;
    const liveMethods = liveChannelMethods(spec.liveChannel);
    if (liveMethods.length > 0) environment[liveChannelVariables.push] = liveChannel.stage.callbackUrl;

    const reservedConcurrentExecutions = props.reservedConcurrency?.[spec.name];
    const bridgeFunction = new BridgeFunction(this, `${pascalCase(spec.name)}Function`, {
      spec,
      environment,
      logRetention: props.logRetention,
      tracing: props.tracing,
      platformLogs: props.platformLogs,
      ...(props.memoryMb === undefined ? {} : { memoryMb: props.memoryMb }),
      ...(reservedConcurrentExecutions === undefined ? {} : { reservedConcurrentExecutions }),
    });
    const lambdaFunction = bridgeFunction.function;

    if (spec.table !== 'none') table.grantItems(lambdaFunction, spec.table.read, spec.table.readWrite);
    for (const name of spec.sendsTo) queueNamed(name).queue.grantSendMessages(lambdaFunction);
    for (const name of spec.deadLettersTo) queueNamed(name).deadLetterQueue.grantSendMessages(lambdaFunction);
    for (const group of spec.secrets) secretNamed(group).grantRead(lambdaFunction);
    liveChannel.grantManageConnections(bridgeFunction, liveMethods);
    return bridgeFunction;
  }
}
