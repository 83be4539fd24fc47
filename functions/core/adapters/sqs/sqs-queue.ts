import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { MAX_QUEUE_DELAY_SECONDS } from '../../domain/retry-policy';
import type { DeadLetter, DeadLetterSender, SendOptions, WorkQueue } from '../../ports/queue';

/**
 * A work queue on SQS. A URL the function was not given (manifest `sendsTo`/`deadLettersTo`) fails on use.
 * Timers are `DelaySeconds` (0-900); the bridge's own dead letters go to the DLQ with a reason. */
export class SqsWorkQueue<T> implements WorkQueue<T> {
  readonly deadLetters: DeadLetterSender<T>;

  constructor(
    private readonly client: SQSClient,
    private readonly queueUrl: string | undefined,
    deadLetterQueueUrl: string | undefined,
  ) {
    this.deadLetters = {
      send: async (letter: DeadLetter<T>) => {
        if (!deadLetterQueueUrl)
          throw new Error('this function has no dead-letter queue for this queue (functions/manifest.ts)');
        await client.send(
          new SendMessageCommand({ QueueUrl: deadLetterQueueUrl, MessageBody: JSON.stringify(letter) }),
        );
      },
    };
  }

  async send(body: T, options: SendOptions = {}): Promise<void> {
    if (!this.queueUrl) throw new Error('this function may not send to this queue (functions/manifest.ts sendsTo)');
    await this.client.send(
      new SendMessageCommand({
        QueueUrl: this.queueUrl,
        MessageBody: JSON.stringify(body),
        DelaySeconds: clampDelay(options.delaySeconds),
      }),
    );
  }
}

export function clampDelay(delaySeconds: number | undefined): number {
  if (delaySeconds === undefined || !Number.isFinite(delaySeconds)) return 0;
  return Math.min(MAX_QUEUE_DELAY_SECONDS, Math.max(0, Math.ceil(delaySeconds)));
}
