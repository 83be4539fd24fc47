import type { BridgeDeps } from '../core/deps';
import { queueHandler } from '../core/queue-consumer';
import { kommoHookJobSchema } from '../core/queue-messages';
import { processKommoHook } from '../core/use-cases/process-kommo-hook';

/** Consumer of the `hooks` queue: Kommo hooks after their 200. */
export const createHookWorkerHandler = (deps: BridgeDeps) =>
  queueHandler(deps, { queue: deps.queues.hooks, schema: kommoHookJobSchema, process: (job) => processKommoHook(deps, job) });
