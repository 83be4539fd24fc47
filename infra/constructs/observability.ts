import { CfnCondition, CfnParameter, Duration, Fn, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cloudwatchActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import type { Construct } from 'constructs';
import {
  functions as functionSpecs,
  queues as queueSpecs,
  type FunctionName,
  type QueueName,
} from '../../functions/manifest';
import { telemetryNames } from '../../functions/core/adapters/telemetry/names';
import type { BridgeFunction } from './bridge-function';
import type { BridgeQueue } from './bridge-queue';
import { declared, pascalCase } from './names';
import { StackPart } from './stack-part';

export interface ObservabilityProps {
  /** Each manifest function: an alarm on its errors. */
  readonly functions: ReadonlyMap<FunctionName, BridgeFunction>;
  /** Each manifest queue: an alarm on its dead letters, and a graph of them. */
  readonly queues: ReadonlyMap<QueueName, BridgeQueue>;
}

/** A count the functions publish (functions/core/ports/telemetry.ts), summed over 5 minutes. */
export function bridgeMetric(metricName: string, label?: string): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: telemetryNames.metricsNamespace,
    metricName,
    dimensionsMap: { service: telemetryNames.serviceName },
    period: Duration.minutes(5),
    statistic: cloudwatch.Stats.SUM,
    ...(label ? { label } : {}),
  });
}

/**
 * What tells a person that something needs them: alarms on a dead letter, a function error and Kommo
 * refusing our calls, sent to an encrypted topic; and the operations dashboard.
 */
