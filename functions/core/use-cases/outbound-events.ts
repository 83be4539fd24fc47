import { buildEvent, isStaleTypingEvent, type OutboundEvent, type OutboundEventType } from '../domain/outbound-event';
import type { BridgeDeps, QueuesOf } from '../deps';
import { OutboundCallError } from '../ports/outbound';
import type { EventJob } from '../queue-messages';
import { retryOrDeadLetter } from './retry-or-dead-letter';

/** Queues an event for the chat service; the dispatcher delivers it after the current request. */
export async function emitEvent(
  deps: Pick<BridgeDeps, 'clock' | 'newId'> & QueuesOf<'events'>,
  type: OutboundEventType,
  data: OutboundEvent['data'],
  options: { id?: string; delaySeconds?: number } = {},
): Promise<OutboundEvent> {
  const event = buildEvent(type, data, { id: options.id ?? deps.newId(), nowMs: deps.clock.now() });
  await deps.queues.events.send({ event, attempt: 1 }, { delaySeconds: options.delaySeconds });
  return event;
}

/**
 * Sends an event from the function that made it, without a trip through the events queue (one queue
 * message and one invocation fewer): this is the dispatcher's first attempt, made here. Whatever the
 * dispatcher would do next happens the same way: a retryable failure puts the event on the events
 * queue as its second attempt, with the dispatcher's backoff; a final answer dead-letters it; a stale
 * typing event is dropped. It throws only when even that could not be queued, so the caller's own
 * message is delivered again and nothing is lost.
 */
export async function sendEvent(
  deps: DispatchEventDeps & Pick<BridgeDeps, 'newId'>,
  type: OutboundEventType,
  data: OutboundEvent['data'],
  options: { id?: string } = {},
): Promise<'delivered' | 'dropped' | 'retrying' | 'dead-lettered'> {
  const event = buildEvent(type, data, { id: options.id ?? deps.newId(), nowMs: deps.clock.now() });
  return dispatchEvent(deps, { event, attempt: 1 });
}

export type DispatchEventDeps = Pick<BridgeDeps, 'config' | 'clock' | 'random' | 'metrics' | 'log' | 'chatService'> &
  QueuesOf<'events'>;

/**
 * Delivers one queued event: stale typing events are dropped (a late "typing" is wrong information),
 * failures are retried with backoff, and what cannot be delivered is dead-lettered with its reason.
 */
export async function dispatchEvent(
  deps: DispatchEventDeps,
  job: EventJob,
): Promise<'delivered' | 'dropped' | 'retrying' | 'dead-lettered'> {
  const event = job.event as OutboundEvent;
  if (isStaleTypingEvent(event, deps.clock.now())) {
    deps.metrics.count('EventDropped');
    deps.log.debug('stale typing event dropped', { eventId: event.id, type: event.type, attempt: job.attempt });
    return 'dropped';
  }
  try {
    await deps.chatService.deliver(event);
  } catch (error) {
    if (!(error instanceof OutboundCallError)) throw error;
    const { outcome } = await retryOrDeadLetter(deps, deps.queues.events, job, error);
    if (outcome === 'retrying') deps.metrics.count('EventRetried');
    return outcome;
  }
  deps.metrics.count('EventDelivered');
  return 'delivered';
}
