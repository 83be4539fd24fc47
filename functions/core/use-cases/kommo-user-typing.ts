import type { TypingHook } from '../domain/kommo-hooks';
import { kommoUserTypingEventId, secondsUntil } from '../domain/typing-session';
import type { BridgeDeps, QueuesOf } from '../deps';
import type { KommoUserTyping, KommoUserTypingKey } from '../ports/typing-store';
import { sendEvent, type DispatchEventDeps } from './outbound-events';

/**
 * Typing events go to the chat service from the hook worker and the timer worker themselves, not
 * through the events queue: a typing hook is one queue hop (its job) and one timer instead of four
 * messages. The events queue still takes every retry (`sendEvent`).
 */
export type KommoUserTypingDeps = Pick<BridgeDeps, 'clock' | 'newId' | 'log' | 'kommoUserTyping'> &
  DispatchEventDeps &
  QueuesOf<'timers' | 'events'>;

/**
 * How long after `expired_at` the bridge waits for a renewal before it says typing stopped. Kommo
 * renews the hook every 5 s with `expired_at` = its time + 5 s, so a renewal lands at about the
 * deadline, often a little after it; without this grace, every renewal that loses the race to the
 * deadline check would reach the chat service as `typing.stopped` then `typing.started` (a flicker).
 * 1.5 s covers a renewal up to 1 s late plus SQS's whole-second delays, and keeps the stop within the
 * contract's 2 s of `expires_at`.
 */
export const KOMMO_USER_TYPING_STOP_GRACE_MS = 1_500;

function eventData(typing: KommoUserTyping) {
  return {
    scope_id: typing.scopeId,
    account_id: typing.accountId,
    conversation_id: typing.conversationId,
    kommo_conversation_id: typing.kommoConversationId,
    user_id: typing.userId,
    expires_at: new Date(typing.deadlineMs).toISOString(),
  };
}

/**
 * A Kommo-user typing hook: every hook is announced as `typing.started`; the deadline only moves forward,
 * and each move sets a timer at the new deadline that decides whether typing stopped.
 */
export async function kommoUserTypingHook(deps: KommoUserTypingDeps, scopeId: string, hook: TypingHook): Promise<void> {
  const typingAction = hook.action.typing;
  const typing: KommoUserTyping = {
    scopeId,
    accountId: hook.account_id,
    kommoConversationId: typingAction.conversation.id,
    conversationId: typingAction.conversation.client_id ?? null,
    userId: typingAction.user.id,
    deadlineMs: typingAction.expired_at * 1000,
  };
  const now = deps.clock.now();
  const { moved } = await deps.kommoUserTyping.renew(typing, now);
  await sendEvent(deps, 'typing.started', eventData(typing), {
    id: kommoUserTypingEventId('started', typing, typing.deadlineMs),
  });
  if (moved) await scheduleExpiryCheck(deps, typing, typing.deadlineMs);
}

/** A timer at the deadline plus the grace; the message names the deadline it checks. */
async function scheduleExpiryCheck(
  deps: KommoUserTypingDeps,
  key: KommoUserTypingKey,
  deadlineMs: number,
): Promise<void> {
  await deps.queues.timers.send(
    {
      kind: 'manager-typing-expiry',
      scopeId: key.scopeId,
      kommoConversationId: key.kommoConversationId,
      userId: key.userId,
      expiresAtMs: deadlineMs,
    },
    { delaySeconds: Math.min(900, secondsUntil(deadlineMs + KOMMO_USER_TYPING_STOP_GRACE_MS, deps.clock.now())) },
  );
}

/**
 * The timer at a deadline (plus the grace): if no renewal moved it, exactly one `typing.stopped` is
 * claimed and sent. A renewal set its own timer, so this one does nothing.
 */
export async function kommoUserTypingDeadline(
  deps: KommoUserTypingDeps,
  key: KommoUserTypingKey,
  deadlineMs: number,
): Promise<'stopped' | 'renewed' | 'early' | 'already-stopped'> {
  const current = await deps.kommoUserTyping.get(key);
  if (!current || current.deadlineMs !== deadlineMs) return 'renewed';
  if (deps.clock.now() < deadlineMs + KOMMO_USER_TYPING_STOP_GRACE_MS) {
    await scheduleExpiryCheck(deps, key, deadlineMs);
    return 'early';
  }
  const claimed = await deps.kommoUserTyping.claimStop(key, deadlineMs);
  if (!claimed) return 'already-stopped';
  try {
    await sendEvent(deps, 'typing.stopped', eventData(claimed), {
      id: kommoUserTypingEventId('stopped', key, deadlineMs),
    });
  } catch (error) {
    await deps.kommoUserTyping.releaseStop(key, deadlineMs);
    throw error;
  }
  return 'stopped';
}
