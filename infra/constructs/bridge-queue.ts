import { Duration } from 'aws-cdk-lib';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { QueueSpec } from '../../functions/manifest';

/**
 * AWS guidance for SQS event sources: a visibility timeout of six times the consumer's timeout, so
 * a batch that is retried by the Lambda service is not redelivered while it is still in flight.
 * https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-configure.html
 */
export const VISIBILITY_TIMEOUT_PER_CONSUMER_TIMEOUT = 6;

/**
 * SQS's maximum. A standard queue keeps a message's original enqueue time when it moves to the
 * dead-letter queue, so the DLQ must keep messages longer than the source queue's 4 days.
 */
export const DEAD_LETTER_RETENTION = Duration.days(14);

export interface BridgeQueueProps {
  /**
   * The queue as the manifest describes it: its consumer's timeout (which sets the visibility
   * timeout) and the receive count after which SQS moves a message to the dead-letter queue.
   */
  readonly spec: QueueSpec;
}

/**
 * A work queue and its dead-letter queue, both encrypted with SQS-managed keys and refusing
 * requests that do not use TLS.
 */
export class BridgeQueue extends Construct {
  /** The queue the producers send to and the consumer function reads. */
  readonly queue: sqs.Queue;
  /** Where messages end: moved by SQS after `maxReceiveCount` receives, or sent by a consumer with a reason. */
  readonly deadLetterQueue: sqs.Queue;

  constructor(scope: Construct, id: string, props: BridgeQueueProps) {
    super(scope, id);
    const { spec } = props;

    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: DEAD_LETTER_RETENTION,
    });

    this.queue = new sqs.Queue(this, 'Queue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      visibilityTimeout: Duration.seconds(VISIBILITY_TIMEOUT_PER_CONSUMER_TIMEOUT * spec.consumerTimeoutSeconds),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: spec.maxReceiveCount },
    });
  }
}
