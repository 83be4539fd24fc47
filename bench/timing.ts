import { setTimeout as sleep } from 'node:timers/promises';

/** Waits until `performance.now()` reaches `at` (returns at once when it already has). */
export async function sleepUntil(at: number): Promise<void> {
  const wait = at - performance.now();
  if (wait > 0) await sleep(wait);
}

/** Samples `read()` every `intervalMs` until `stop()` is called; returns the samples taken. */
export function sampleEvery(intervalMs: number, read: () => number): { stop: () => number[] } {
  const samples: number[] = [read()];
  const timer = setInterval(() => samples.push(read()), intervalMs);
  return {
    stop: () => {
      clearInterval(timer);
      samples.push(read());
      return samples;
    },
  };
}