export class Observability extends StackPart {
  /** Where alarms send their state changes (alarm and back to OK); encrypted, with an optional e-mail subscription. */
  readonly alarmTopic: sns.Topic;
  /** The operations dashboard: Kommo calls, typing calls saved, hook acks, dead letters, live pushes. */
  readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: ObservabilityProps) {
    super(scope, id);
    this.alarmTopic = this.declareAlarmTopic();
    this.declareAlarms(props);
    this.dashboard = this.declareDashboard(props);
  }

  /**
   * The alarms' topic, encrypted with a key of the stack's own: CloudWatch can publish to an encrypted
   * topic only when the key's policy lets it, and the AWS-managed SNS key's policy cannot be changed.
   * The optional e-mail subscription (AlarmEmail parameter) must be confirmed from the mail AWS sends.
   */
  private declareAlarmTopic(): sns.Topic {
    const key = new kms.Key(this, 'AlarmTopicKey', {
      description: 'Kommo Live Bridge: encrypts the alarm topic',
      enableKeyRotation: true,
      // Holds nothing but alarm notifications in flight; scheduled for deletion with the stack.
      removalPolicy: RemovalPolicy.DESTROY,
      pendingWindow: Duration.days(7),
    });
    key.addToResourcePolicy(
      new iam.PolicyStatement({
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
        conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(this).account } },
      }),
    );
    const topic = new sns.Topic(this, 'AlarmTopic', {
      displayName: 'Kommo Live Bridge alarms',
      masterKey: key,
      enforceSSL: true,
    });
    const alarmEmail = new CfnParameter(this, 'AlarmEmail', {
      type: 'String',
      description:
        'Optional: an e-mail address told of every alarm and of its end (confirm the subscription from the mail AWS sends). Empty: none.',
      default: '',
      allowedPattern: '^([^\\s@]+@[^\\s@]+)?$',
      constraintDescription: 'empty, or an e-mail address',
    });
    const emailGiven = new CfnCondition(this, 'AlarmEmailGiven', {
      expression: Fn.conditionNot(Fn.conditionEquals(alarmEmail.valueAsString, '')),
    });
    const subscription = new sns.CfnSubscription(this, 'AlarmEmailSubscription', {
      topicArn: topic.topicArn,
      protocol: 'email',
      endpoint: alarmEmail.valueAsString,
    });
    subscription.cfnOptions.condition = emailGiven;
    return topic;
  }

  /**
   * Alarms on what needs a person: a dead letter, a function error, and Kommo refusing our calls.
   * No data (a quiet queue, no invocations) is not a problem. Each tells the alarm topic.
   */
  private declareAlarms(props: ObservabilityProps): void {
    const alarmWhenAboveZero = (id: string, metric: cloudwatch.IMetric, description: string) => {
      const alarm = new cloudwatch.Alarm(this, id, {
        metric,
        threshold: 0,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        alarmDescription: description,
      });
      // OK too, so whoever was told of a problem is told when it is over.
      alarm.addAlarmAction(new cloudwatchActions.SnsAction(this.alarmTopic));
      alarm.addOkAction(new cloudwatchActions.SnsAction(this.alarmTopic));
      return alarm;
    };

    for (const spec of queueSpecs) {
      alarmWhenAboveZero(
        `${pascalCase(spec.name)}DeadLettersAlarm`,
        declared(props.queues, 'queue', spec.name).deadLetterQueue.metricApproximateNumberOfMessagesVisible({
          period: Duration.minutes(5),
          statistic: cloudwatch.Stats.MAXIMUM,
        }),
        `Messages are waiting in the ${spec.name} dead-letter queue (${spec.purpose}). Read their reason, fix the cause, then redrive them.`,
      );
    }

    for (const spec of functionSpecs) {
      alarmWhenAboveZero(
        `${pascalCase(spec.name)}ErrorsAlarm`,
        declared(props.functions, 'function', spec.name).function.metricErrors({
          period: Duration.minutes(5),
          statistic: cloudwatch.Stats.SUM,
        }),
        `The ${spec.name} function failed (${spec.description}). See its log group.`,
      );
    }

    alarmWhenAboveZero(
      'KommoCallForbiddenAlarm',
      // Published by the Kommo client (functions/core/ports/telemetry.ts) when amojo answers 403.
      bridgeMetric('KommoCallForbidden'),
      'Kommo answered 403 to a signed call: the channel secret (KOMMO_CHANNEL_SECRET) or the channel id (KOMMO_CHANNEL_ID) in their secrets is wrong.',
    );
  }

  /** One page for the operator: is Kommo answering, what typing coalescing saves, hook acks, dead letters, live pushes. */
  private declareDashboard(props: ObservabilityProps): cloudwatch.Dashboard {
    const width = 12;
    const height = 6;
    const dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName: `${Stack.of(this).stackName}-operations`,
      defaultInterval: Duration.hours(24),
    });
    const graph = (title: string, left: cloudwatch.IMetric[]) =>
      new cloudwatch.GraphWidget({ title, left, width, height });
    dashboard.addWidgets(
      graph('Kommo calls: succeeded, failed, forbidden (403)', [
        bridgeMetric('KommoCallSucceeded', 'succeeded'),
        bridgeMetric('KommoCallFailed', 'failed'),
        bridgeMetric('KommoCallForbidden', 'forbidden (403)'),
      ]),
      graph('Typing calls to Kommo, and typing starts coalesced (calls saved)', [
        bridgeMetric('KommoTypingCall', 'typing calls made'),
        bridgeMetric('TypingStartCoalesced', 'typing starts coalesced'),
      ]),
      graph('Kommo hooks: accepted and rejected', [
        bridgeMetric('KommoHookAccepted', 'accepted'),
        bridgeMetric('KommoHookRejected', 'rejected'),
      ]),
      graph(
        'Dead letters waiting, per queue',
        queueSpecs.map((spec) =>
          declared(props.queues, 'queue', spec.name).deadLetterQueue.metricApproximateNumberOfMessagesVisible({
            period: Duration.minutes(5),
            statistic: cloudwatch.Stats.MAXIMUM,
            label: spec.name,
          }),
        ),
      ),
      graph('Delivery statuses: applied and ignored', [
        bridgeMetric('StatusApplied', 'applied'),
        bridgeMetric('StatusIgnored', 'ignored'),
      ]),
      graph('Live channel pushes: frames pushed, connections gone, pushes failed', [
        bridgeMetric('LiveFramePushed', 'frames pushed'),
        bridgeMetric('LiveConnectionGone', 'connections gone'),
        bridgeMetric('LivePushFailed', 'pushes failed'),
      ]),
    );
    return dashboard;
  }
}
