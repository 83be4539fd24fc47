import { currentEntry, type DeliveryStatus } from '../domain/delivery-status';
import { messageHookSchema } from '../domain/kommo-hooks';
import { MAX_QUEUE_DELAY_SECONDS, QUEUE_DELAY_TOLERANCE_MS } from '../domain/retry-policy';
import {
  endsPolling,
  FIRST_POLL_AFTER_SECONDS,
  POLL_RETENTION_MS,
  POLLING_WINDOW_MS,
  waitAfterPoll,
  type PollEnd,
  type PolledStatus,
} from '../domain/status-poll';
import { secondsUntil } from '../domain/typing-session';
import type { BridgeDeps, QueuesOf } from '../deps';
import { pathSegmentIdentifier } from '../domain/identifiers';
import { OutboundCallError } from '../ports/outbound';
import type { StatusKey } from '../ports/status-store';
import { updateDeliveryStatus, type DeliveryStatusDeps } from './delivery-status';

/** What starting a chain takes: the hook worker neither sends statuses to Kommo nor holds its secret. */
export type StatusPollStartDeps = Pick<BridgeDeps, 'clock' | 'log' | 'newId' | 'statusPolls' | 'chatServiceStatuses'> &
  QueuesOf<'timers'>;
export type StatusPollDeps = DeliveryStatusDeps & StatusPollStartDeps;

/** Kommo's msgid goes into one segment of its delivery-status path: the same rule as a pushed status's msgid. */
const msgidSchema = pathSegmentIdentifier('msgid');

export type PollStart =
  | 'not-configured'
  | 'not-a-message'
  | 'invalid-msgid'
  | 'window-closed'
  | 'already-polling'
  | 'started';

/**
 * Kommo's outgoing-message hook (a Kommo user wrote to a client), in the hook worker: starts polling
 * the chat service for the message's delivery status, when `CHAT_SERVICE_STATUS_URL` is set.
 *
 * One chain per message however often the hook is processed (SQS delivers at least once, a failed
 * forward re-queues the hook, an operator redrives it): the first timer is queued, then the message's
 * poll item is created naming it, only if there is none (one conditional write). A hook that dies in
 * between is processed again and finds no item, so it queues anew; its first timer is a stray no
 * item names, which ends when it runs. The window is counted from the hook's arrival, so a hook
 * processed again after its day is over starts nothing, even once the item is gone.
 */
export async function startStatusPoll(
  deps: StatusPollStartDeps,
  hook: { scopeId: string; receivedAtMs: number; body: unknown },
): Promise<PollStart> {
  if (!deps.chatServiceStatuses.enabled) return 'not-configured';
  const message = messageHookSchema.safeParse(hook.body);
  if (!message.success) return 'not-a-message';
  const msgid = message.data.message.message.id;
  if (!msgidSchema.safeParse(msgid).success) {
    // Its status could never be sent to Kommo's `…/{msgid}/delivery_status`, so there is nothing to poll for.
    deps.log.warn('outgoing message not polled: its msgid cannot name a Kommo delivery status', {
      scopeId: hook.scopeId,
    });
    return 'invalid-msgid';
  }
  const key: StatusKey = { scopeId: hook.scopeId, msgid };
  const now = deps.clock.now();
  const endsAtMs = hook.receivedAtMs + POLLING_WINDOW_MS;
  if (now >= endsAtMs) return 'window-closed';
  if (await deps.statusPolls.read(key, now)) return 'already-polling';
  const timerId = await queuePoll(deps, key, now + FIRST_POLL_AFTER_SECONDS * 1000);
  const started = await deps.statusPolls.start(
    key,
    { timerId, startedAtMs: hook.receivedAtMs, endsAtMs, expiresAtMs: hook.receivedAtMs + POLL_RETENTION_MS },
    now,
  );
  if (!started) return 'already-polling';
  deps.log.debug('delivery status polling started', { scopeId: key.scopeId, msgid });
  return 'started';
}

export type PollTimerOutcome = 'polled' | 'waiting' | 'ended' | 'stray' | 'gone';

/**
 * A poll timer. The message's poll item names its one timer chain, and only that timer polls and
 * queues the next, as with presence windows (see `presenceDeadline`):
 *
 * - Checked before queueing: a timer the item does not name (a racing hook's, a leftover of a step that
 *   failed, a copy SQS delivered twice after the chain moved on, any timer once the chain has ended)
 *   ends without polling or queueing, so a stray never starts a chain of its own.
 * - Queued before handed on: the next timer is queued, then one conditional write moves the item's
 *   name to it (with the count of polls made). Copies of the named timer that run together each poll
 *   (a harmless extra GET: statuses only move forward) and queue a next one, but only one write moves
 *   the name; the other next timers are strays. Never two chains.
 * - A crash between the two leaves the item naming this timer, which SQS delivers again: it polls and
 *   queues anew. Never no chain.
 *
 * The chain ends, with one conditional write, at `read` or `error` (pulled, or pushed meanwhile), when
 * the next poll would fall after the day's window, or when polling is no longer configured.
 * Waits longer than SQS's 900 s are covered in steps that only queue the next.
 */
