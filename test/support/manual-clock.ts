import type { Clock } from '../../functions/core/ports/clock';

/** A clock that moves only when told: TTLs and timers are tested without sleeping. */
export class ManualClock implements Clock {
  private deadlines: { atMs: number; controller: AbortController }[] = [];

  constructor(private current: number) {}

  now(): number {
    return this.current;
  }

  /** Call deadlines run on this clock too: a call in flight times out when a test moves the clock past it, never on its own. */
  signalAt(atMs: number): AbortSignal {
    const controller = new AbortController();
    if (atMs <= this.current) controller.abort(timeoutError());
    else this.deadlines.push({ atMs, controller });
    return controller.signal;
  }

  set(ms: number): void {
    if (ms < this.current) throw new Error('the clock does not go back');
    this.current = ms;
    const due = this.deadlines.filter((deadline) => deadline.atMs <= ms);
    if (due.length === 0) return;
    this.deadlines = this.deadlines.filter((deadline) => deadline.atMs > ms);
    for (const { controller } of due) controller.abort(timeoutError());
  }

  advanceBy(ms: number): void {
    this.set(this.current + ms);
  }
}

/** The reason `AbortSignal.timeout` gives, so callers tell a deadline from any other abort the same way. */
const timeoutError = () => new DOMException('The operation was aborted due to timeout', 'TimeoutError');

/** Test time starts here: a fixed instant, so event timestamps and dates are reproducible. */
export const TEST_START = Date.parse('2026-11-21T10:00:00.000Z');
