import { randomUUID } from 'node:crypto';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import type { Clock } from '../../ports/clock';
import type { DeadLetter, DeadLetterSender, SendOptions, WorkQueue } from '../../ports/queue';
import { clampDelay } from '../sqs/sqs-queue';

/** The part of an SQS-triggered Lambda the queue needs: a batch in, the failed message ids out. */
export type QueueConsumer = (event: SQSEvent) => Promise<SQSBatchResponse | undefined>;

export interface InProcessQueueOptions {
  name: string;
  clock: Clock;
  /** Seconds a received message stays hidden before it is delivered again (SQS `VisibilityTimeout`). */
  visibilityTimeoutSeconds: number;
  /** Receives after which a message goes to the dead-letter queue (SQS redrive `maxReceiveCount`). */
  maxReceiveCount: number;
  /** Messages per consumer invocation (Lambda event source `batchSize`). */
  batchSize: number;
  /**
   * Lambda event source `maximumBatchingWindowInSeconds`: visible messages wait until a batch is full
   * or the oldest of them has waited this long. 0 (the default) delivers what is visible at once.
   */
  batchingWindowSeconds?: number;
  /**
   * Consumer invocations running at once under `dispatch` (real-time delivery): the event source
   * mapping's pollers. Lambda starts an SQS mapping with 5 and adds more under a backlog; 1 (the
   * default) is one invocation at a time.
   */
  pollers?: number;
  deadLetterQueue?: InProcessQueue<unknown>;
  /** Called after every send, so a real-time runner can wake up. */
  onSend?: () => void;
}

interface StoredMessage {
  messageId: string;
  body: string;
  sentAt: number;
  visibleAt: number;
  receiveCount: number;
}

/**
 * An in-process stand-in for an SQS queue with a Lambda consumer, for the local runtime and tests:
 * the same delays, redelivery after the visibility timeout, partial batch failures and redrive to a
 * dead-letter queue after `maxReceiveCount` receives. Time comes from the injected clock, so tests
 * drive timers without sleeping.
 */
export class InProcessQueue<T> implements WorkQueue<T> {
  private messages: StoredMessage[] = [];
  private consumer: QueueConsumer | undefined;
  private readonly inFlight = new Set<Promise<void>>();
  /** What the consumer was handed: invocations and messages, and how many invocations had each batch size. */
  readonly deliveries = { invocations: 0, messages: 0, byBatchSize: new Map<number, number>(), busyMs: 0 };
  readonly deadLetters: DeadLetterSender<T>;

  constructor(readonly options: InProcessQueueOptions) {
    this.deadLetters = {
      send: async (letter: DeadLetter<T>) => {
        if (!options.deadLetterQueue) throw new Error(`${options.name} has no dead-letter queue`);
        await options.deadLetterQueue.send(letter);
      },
    };
  }

  get name(): string {
    return this.options.name;
  }

  /** Connects the consumer, as an SQS event source mapping connects a Lambda. */
  attach(consumer: QueueConsumer): void {
    this.consumer = consumer;
  }

  async send(body: T, options: SendOptions = {}): Promise<void> {
    if (options.delaySeconds !== undefined && (options.delaySeconds < 0 || options.delaySeconds > 900)) {
      throw new RangeError(`DelaySeconds must be 0-900, got ${options.delaySeconds}`);
    }
    const now = this.options.clock.now();
    this.messages.push({
      messageId: randomUUID(),
      body: JSON.stringify(body),
      sentAt: now,
      visibleAt: now + clampDelay(options.delaySeconds) * 1000,
      receiveCount: 0,
    });
    this.options.onSend?.();
  }

  /** Messages not yet deleted, visible or not. */
  get depth(): number {
    return this.messages.length;
  }

  /** The bodies currently held, parsed; for inspecting a dead-letter queue. */
  peek(): unknown[] {
    return this.messages.map((message) => JSON.parse(message.body) as unknown);
  }

  /** When the next message becomes visible, or `undefined` when the queue is empty. */
  nextVisibleAt(): number | undefined {
    let next: number | undefined;
    for (const message of this.messages) if (next === undefined || message.visibleAt < next) next = message.visibleAt;
    // A batch gathering in the window is due when the window closes (or earlier, once it is full).
    return next === undefined ? undefined : next + this.windowMs;
  }

  private get windowMs(): number {
    return (this.options.batchingWindowSeconds ?? 0) * 1000;
  }

  /**
   * Delivers the messages visible now, in batches (at most `maxBatches`), one after the other, and
   * applies the consumer's answer. Returns how many messages were handed to the consumer.
   */
  async pump(maxBatches = Number.POSITIVE_INFINITY): Promise<number> {
    if (!this.consumer) return 0;
    // Only what is here now: messages the consumer queues meanwhile wait for the next pump.
    const present = new Set(this.messages);
    let delivered = 0;
    for (let batches = 0; batches < maxBatches; batches += 1) {
      const batch = await this.takeBatch(present);
      if (!batch) break;
      delivered += batch.length;
      await this.deliver(batch);
    }
    return delivered;
  }

