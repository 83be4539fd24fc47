import { queueHandler, type QueueConsumerDeps } from '../core/queue-consumer';
import { kommoHookJobSchema } from '../core/queue-messages';
import { processKommoHook, type ProcessKommoHookDeps } from '../core/use-cases/process-kommo-hook';

export type HookWorkerDeps = QueueConsumerDeps & ProcessKommoHookDeps;

/** Consumer of the `hooks` queue: Kommo hooks after their 200. */
export const createHookWorkerHandler = (deps: HookWorkerDeps) =>
  queueHandler(deps, {
    queue: deps.queues.hooks,
    schema: kommoHookJobSchema,
    process: (job) => processKommoHook(deps, job),
  });