export async function statusPollTimer(
  deps: StatusPollDeps,
  key: StatusKey,
  timerId: string,
  dueAtMs: number,
): Promise<PollTimerOutcome> {
  const now = deps.clock.now();
  const poll = await deps.statusPolls.read(key, now);
  if (!poll) return 'gone';
  if (poll.timerId !== timerId) return 'stray';
  if (!deps.chatServiceStatuses.enabled) return endPolling(deps, key, timerId, poll.pollsMade, 'not-configured');
  if (dueAtMs - now >= QUEUE_DELAY_TOLERANCE_MS) {
    const next = await queuePoll(deps, key, dueAtMs);
    return (await deps.statusPolls.passTimerOn(key, timerId, next, poll.pollsMade)) ? 'waiting' : 'stray';
  }
  const known = await deps.statuses.read(key, now);
  const knownStatus = known ? currentEntry(known).status : undefined;
  // A pushed `read` or `error` ends the chain without asking.
  if (endsPolling(knownStatus)) return endPolling(deps, key, timerId, poll.pollsMade, 'final-status');

  const status = (await pollOnce(deps, key)) ?? knownStatus;
  const pollsMade = poll.pollsMade + 1;
  if (endsPolling(status)) return endPolling(deps, key, timerId, pollsMade, 'final-status');
  const nextDueAtMs = deps.clock.now() + waitAfterPoll(pollsMade) * 1000;
  if (nextDueAtMs > poll.endsAtMs) return endPolling(deps, key, timerId, pollsMade, 'window-closed');
  const next = await queuePoll(deps, key, nextDueAtMs);
  return (await deps.statusPolls.passTimerOn(key, timerId, next, pollsMade)) ? 'polled' : 'stray';
}

/**
 * One query. A new status goes the way a pushed one goes (forward only, then the ordered sync to
 * Kommo); returns the message's status after it, or undefined when the query taught nothing. A failed
 * or malformed answer is logged and counted, never thrown: the schedule is the retry.
 */
async function pollOnce(deps: StatusPollDeps, key: StatusKey): Promise<DeliveryStatus | undefined> {
  deps.metrics.count('StatusPolled');
  let answer: PolledStatus;
  try {
    answer = await deps.chatServiceStatuses.query(key.msgid, { webhookId: `poll_${deps.newId()}` });
  } catch (error) {
    if (!(error instanceof OutboundCallError)) throw error;
    deps.metrics.count('StatusPollFailed');
    deps.log.warn('status query to the chat service failed; the next poll comes on the schedule', {
      scopeId: key.scopeId,
      msgid: key.msgid,
      ...(error.status !== undefined ? { status: error.status } : {}),
      error: error.message,
    });
    return undefined;
  }
  switch (answer.outcome) {
    case 'malformed':
      deps.metrics.count('StatusPollMalformed');
      deps.log.warn(
        'the chat service answered a status query outside the contract; the next poll comes on the schedule',
        {
          scopeId: key.scopeId,
          msgid: key.msgid,
          reason: answer.reason,
        },
      );
      return undefined;
    case 'unknown':
    case 'sent':
      return undefined;
    case 'update':
      return (await updateDeliveryStatus(deps, key, answer.update)).status;
  }
}

async function endPolling(
  deps: StatusPollDeps,
  key: StatusKey,
  timerId: string,
  pollsMade: number,
  because: PollEnd,
): Promise<'ended' | 'stray'> {
  if (!(await deps.statusPolls.end(key, timerId, pollsMade, because))) return 'stray';
  deps.log.debug('delivery status polling ended', { scopeId: key.scopeId, msgid: key.msgid, because, pollsMade });
  return 'ended';
}

/** A timer for `dueAtMs`, or for the next step towards it when that is beyond SQS's longest delay. */
async function queuePoll(
  deps: Pick<BridgeDeps, 'clock' | 'newId'> & QueuesOf<'timers'>,
  key: StatusKey,
  dueAtMs: number,
): Promise<string> {
  const timerId = deps.newId();
  await deps.queues.timers.send(
    { kind: 'status-poll', scopeId: key.scopeId, msgid: key.msgid, timerId, dueAtMs },
    { delaySeconds: Math.min(MAX_QUEUE_DELAY_SECONDS, secondsUntil(dueAtMs, deps.clock.now())) },
  );
  return timerId;
}
