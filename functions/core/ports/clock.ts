/** Wall-clock time in epoch milliseconds. Tests swap in a controllable clock; nothing reads `Date.now()` directly. */
export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };
