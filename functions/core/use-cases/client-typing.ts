import { clientTypingWindow } from '../domain/typing-session';
import type { BridgeDeps, QueuesOf } from '../deps';
import { OutboundCallError } from '../ports/outbound';
import type { ClientTypingKey } from '../ports/typing-store';

export type ClientTypingDeps = Pick<
  BridgeDeps,
  'config' | 'clock' | 'kommoChatApi' | 'metrics' | 'log' | 'clientTyping' | 'newId'
> &
  QueuesOf<'timers'>;

/**
 * `start`: the first one (or the first after a Kommo call's window ran out) claims the window with a
 * conditional write, calls Kommo's typing method at once and sets a refresh timer; every other `start`
 * only extends how long typing lasts. So a hundred starts a second cost one call per window, and a
 * repeat of a start (the same webhook-id: typing is not claimed) is one of them.
 */
export async function startClientTyping(
  deps: ClientTypingDeps,
  key: ClientTypingKey,
  ttlSeconds: number,
): Promise<{ kommoCalled: boolean }> {
  const now = deps.clock.now();
  const window = clientTypingWindow(now, ttlSeconds, deps.config.TYPING_REFRESH_SECONDS);
  const attemptId = deps.newId();
  try {
    const { claimed } = await deps.clientTyping.start(key, { nowMs: now, ...window }, attemptId);
    if (!claimed) {
      deps.metrics.count('TypingStartCoalesced');
      return { kommoCalled: false };
    }
    await scheduleRefresh(deps, key);
  } catch (error) {
    // The window may be claimed (a write whose answer was lost) with no refresh timer and no Kommo call
    // coming: give it back, so the chat service's retry of this 5xx shows typing at once.
    await deps.clientTyping.release(key, attemptId, now).catch((releaseError: unknown) => {
      deps.log.warn('could not give back a typing window', {
        error: releaseError instanceof Error ? releaseError.message : String(releaseError),
      });
    });
    throw error;
  }
  await callKommoTyping(deps, key);
  return { kommoCalled: true };
}

export async function stopClientTyping(deps: ClientTypingDeps, key: ClientTypingKey): Promise<void> {
  await deps.clientTyping.stop(key, deps.clock.now());
}

/** The refresh timer: one Kommo call per window while typing lasts, none after `stop` or expiry. */
export async function refreshClientTyping(
  deps: ClientTypingDeps,
  key: ClientTypingKey,
): Promise<{ kommoCalled: boolean }> {
  const now = deps.clock.now();
  const claimed = await deps.clientTyping.claimRefresh(key, now, now + deps.config.TYPING_REFRESH_SECONDS * 1000);
  if (!claimed) return { kommoCalled: false };
  await scheduleRefresh(deps, key);
  await callKommoTyping(deps, key);
  return { kommoCalled: true };
}

async function scheduleRefresh(deps: ClientTypingDeps, key: ClientTypingKey): Promise<void> {
  await deps.queues.timers.send(
    { kind: 'client-typing-refresh', ...key },
    { delaySeconds: deps.config.TYPING_REFRESH_SECONDS },
  );
}

/** A typing call that fails is logged and counted, never retried: a late "typing" would be wrong information. */
async function callKommoTyping(deps: ClientTypingDeps, key: ClientTypingKey): Promise<void> {
  try {
    await deps.kommoChatApi.typing(key.scopeId, { conversationId: key.conversationId, senderId: key.senderId });
    deps.metrics.count('KommoTypingCall');
    deps.metrics.count('KommoCallSucceeded');
  } catch (error) {
    if (!(error instanceof OutboundCallError)) throw error;
    deps.metrics.count('KommoCallFailed');
    if (error.status === 403) deps.metrics.count('KommoCallForbidden');
    deps.log.warn('Kommo typing call failed; not retried', {
      status: error.status,
      errorType: error.errorType,
      message: error.message,
    });
  }
}
