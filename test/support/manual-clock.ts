import type { Clock } from '../../functions/core/ports/clock';

/** A clock that moves only when told: TTLs and timers are tested without sleeping. */
export class ManualClock implements Clock {
  constructor(private current: number) {}

  now(): number {
    return this.current;
  }

  set(ms: number): void {
    if (ms < this.current) throw new Error('the clock does not go back');
    this.current = ms;
  }

  advanceBy(ms: number): void {
    this.set(this.current + ms);
  }
}

/** Test time starts here: a fixed instant, so event timestamps and dates are reproducible. */
export const TEST_START = Date.parse('2026-11-21T10:00:00.000Z');
