import {
  kommoUserOnlineUntil,
  kommoUserPresenceData,
  kommoUserPresenceEventId,
  type KommoUserPresenceState,
} from '../domain/kommo-user-presence';
import { secondsUntil } from '../domain/typing-session';
import type { BridgeDeps, QueuesOf } from '../deps';
import type {
  KommoUserPresenceKey,
  KommoUserPresenceLabels,
  KommoUserWindow,
} from '../ports/kommo-user-presence-store';
import { emitEvent } from './outbound-events';

export type KommoUserPresenceDeps = Pick<BridgeDeps, 'clock' | 'newId' | 'log' | 'kommoUserPresence'> & {
  config: Pick<BridgeDeps['config'], 'KOMMO_USER_WINDOW_SECONDS'>;
} & QueuesOf<'timers' | 'events'>;

/**
 * A heartbeat that opens a window announces it within the widget function's timeout (10 s); a window
 * unannounced for longer was left so by a heartbeat that failed, and the next heartbeat takes over.
 */
const ANNOUNCING_MS = 10_000;

/**
 * A widget heartbeat: the Kommo user is in the conversation. Extending an open window is one
 * conditional write and nothing else; only a user who was offline costs more: the window opens, a
 * timer is set for its end, and the chat service hears `presence.changed` online.
 *
 * A window is announced (its timer and online event queued) after it opened, and marked so. A
 * heartbeat that fails half-way (or whose answer from DynamoDB or SQS was lost) leaves the window
 * open but unannounced; no heartbeat merely extends such a window, so the widget's next heartbeat
 * announces it, with the same event ids and the same timer, and the chat service drops what it
 * already had. A timer queued twice is two copies of the window's one chain, which the first hand-on
 * makes one again (see `kommoUserWindowEnd`).
 *
 * `labels` (Kommo's chat id, the user's amojo id) go into a window this heartbeat opens, and into its
 * online and offline events; a heartbeat that extends an open window leaves that window's labels.
 */
export async function kommoUserHeartbeat(
  deps: KommoUserPresenceDeps,
  key: KommoUserPresenceKey,
  labels: KommoUserPresenceLabels = {},
): Promise<'extended' | 'went-online'> {
  const now = deps.clock.now();
  const onlineUntilMs = kommoUserOnlineUntil(now, deps.config.KOMMO_USER_WINDOW_SECONDS);
  // Racing heartbeats: one opens the window, the others find it open and extend it.
  for (let attempt = 0; attempt < 3; attempt += 1) {
    if (await deps.kommoUserPresence.extend(key, now, onlineUntilMs)) return 'extended';
    const window: KommoUserWindow = {
      windowId: deps.newId(),
      timerId: deps.newId(),
      openedAtMs: now,
      onlineUntilMs,
      lastSeenAtMs: now,
      ...labels,
    };
    const outcome = await deps.kommoUserPresence.open(key, window, now);
    if (outcome.opened) {
      await announce(deps, key, window, outcome.lapsed);
      return 'went-online';
    }
    const current = await deps.kommoUserPresence.read(key);
    if (current && current.onlineUntilMs > now && !current.announced) {
      // Opened a moment ago by a concurrent heartbeat that is announcing it: the user is online.
      if (now - current.openedAtMs < ANNOUNCING_MS) return 'extended';
      await announce(deps, key, current, undefined);
      if (await deps.kommoUserPresence.extend(key, now, onlineUntilMs)) return 'went-online';
    }
  }
  throw new Error('Kommo user presence window contended beyond retries');
}

/**
 * Sets the timer at the window's end, then queues its online event (after the offline of the window
 * it replaced, when that one ended unreported). The timer first: the chat service never hears of a
 * window that nothing would end.
 */
