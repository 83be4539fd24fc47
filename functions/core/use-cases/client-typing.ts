import { clientTypingWindow } from '../domain/typing-session';
import type { BridgeDeps } from '../deps';
import { OutboundCallError } from '../ports/outbound';
import type { ClientTypingKey } from '../ports/typing-store';

export type ClientTypingDeps = Pick<BridgeDeps, 'config' | 'clock' | 'queues' | 'kommo' | 'metrics' | 'log' | 'clientTyping'>;

/**
 * `start`: the first one (or the first after a Kommo call's window ran out) claims the window with a
 * conditional write, calls Kommo's typing method at once and sets a refresh timer; every other `start`
 * only extends how long typing lasts. So a hundred starts a second cost one call per window.
 */
export async function startClientTyping(deps: ClientTypingDeps, key: ClientTypingKey, ttlSeconds: number, requestId: string): Promise<{ kommoCalled: boolean }> {
  const now = deps.clock.now();
  const window = clientTypingWindow(now, ttlSeconds, deps.config.TYPING_REFRESH_SECONDS);
  const { claimed } = await deps.clientTyping.start(key, { nowMs: now, ...window }, requestId);
  if (!claimed) {
    deps.metrics.count('TypingStartCoalesced');
    return { kommoCalled: false };
  }
  await scheduleRefresh(deps, key);
  await callKommoTyping(deps, key);
  return { kommoCalled: true };
}

export async function stopClientTyping(deps: ClientTypingDeps, key: ClientTypingKey): Promise<void> {
  await deps.clientTyping.stop(key, deps.clock.now());
}

/** The refresh timer: one Kommo call per window while typing lasts, none after `stop` or expiry. */
export async function refreshClientTyping(deps: ClientTypingDeps, key: ClientTypingKey): Promise<{ kommoCalled: boolean }> {
  const now = deps.clock.now();
  const claimed = await deps.clientTyping.claimRefresh(key, now, now + deps.config.TYPING_REFRESH_SECONDS * 1000);
  if (!claimed) return { kommoCalled: false };
  await scheduleRefresh(deps, key);
  await callKommoTyping(deps, key);
  return { kommoCalled: true };
}

async function scheduleRefresh(deps: ClientTypingDeps, key: ClientTypingKey): Promise<void> {
  await deps.queues.timers.send({ kind: 'client-typing-refresh', ...key }, { delaySeconds: deps.config.TYPING_REFRESH_SECONDS });
}

/** A typing call that fails is logged and counted, never retried: a late "typing" would be wrong information. */
async function callKommoTyping(deps: ClientTypingDeps, key: ClientTypingKey): Promise<void> {
  try {
    await deps.kommo.typing(key.scopeId, { conversationId: key.conversationId, senderId: key.senderId });
    deps.metrics.count('KommoTypingCall');
    deps.metrics.count('KommoCallSucceeded');
  } catch (error) {
    if (!(error instanceof OutboundCallError)) throw error;
    deps.metrics.count('KommoCallFailed');
    if (error.status === 403) deps.metrics.count('KommoCallForbidden');
    deps.log.warn('Kommo typing call failed; not retried', { status: error.status, errorType: error.errorType, message: error.message });
  }
}
