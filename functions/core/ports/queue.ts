/**
 * The queue port. In AWS it is SQS (with `DelaySeconds` as the timer, up to 900 s); locally it is an
 * in-process queue with the same semantics: delay, redelivery after a visibility timeout, dead-letter
 * after N receives.
 */
export interface SendOptions {
  /** Whole seconds, 0-900. DynamoDB TTL deletes hours late, so timers are delayed messages. */
  delaySeconds?: number;
}

export interface QueueSender<T> {
  send(body: T, options?: SendOptions): Promise<void>;
}

/** What a dead-letter queue holds when the bridge gives up on a message itself (retries spent, final answer). */
export interface DeadLetter<T> {
  reason: string;
  failedAt: string;
  attempts: number;
  message: T;
}

export interface DeadLetterSender<T> {
  send(letter: DeadLetter<T>): Promise<void>;
}

/** A work queue and the dead-letter queue beside it. */
export interface WorkQueue<T> extends QueueSender<T> {
  deadLetters: DeadLetterSender<T>;
}
