import { presenceView, type PresenceView } from '../domain/presence-window';
import { secondsUntil } from '../domain/typing-session';
import type { BridgeDeps, QueuesOf } from '../deps';
import type { PresenceKey, PresenceTransition } from '../ports/presence-store';
import { pushClientPresence } from './live-presence-push';

export type PresenceDeps = Pick<
  BridgeDeps,
  'clock' | 'metrics' | 'log' | 'presence' | 'newId' | 'live' | 'liveConnections'
> &
  QueuesOf<'timers'>;

/**
 * A heartbeat. Extending an open window is one conditional write and nothing else; only a client
 * that was offline costs more: a timer for the window's end is queued, then the window opens naming
 * that timer (one conditional write). The timer first, so that an open window always
 * names a timer that is queued; a heartbeat that dies in between (or loses the race to open) leaves a
 * timer no window names, which ends when it runs.
 */
export async function clientOnline(
  deps: PresenceDeps,
  key: PresenceKey,
  ttlSeconds: number,
): Promise<'extended' | 'went-online'> {
  const now = deps.clock.now();
  const onlineUntilMs = now + ttlSeconds * 1000;
  // Racing heartbeats: one opens the window, the others find it open and extend it (their timers end unused).
  for (let attempt = 0; attempt < 3; attempt += 1) {
    if (await deps.presence.extend(key, now, onlineUntilMs)) return 'extended';
    const timerId = await scheduleDeadline(deps, key, onlineUntilMs);
    const { opened, transitions } = await deps.presence.open(key, now, onlineUntilMs, timerId);
    if (!opened) continue;
    for (const transition of transitions) announce(deps, key, transition);
    await pushClientPresence(deps, key);
    return 'went-online';
  }
  throw new Error('presence window contended beyond retries');
}

/** An explicit `offline`: the window closes at once; nothing happens if the client was not online. */
export async function clientOffline(deps: PresenceDeps, key: PresenceKey): Promise<'went-offline' | 'already-offline'> {
  const offline = await deps.presence.closeNow(key, deps.clock.now());
  if (!offline) return 'already-offline';
  announce(deps, key, offline);
  await pushClientPresence(deps, key);
  return 'went-offline';
}

/**
 * The timer at a window's end: closes it unless heartbeats extended it, in which case it waits for the
 * new end. The window names its one timer chain, and only that timer queues the next. A send to SQS
 * and a write to DynamoDB never happen as one, and SQS delivers at least once, so:
 *
 * - Checked before queueing: a timer the window does not name (a racing heartbeat's, a leftover of a
 *   step that failed, a copy SQS delivered twice after the chain moved on) ends without queueing, so
 *   a stray timer never starts a chain of its own.
 * - Queued before handed on: the next timer is queued, then a conditional write moves the window's
 *   name from this timer to it. Copies of the named timer that run together all pass the check and
 *   each queues a next one, but only one write moves the name; the others' next timers are strays
 *   and end at their turn. Never two chains.
 * - A crash between the two leaves the window naming this timer, which SQS delivers again (or, once
 *   dead-lettered, a redrive): it passes the check and queues anew, and the one queued before the
 *   crash is a stray. A crash after the write leaves the next timer named and queued, and this one,
 *   delivered again, no longer named. Never no chain.
 *
 * Closing needs no chain: the window's end is closed by one conditional write, whichever timer gets there.
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
    await pushClientPresence(deps, key);
    return 'went-offline';
  }
  if ('gone' in outcome) return 'gone';
  // A window written before windows named their timer is adopted by the first timer to hand it on.
  if (outcome.timerId !== undefined && outcome.timerId !== timerId) return 'duplicate';
  const next = await scheduleDeadline(deps, key, Math.max(outcome.stillOpenUntilMs, deadlineMs));
  return (await deps.presence.passTimerOn(key, outcome.timerId, next)) ? 'extended' : 'duplicate';
}

export async function readPresence(
  deps: Pick<BridgeDeps, 'clock' | 'presence'>,
  key: PresenceKey,
): Promise<PresenceView> {
  return presenceView(key.clientId, await deps.presence.read(key), deps.clock.now());
}

function announce(deps: PresenceDeps, key: PresenceKey, transition: PresenceTransition): void {
  deps.metrics.count('PresenceTransition');
  // `at` is when it happened: a window that lapsed is offline from its end, whenever its timer ran.
  deps.log.debug('presence changed', {
    scopeId: key.scopeId,
    clientId: key.clientId,
    state: transition.state,
    at: new Date(transition.atMs).toISOString(),
  });
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