  /**
   * Real-time delivery as an event source mapping does it: every free poller (at most `pollers`
   * invocations at once) takes a batch of what is visible now and invokes the consumer without
   * waiting for the others; messages that arrive while every poller is busy gather into the next
   * batch. Returns at once; `onDone` runs after each invocation (to dispatch again).
   */
  async dispatch(onDone: () => void): Promise<void> {
    if (!this.consumer) return;
    while (this.inFlight.size < (this.options.pollers ?? 1)) {
      const batch = await this.takeBatch();
      if (!batch) return;
      const invocation: Promise<void> = this.deliver(batch).finally(() => {
        this.inFlight.delete(invocation);
        onDone();
      });
      this.inFlight.add(invocation);
    }
  }

  /** Consumer invocations still running (real-time delivery). */
  get invocationsRunning(): number {
    return this.inFlight.size;
  }

  /** Resolves when no invocation started by `dispatch` is running. */
  async idle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  /**
   * Receives the next batch: up to `batchSize` visible messages, hidden for the visibility timeout;
   * none inside the batching window while the batch is not full, as Lambda's poller waits. Messages
   * received `maxReceiveCount` times go to the dead-letter queue instead.
   */
  private async takeBatch(among?: Set<StoredMessage>): Promise<StoredMessage[] | undefined> {
    const now = this.options.clock.now();
    const visible = this.messages.filter((message) => message.visibleAt <= now && (!among || among.has(message)));
    if (visible.length === 0) return undefined;
    const oldest = Math.min(...visible.map((message) => message.visibleAt));
    if (visible.length < this.options.batchSize && oldest + this.windowMs > now) return undefined;
    for (let start = 0; start < visible.length; start += this.options.batchSize) {
      const batch: StoredMessage[] = [];
      for (const message of visible.slice(start, start + this.options.batchSize)) {
        if (message.receiveCount >= this.options.maxReceiveCount) {
          await this.redrive(message);
          continue;
        }
        message.receiveCount += 1;
        message.visibleAt = now + this.options.visibilityTimeoutSeconds * 1000;
        batch.push(message);
      }
      if (batch.length > 0) return batch;
    }
    return undefined;
  }

  private async deliver(batch: StoredMessage[]): Promise<void> {
    const consumer = this.consumer;
    // `pump` returns before taking messages when no consumer is attached.
    if (!consumer) throw new Error('No consumer is attached to this queue');
    const event: SQSEvent = { Records: batch.map((message) => this.toRecord(message)) };
    const { deliveries } = this;
    deliveries.invocations += 1;
    deliveries.messages += batch.length;
    deliveries.byBatchSize.set(batch.length, (deliveries.byBatchSize.get(batch.length) ?? 0) + 1);
    const startedAt = performance.now();
    let failed: Set<string>;
    try {
      const answer = await consumer(event);
      failed = new Set((answer?.batchItemFailures ?? []).map((failure) => failure.itemIdentifier));
    } catch {
      failed = new Set(batch.map((message) => message.messageId));
    } finally {
      deliveries.busyMs += performance.now() - startedAt;
    }
    const done = new Set(batch.filter((message) => !failed.has(message.messageId)).map((message) => message.messageId));
    this.messages = this.messages.filter((message) => !done.has(message.messageId));
  }

  private async redrive(message: StoredMessage): Promise<void> {
    this.messages = this.messages.filter((candidate) => candidate !== message);
    if (this.options.deadLetterQueue) await this.options.deadLetterQueue.sendRaw(message.body);
  }

  /** Moves a message body verbatim, as SQS redrive does. */
  async sendRaw(body: string): Promise<void> {
    const now = this.options.clock.now();
    this.messages.push({ messageId: randomUUID(), body, sentAt: now, visibleAt: now, receiveCount: 0 });
  }

  private toRecord(message: StoredMessage): SQSRecord {
    return {
      messageId: message.messageId,
      receiptHandle: message.messageId,
      body: message.body,
      attributes: {
        ApproximateReceiveCount: String(message.receiveCount),
        SentTimestamp: String(message.sentAt),
        SenderId: 'in-process',
        ApproximateFirstReceiveTimestamp: String(message.sentAt),
      },
      messageAttributes: {},
      md5OfBody: '',
      eventSource: 'aws:sqs',
      eventSourceARN: `arn:aws:sqs:local:000000000000:${this.options.name}`,
      awsRegion: 'local',
    };
  }
}
