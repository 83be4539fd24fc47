/** Wall-clock time in epoch milliseconds. Tests swap in a controllable clock; nothing reads `Date.now()` directly. */
export interface Clock {
  now(): number;
  /**
   * A signal that aborts with a `TimeoutError` once this clock reads `atMs`. Optional: a clock without
   * it is taken to run in real time (see `deadlineSignal`).
   */
  signalAt?(atMs: number): AbortSignal;
}

export const systemClock: Clock = { now: () => Date.now() };

/**
 * Aborts a call when `clock` reaches `atMs`. Deadlines are measured on the same clock as the leases and
 * backoffs they must fit in, so a test clock that stands still never times a call out, however slow
 * the machine, and one that moves past the deadline always does.
 */
export function deadlineSignal(clock: Clock, atMs: number): AbortSignal {
  return clock.signalAt?.(atMs) ?? AbortSignal.timeout(Math.max(0, atMs - clock.now()));
}
