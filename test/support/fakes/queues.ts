import type { DeadLetter, DeadLetterSender, SendOptions, WorkQueue } from '../../../functions/core/ports/queue';
import type { EventJob, KommoHookJob, StatusSyncJob, TimerJob } from '../../../functions/core/queue-messages';

/** A message as it was queued: a copy of the body (later changes by the sender do not show) and its delay. */
export interface QueuedMessage<T> {
  body: T;
  delaySeconds: number;
}

/**
 * A work queue that keeps what was sent to it and to its dead-letter queue, for unit tests to assess.
 * It refuses what SQS refuses (a delay outside 0-900 whole seconds), and a test can make the next
 * sends fail as an unreachable queue does.
 */
export class RecordingQueue<T> implements WorkQueue<T> {
  readonly sent: QueuedMessage<T>[] = [];
  readonly deadLettered: DeadLetter<T>[] = [];
  private failures: Error[] = [];

  readonly deadLetters: DeadLetterSender<T> = {
    send: async (letter) => {
      this.deadLettered.push(structuredClone(letter));
    },
  };

  async send(body: T, options: SendOptions = {}): Promise<void> {
    const delaySeconds = options.delaySeconds ?? 0;
    if (!Number.isInteger(delaySeconds) || delaySeconds < 0 || delaySeconds > 900) {
      throw new RangeError(`DelaySeconds must be a whole number from 0 to 900, got ${delaySeconds}`);
    }
    const failure = this.failures.shift();
    if (failure) throw failure;
    this.sent.push({ body: structuredClone(body), delaySeconds });
  }

  /** The next `times` sends fail with `error` and queue nothing. */
  failNextSends(times = 1, error: Error = new Error('the queue is unreachable')): void {
    for (let i = 0; i < times; i += 1) this.failures.push(error);
  }

  /** The bodies queued so far, oldest first. */
  bodies(): T[] {
    return this.sent.map((message) => message.body);
  }
}

/** The bridge's four queues as recording queues. */
export function recordingQueues() {
  return {
    hooks: new RecordingQueue<KommoHookJob>(),
    events: new RecordingQueue<EventJob>(),
    kommoStatus: new RecordingQueue<StatusSyncJob>(),
    timers: new RecordingQueue<TimerJob>(),
  };
}
