import { queueHandler, type QueueConsumerDeps } from '../core/queue-consumer';
import { eventJobSchema } from '../core/queue-messages';
import { dispatchEvent, type DispatchEventDeps } from '../core/use-cases/outbound-events';

export type EventDispatcherDeps = QueueConsumerDeps & DispatchEventDeps;

/** Consumer of the `events` queue: delivers signed events to the chat service. */
export const createEventDispatcherHandler = (deps: EventDispatcherDeps) =>
  queueHandler(deps, { queue: deps.queues.events, schema: eventJobSchema, process: (job) => dispatchEvent(deps, job) });
