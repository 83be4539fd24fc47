import { presenceView, type PresenceView } from '../domain/presence-window';
import { secondsUntil } from '../domain/typing-session';
import type { BridgeDeps } from '../deps';
import type { PresenceKey, PresenceTransition } from '../ports/presence-store';

export type PresenceDeps = Pick<BridgeDeps, 'clock' | 'queues' | 'metrics' | 'log' | 'presence' | 'newId'>;

/**
 * A heartbeat. Extending an open window is one conditional write and nothing else; only a client
 * that was offline costs more: the window opens with its transition (one transaction), and a timer is
 * set for the window's end. A heartbeat that finds the timer never confirmed (the request that opened
 * the window died half-way) sets it then.
 */
export async function clientOnline(deps: PresenceDeps, key: PresenceKey, ttlSeconds: number): Promise<'extended' | 'went-online'> {
  const now = deps.clock.now();
  const onlineUntilMs = now + ttlSeconds * 1000;
  // Racing heartbeats: one opens the window, the others find it open and extend it.
  for (let attempt = 0; attempt < 3; attempt += 1) {
    const extension = await deps.presence.extend(key, now, onlineUntilMs);
    if (extension.extended) {
      if (!extension.timerArmed) await armDeadline(deps, key, onlineUntilMs);
      return 'extended';
    }
    const { opened, transitions } = await deps.presence.open(key, now, onlineUntilMs);
    if (!opened) continue;
    for (const transition of transitions) announce(deps, key, transition);
    await armDeadline(deps, key, onlineUntilMs);
    return 'went-online';
  }
  throw new Error('presence window contended beyond retries');
}

/** An explicit `offline`: the window closes at once; nothing happens if the client was not online. */
export async function clientOffline(deps: PresenceDeps, key: PresenceKey): Promise<'went-offline' | 'already-offline'> {
  const offline = await deps.presence.closeNow(key, deps.clock.now());
  if (!offline) return 'already-offline';
  announce(deps, key, offline);
  return 'went-offline';
}

/**
 * The timer at a window's end: closes it unless heartbeats extended it, in which case it waits for the
 * new end. Only the window's own timer chain waits on; a duplicate timer (two heartbeats that both
 * armed one, or a redelivered message) ends here.
 */
export async function presenceDeadline(
  deps: PresenceDeps,
  key: PresenceKey,
  deadlineMs: number,
  timerId?: string,
): Promise<'went-offline' | 'extended' | 'gone' | 'duplicate'> {
  const outcome = await deps.presence.closeExpired(key, deps.clock.now());
  if ('closed' in outcome) {
    announce(deps, key, outcome.closed);
    return 'went-offline';
  }
  if ('stillOpenUntilMs' in outcome) {
    const next = await scheduleDeadline(deps, key, Math.max(outcome.stillOpenUntilMs, deadlineMs));
    // Queued first, handed on second: a crash in between leaves the old chain to be retried, not lost.
    if (timerId !== undefined && !(await deps.presence.passTimerOn(key, timerId, next))) return 'duplicate';
    return 'extended';
  }
  return 'gone';
}

export async function readPresence(deps: PresenceDeps, key: PresenceKey): Promise<PresenceView> {
  return presenceView(key.clientId, await deps.presence.read(key), deps.clock.now());
}

function announce(deps: PresenceDeps, key: PresenceKey, transition: PresenceTransition): void {
  deps.metrics.count('PresenceTransition');
  deps.log.info('presence changed', { scopeId: key.scopeId, clientId: key.clientId, state: transition.state });
}

async function armDeadline(deps: PresenceDeps, key: PresenceKey, onlineUntilMs: number): Promise<void> {
  await deps.presence.markTimerArmed(key, await scheduleDeadline(deps, key, onlineUntilMs));
}

/** SQS delays stop at 900 s; a longer window is checked in steps, each re-arming the next. */
async function scheduleDeadline(deps: PresenceDeps, key: PresenceKey, deadlineMs: number): Promise<string> {
  const timerId = deps.newId();
  await deps.queues.timers.send(
    { kind: 'presence-expiry', scopeId: key.scopeId, clientId: key.clientId, deadlineMs, timerId },
    { delaySeconds: Math.min(900, secondsUntil(deadlineMs, deps.clock.now())) },
  );
  return timerId;
}