async function announce(
  deps: KommoUserPresenceDeps,
  key: KommoUserPresenceKey,
  window: KommoUserWindow,
  lapsed: KommoUserWindow | undefined,
): Promise<void> {
  await scheduleWindowEnd(deps, key, window.windowId, window.timerId, window.onlineUntilMs);
  // The window before ended without its timer having run yet (it is due, not lost): its offline comes first.
  if (lapsed) await emitTransition(deps, key, 'offline', lapsed, lapsed.onlineUntilMs);
  await emitTransition(deps, key, 'online', window, window.openedAtMs);
  await deps.kommoUserPresence.markAnnounced(key, window.windowId);
}

/**
 * The widget says the user left the conversation: an open window ends now. The event is queued
 * before the window is removed, so a failure leaves the window open for the retry (or the timer)
 * to end, under the same event id.
 */
export async function kommoUserLeft(
  deps: KommoUserPresenceDeps,
  key: KommoUserPresenceKey,
): Promise<'went-offline' | 'already-offline'> {
  const now = deps.clock.now();
  const window = await deps.kommoUserPresence.read(key);
  // A window that already ended is the timer's to report, with the time it ended.
  if (!window || window.onlineUntilMs <= now) return 'already-offline';
  await emitTransition(deps, key, 'offline', window, now);
  await deps.kommoUserPresence.close(key, window.windowId);
  return 'went-offline';
}

/**
 * The timer at a window's end: the user went offline then unless heartbeats extended the window
 * (then it waits for the new end) or the window is no longer there (the user left, or a later
 * window with its own timer replaced it).
 *
 * The window names its one timer chain, and only that timer acts, by the rule client presence's
 * timers follow (`presenceDeadline`): checked before queueing, so a timer the window does not name
 * (a copy delivered after the chain moved on, the stray next timer of a copy that lost the hand-on)
 * ends without queueing; queued before handed on by a conditional write, so copies of the named
 * timer that run together queue one next timer each but only one becomes the chain, and a crash in
 * between leaves this timer named, for SQS to deliver again.
 */
export async function kommoUserWindowEnd(
  deps: KommoUserPresenceDeps,
  key: KommoUserPresenceKey,
  windowId: string,
  timerId?: string,
): Promise<'went-offline' | 'extended' | 'gone' | 'duplicate'> {
  const window = await deps.kommoUserPresence.read(key);
  if (!window || window.windowId !== windowId) return 'gone';
  // A window written before windows named their timer is adopted by the first timer to hand it on.
  if (window.timerId !== undefined && window.timerId !== timerId) return 'duplicate';
  if (window.onlineUntilMs > deps.clock.now()) {
    const next = deps.newId();
    await scheduleWindowEnd(deps, key, window.windowId, next, window.onlineUntilMs);
    return (await deps.kommoUserPresence.passTimerOn(key, window.windowId, window.timerId, next))
      ? 'extended'
      : 'duplicate';
  }
  // The event before the removal: if removing fails, the redelivered timer sends the same event id again.
  await emitTransition(deps, key, 'offline', window, window.onlineUntilMs);
  await deps.kommoUserPresence.close(key, window.windowId);
  return 'went-offline';
}

async function emitTransition(
  deps: KommoUserPresenceDeps,
  key: KommoUserPresenceKey,
  state: KommoUserPresenceState,
  window: KommoUserWindow,
  atMs: number,
) {
  await emitEvent(deps, 'presence.changed', kommoUserPresenceData(key, state, atMs, window), {
    id: kommoUserPresenceEventId(state, key, window),
  });
  deps.log.info('Kommo user presence changed', { scopeId: key.scopeId, userId: key.userId, state });
}

/** SQS delays stop at 900 s; the 90-s window fits, the cap keeps that true if the window ever grows. */
async function scheduleWindowEnd(
  deps: KommoUserPresenceDeps,
  key: KommoUserPresenceKey,
  windowId: string,
  timerId: string | undefined,
  deadlineMs: number,
): Promise<void> {
  await deps.queues.timers.send(
    { kind: 'kommo-user-presence-expiry', ...key, windowId, deadlineMs, ...(timerId === undefined ? {} : { timerId }) },
    { delaySeconds: Math.min(900, secondsUntil(deadlineMs, deps.clock.now())) },
  );
}
