import { SQSClient } from '@aws-sdk/client-sqs';
import { SqsWorkQueue } from '../adapters/sqs/sqs-queue';
import { bridgeQueueNames, type BridgeQueues } from '../deps';
import { queues as queueSpecs } from '../../manifest';

let sqs: SQSClient | undefined;

/**
 * The named queues in Lambda, from the URL variables the stack sets (only for the queues the
 * function's manifest entry sends to), sharing one SQS client per container.
 */
export function lambdaQueues<Name extends keyof BridgeQueues>(...names: Name[]): Pick<BridgeQueues, Name> {
  sqs ??= new SQSClient({});
  const client = sqs;
  const picked = {} as Record<Name, SqsWorkQueue<never>>;
  for (const name of names) {
    const spec = queueSpecs.find((candidate) => candidate.name === bridgeQueueNames[name]);
    if (!spec) throw new Error(`The manifest declares no queue "${bridgeQueueNames[name]}"`);
    picked[name] = new SqsWorkQueue<never>(
      client,
      process.env[spec.urlVariable],
      process.env[spec.deadLetterUrlVariable],
    );
  }
  return picked;
}
