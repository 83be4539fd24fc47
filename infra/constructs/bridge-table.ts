import { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import { itemKinds, type ItemKind } from '../../functions/core/adapters/dynamodb/item-kinds';
import { TABLE_KEYS, TTL_ATTRIBUTE } from '../../functions/core/adapters/dynamodb/table';
import { Construct } from 'constructs';

/** The range provisioned capacity may move in, in units per second, and the utilization autoscaling keeps. */
export interface AutoscaledCapacity {
  readonly min: number;
  readonly max: number;
}

/**
 * Provisioned capacity with autoscaling instead of on-demand: cheaper for steady traffic (a unit
 * provisioned for an hour costs what about 1,000 on-demand writes do), but autoscaling follows load
 * in minutes, so a burst above the provisioned units is throttled (the functions retry, queued work is
 * redelivered) until it catches up.
 */
export interface TableProvisionedCapacity {
  readonly read: AutoscaledCapacity;
  readonly write: AutoscaledCapacity;
  /**
   * The utilization autoscaling aims for, in percent.
   * @default 70
   */
  readonly targetUtilizationPercent?: number;
}

/** A cap on the table's on-demand throughput, per second. */
export interface TableMaxThroughput {
  /** Read request units per second. */
  readonly readRequestUnits: number;
  /** Write request units per second. */
  readonly writeRequestUnits: number;
}

export interface BridgeTableProps {
  /**
   * Provisioned capacity with autoscaling instead of on-demand; not with `maxThroughput`.
   * @default - on-demand
   */
  readonly provisionedCapacity?: TableProvisionedCapacity;
  /**
   * A cap on on-demand throughput.
   * @default - no maximum
   */
  readonly maxThroughput?: TableMaxThroughput;
}

/**
 * The single table (`pk`/`sk`, TTL on `expiresAt`), and item-level grants to it by item kind.
 *
 * The table is this construct's child "Default", the one id CDK leaves out of logical ids and of the
 * names it derives from paths (the autoscaling policies' names): the table and its scaling keep the ids
 * they had when the stack declared them itself, so no deploy replaces them.
 */
export class BridgeTable extends Construct {
  /** The table. */
  readonly table: dynamodb.Table;

  constructor(scope: Construct, id: string, props: BridgeTableProps = {}) {
    super(scope, id);
    const provisioned = props.provisionedCapacity;
    if (provisioned) checkProvisionedCapacity(provisioned, props.maxThroughput);
    this.table = new dynamodb.Table(this, 'Default', {
      partitionKey: { name: TABLE_KEYS.partitionKey, type: dynamodb.AttributeType.STRING },
      sortKey: { name: TABLE_KEYS.sortKey, type: dynamodb.AttributeType.STRING },
      ...(provisioned
        ? {
            billingMode: dynamodb.BillingMode.PROVISIONED,
            readCapacity: provisioned.read.min,
            writeCapacity: provisioned.write.min,
          }
        : { billingMode: dynamodb.BillingMode.PAY_PER_REQUEST }),
      ...(props.maxThroughput
        ? {
            maxReadRequestUnits: props.maxThroughput.readRequestUnits,
            maxWriteRequestUnits: props.maxThroughput.writeRequestUnits,
          }
        : {}),
      timeToLiveAttribute: TTL_ATTRIBUTE,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: dynamodb.TableEncryption.AWS_MANAGED,
      // Delivery statuses and scope bindings must survive a stack deletion or replacement.
      removalPolicy: RemovalPolicy.RETAIN,
    });

    if (provisioned) {
      const targetUtilizationPercent = provisioned.targetUtilizationPercent ?? 70;
      this.table
        .autoScaleReadCapacity({ minCapacity: provisioned.read.min, maxCapacity: provisioned.read.max })
        .scaleOnUtilization({ targetUtilizationPercent });
      this.table
        .autoScaleWriteCapacity({ minCapacity: provisioned.write.min, maxCapacity: provisioned.write.max })
        .scaleOnUtilization({ targetUtilizationPercent });
    }
  }

  /**
   * Item-level access to the kinds of items a function uses, and to no other: IAM checks the partition
   * key of every item a call touches against `dynamodb:LeadingKeys` (every key of the table starts with
   * its kind, functions/core/adapters/dynamodb/item-kinds.ts). Only item-level actions are granted, so
   * there is no Scan, which has no leading key to check.
   * https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/specifying-conditions.html
   */
  grantItems(grantee: iam.IGrantable, read: readonly ItemKind[], readWrite: readonly ItemKind[]): void {
    const statement = (actions: string[], kinds: readonly ItemKind[]) =>
      new iam.PolicyStatement({
        actions: actions.map((action) => `dynamodb:${action}`),
        resources: [this.table.tableArn],
        conditions: {
          'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': kinds.map((kind) => `${itemKinds[kind]}#*`) },
        },
      });
    const readActions = ['GetItem', 'BatchGetItem', 'Query', 'ConditionCheckItem'];
    const grants: iam.PolicyStatement[] = [];
    const readable = [...new Set([...read, ...readWrite])];
    if (readable.length > 0) grants.push(statement(readActions, readable));
    if (readWrite.length > 0)
      grants.push(statement(['PutItem', 'UpdateItem', 'DeleteItem', 'BatchWriteItem'], readWrite));
    for (const grant of grants) grantee.grantPrincipal.addToPrincipalPolicy(grant);
  }
}

/** Provisioned capacity that could not work as asked stops the synth, naming what is wrong. */
function checkProvisionedCapacity(
  capacity: TableProvisionedCapacity,
  onDemandCap: TableMaxThroughput | undefined,
): void {
  if (onDemandCap)
    throw new Error(
      'tableProvisionedCapacity and tableMaxThroughput exclude each other: the cap is for on-demand tables',
    );
  for (const [name, range] of [
    ['read', capacity.read],
    ['write', capacity.write],
  ] as const) {
    if (!Number.isInteger(range.min) || !Number.isInteger(range.max) || range.min < 1 || range.max < range.min) {
      throw new Error(
        `tableProvisionedCapacity.${name} needs whole units with 1 <= min <= max; got ${range.min}-${range.max}`,
      );
    }
  }
  const target = capacity.targetUtilizationPercent;
  // Application Auto Scaling's target tracking for DynamoDB takes 20-90 %.
  if (target !== undefined && (target < 20 || target > 90))
    throw new Error(`tableProvisionedCapacity.targetUtilizationPercent must be 20-90; got ${target}`);
}
