import { Worker } from 'node:worker_threads';

/**
 * Threads that spin until stopped, so a test also runs on a machine as busy as a loaded 2-core CI
 * runner: whatever it asserts must hold however slowly the bridge, DynamoDB Local and the sandboxes run.
 */
export function startBusyCpu(threads = 2): { stop(): Promise<void> } {
  const spinners = Array.from({ length: threads }, () => new Worker('for (;;) {}', { eval: true }));
  return {
    async stop() {
      await Promise.all(spinners.map((spinner) => spinner.terminate()));
    },
  };
}
