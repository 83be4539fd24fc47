import { presenceView, type PresenceView } from '../domain/presence-window';
import { secondsUntil } from '../domain/typing-session';
import type { BridgeDeps } from '../deps';
import type { PresenceKey } from '../ports/presence-store';

export type PresenceDeps = Pick<BridgeDeps, 'clock' | 'queues' | 'metrics' | 'log' | 'presence'>;

/**
 * A heartbeat. Extending an open window is one conditional write and nothing else; only a client
 * that was offline costs more: the window opens, the transition is recorded, and a timer is set for
 * the window's end.
 */
export async function clientOnline(deps: PresenceDeps, key: PresenceKey, ttlSeconds: number): Promise<'extended' | 'went-online'> {
  const now = deps.clock.now();
  const onlineUntilMs = now + ttlSeconds * 1000;
  // Racing heartbeats: one opens the window, the others find it open and extend it.
  for (let attempt = 0; attempt < 3; attempt += 1) {
    if (await deps.presence.extend(key, now, onlineUntilMs)) return 'extended';
    const { opened, lapsed } = await deps.presence.open(key, now, onlineUntilMs);
    if (!opened) continue;
    if (lapsed) {
      // The window ended before its timer ran (the timer is due, not lost): record that offline first.
      await recordTransition(deps, key, { state: 'offline', atMs: lapsed.onlineUntilMs, lastSeenAtMs: lapsed.lastSeenAtMs });
    }
    await recordTransition(deps, key, { state: 'online', atMs: now, lastSeenAtMs: now });
    await scheduleDeadline(deps, key, onlineUntilMs);
    return 'went-online';
  }
  throw new Error('presence window contended beyond retries');
}

/** An explicit `offline`: the window closes at once; nothing happens if the client was not online. */
export async function clientOffline(deps: PresenceDeps, key: PresenceKey): Promise<'went-offline' | 'already-offline'> {
  const now = deps.clock.now();
  const { closed } = await deps.presence.closeNow(key, now);
  if (!closed) return 'already-offline';
  await recordTransition(deps, key, { state: 'offline', atMs: now, lastSeenAtMs: now });
  return 'went-offline';
}

/** The timer at a window's end: closes it unless heartbeats extended it, in which case it waits for the new end. */
export async function presenceDeadline(deps: PresenceDeps, key: PresenceKey, deadlineMs: number): Promise<'went-offline' | 'extended' | 'gone'> {
  const now = deps.clock.now();
  const outcome = await deps.presence.closeExpired(key, now);
  if (outcome.closed) {
    await recordTransition(deps, key, { state: 'offline', atMs: outcome.onlineUntilMs!, lastSeenAtMs: outcome.lastSeenAtMs! });
    return 'went-offline';
  }
  if (outcome.stillOpenUntilMs !== undefined) {
    await scheduleDeadline(deps, key, Math.max(outcome.stillOpenUntilMs, deadlineMs));
    return 'extended';
  }
  return 'gone';
}

export async function readPresence(deps: PresenceDeps, key: PresenceKey): Promise<PresenceView> {
  return presenceView(key.clientId, await deps.presence.read(key), deps.clock.now());
}

async function recordTransition(deps: PresenceDeps, key: PresenceKey, transition: Parameters<PresenceDeps['presence']['recordTransition']>[1]) {
  await deps.presence.recordTransition(key, transition);
  deps.metrics.count('PresenceTransition');
  deps.log.info('presence changed', { scopeId: key.scopeId, clientId: key.clientId, state: transition.state });
}

/** SQS delays stop at 900 s; a longer window is checked in steps, each re-arming the next. */
async function scheduleDeadline(deps: PresenceDeps, key: PresenceKey, deadlineMs: number): Promise<void> {
  await deps.queues.timers.send(
    { kind: 'presence-expiry', scopeId: key.scopeId, clientId: key.clientId, deadlineMs },
    { delaySeconds: Math.min(900, secondsUntil(deadlineMs, deps.clock.now())) },
  );
}
