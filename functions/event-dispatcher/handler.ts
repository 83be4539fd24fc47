import type { BridgeDeps } from '../core/deps';
import { queueHandler } from '../core/queue-consumer';
import { eventJobSchema } from '../core/queue-messages';
import { dispatchEvent } from '../core/use-cases/outbound-events';

/** Consumer of the `events` queue: delivers signed events to the chat service. */
export const createEventDispatcherHandler = (deps: BridgeDeps) =>
  queueHandler(deps, { queue: deps.queues.events, schema: eventJobSchema, process: (job) => dispatchEvent(deps, job) });
