import { buildEvent, isStaleTypingEvent, type OutboundEvent, type OutboundEventType } from '../domain/outbound-event';
import type { BridgeDeps } from '../deps';
import { OutboundCallError } from '../ports/outbound';
import type { EventJob } from '../queue-messages';
import { retryOrDeadLetter } from './retry-or-dead-letter';

/** Queues an event for the chat service; the dispatcher delivers it after the current request. */
export async function emitEvent(
  deps: Pick<BridgeDeps, 'clock' | 'newId' | 'queues'>,
  type: OutboundEventType,
  data: OutboundEvent['data'],
  options: { id?: string; delaySeconds?: number } = {},
): Promise<OutboundEvent> {
  const event = buildEvent(type, data, { id: options.id ?? deps.newId(), nowMs: deps.clock.now() });
  await deps.queues.events.send({ event, attempt: 1 }, { delaySeconds: options.delaySeconds });
  return event;
}

/**
 * Delivers one queued event: stale typing events are dropped (a late "typing" is wrong information),
 * failures are retried with backoff, and what cannot be delivered is dead-lettered with its reason.
 */
export async function dispatchEvent(deps: BridgeDeps, job: EventJob): Promise<'delivered' | 'dropped' | 'retrying' | 'dead-lettered'> {
  const event = job.event as OutboundEvent;
  if (isStaleTypingEvent(event, deps.clock.now())) {
    deps.metrics.count('EventDropped');
    deps.log.info('stale typing event dropped', { eventId: event.id, type: event.type, attempt: job.attempt });
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
