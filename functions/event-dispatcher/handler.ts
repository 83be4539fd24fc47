import { queueHandler, type QueueConsumerDeps } from '../core/queue-consumer';
import { eventJobSchema } from '../core/queue-messages';
import { dispatchEvent, type DispatchEventDeps } from '../core/use-cases/outbound-events';

/** Consumer of the `events` queue: delivers signed events to the chat service. */
export type EventDispatcherDeps = QueueConsumerDeps & DispatchEventDeps;

export const createEventDispatcherHandler = (deps: EventDispatcherDeps) =>
  queueHandler(deps, { queue: deps.queues.events, schema: eventJobSchema, process: (job) => dispatchEvent(deps, job) });
