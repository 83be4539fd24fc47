import { userPresenceChangedData } from '../domain/outbound-event';
import { secondsUntil } from '../domain/typing-session';
import {
  USER_CHECK_LOST_AFTER_MS,
  userConnectionSilentMs,
  USER_OFFLINE_GRACE_MS,
  userPresenceEventId,
  userPresenceVerdict,
  type UserPresenceState,
} from '../domain/user-presence';
import type { BridgeDeps, QueuesOf } from '../deps';
import type { UserPresenceKey, UserPresenceRecord } from '../ports/user-presence-store';
import { emitEvent } from './outbound-events';

/**
 * Kommo users online in the interface (docs/contract.md, "v3 changes", `user.presence.changed`).
 * The widget's live connection says whether its tab is visible; per Kommo user the bridge keeps the
 * visible connections, and the user is online while one is (offline 15 s after the last hides or
 * closes, or 90 s after a visible one stops sending frames). Only transitions are events. Time is
 * kept by one chain of checks on the timers queue (DynamoDB TTL is never a clock): the item names
 * the check that is due, and only that one acts.
 */
export type UserPresenceDeps = Pick<BridgeDeps, 'clock' | 'newId' | 'log' | 'userPresence'> & {
  config: Pick<BridgeDeps['config'], 'KOMMO_USER_WINDOW_SECONDS'>;
} & QueuesOf<'timers' | 'events'>;

/** A connection's tab is visible (the `visibility` frame): the user is online, if not already. */
export async function userTabVisible(
  deps: UserPresenceDeps,
  user: UserPresenceKey,
  connectionId: string,
  userAmojoId?: string,
): Promise<'went-online' | 'online'> {
  const now = deps.clock.now();
  const record = await deps.userPresence.setVisible(
    user,
    connectionId,
    now + userConnectionSilentMs(deps.config),
    now,
    userAmojoId,
  );
  return settleOnline(deps, user, record);
}

/**
 * Any frame of a connection (its pings): a visible one stays counted for the window (90 s by default) more. A
 * connection that is not visible is refused by the condition; the live channel does not call this for
 * a connection whose tab it knows is hidden, so a hidden tab's ping writes nothing.
 */
export async function userTabSeen(
  deps: UserPresenceDeps,
  user: UserPresenceKey,
  connectionId: string,
): Promise<'went-online' | 'online' | 'not-visible'> {
  const now = deps.clock.now();
  const record = await deps.userPresence.renewVisible(
    user,
    connectionId,
    now + userConnectionSilentMs(deps.config),
    now,
  );
  if (!record) return 'not-visible';
  return settleOnline(deps, user, record);
}

/** A connection's tab was hidden, or the connection closed: when it was the last visible one, a check in 15 s. */
export async function userTabHidden(
  deps: UserPresenceDeps,
  user: UserPresenceKey,
  connectionId: string,
): Promise<'still-online' | 'offline-soon' | 'not-visible'> {
  const now = deps.clock.now();
  const record = await deps.userPresence.setHidden(user, connectionId, now);
  if (!record) return 'not-visible';
  if (record.state !== 'online' || record.periodId === undefined) return 'offline-soon';
  const verdict = userPresenceVerdict(Object.values(record.visible), record.hiddenAtMs, now);
  if (verdict.kind === 'online' && verdict.checkAtMs > now + USER_OFFLINE_GRACE_MS) return 'still-online';
  // An earlier check than the one pending: the pending one then finds it no longer holds the chain.
  const dueAtMs = now + USER_OFFLINE_GRACE_MS;
  if (await deps.userPresence.moveCheck(user, record.periodId, undefined, dueAtMs, now - USER_CHECK_LOST_AFTER_MS)) {
    await scheduleCheck(deps, user, record.periodId, dueAtMs);
  }
  return 'offline-soon';
}

/**
 * The one pending check of an online period: still a live visible connection, or still within the
 * grace after the last hide, and the chain goes on to the next time that matters; otherwise offline.
 * The next check is queued before the item names it: a crash in between leaves this check named,
 * for SQS to deliver again, and a check the item no longer names ends without queueing anything.
 */
export async function userPresenceCheck(
  deps: UserPresenceDeps,
  user: UserPresenceKey,
  periodId: string,
  dueAtMs: number,
): Promise<'went-offline' | 'still-online' | 'gone' | 'duplicate'> {
  for (let attempt = 0; attempt < 3; attempt += 1) {
    const now = deps.clock.now();
    const record = await deps.userPresence.read(user);
    if (!record || record.periodId !== periodId) return 'gone';
    if (record.state === 'offline') {
      // The period ended but its offline was not queued (a failure after the write): queue it now.
      if (record.offlineSent) return 'gone';
      await emitTransition(deps, user, record, periodId, 'offline', now);
      await deps.userPresence.markOfflineSent(user, periodId);
      return 'went-offline';
    }
    if (record.checkDueAtMs !== dueAtMs) return 'duplicate';
    const verdict = userPresenceVerdict(Object.values(record.visible), record.hiddenAtMs, now);
    if (verdict.kind === 'online') {
      await scheduleCheck(deps, user, periodId, verdict.checkAtMs);
      const moved = await deps.userPresence.moveCheck(user, periodId, dueAtMs, verdict.checkAtMs, 0);
      return moved ? 'still-online' : 'duplicate';
    }
    if (await deps.userPresence.goOffline(user, periodId, record.version, now)) {
      await emitTransition(deps, user, record, periodId, 'offline', now);
      await deps.userPresence.markOfflineSent(user, periodId);
      return 'went-offline';
    }
    // A connection became visible (or hid) since the read: decide again on what is there now.
  }
  throw new Error('Kommo user interface presence contended beyond retries');
}

/** After a visible connection's write: offline → online is a transition (once, by a conditional write); a lost check is replaced. */
async function settleOnline(
  deps: UserPresenceDeps,
  user: UserPresenceKey,
  record: UserPresenceRecord,
): Promise<'went-online' | 'online'> {
  const now = deps.clock.now();
  const dueAtMs = now + userConnectionSilentMs(deps.config);
  if (record.state === 'online' && record.periodId !== undefined) {
    const lostBeforeMs = now - USER_CHECK_LOST_AFTER_MS;
    if (record.checkDueAtMs === undefined || record.checkDueAtMs < lostBeforeMs) {
      if (await deps.userPresence.moveCheck(user, record.periodId, undefined, dueAtMs, lostBeforeMs)) {
        await scheduleCheck(deps, user, record.periodId, dueAtMs);
      }
    }
    return 'online';
  }
  const periodId = deps.newId();
  if (!(await deps.userPresence.goOnline(user, periodId, dueAtMs, now))) return 'online';
  // The check first: the chat service never hears of an online period that nothing would end.
  await scheduleCheck(deps, user, periodId, dueAtMs);
  await emitTransition(deps, user, record, periodId, 'online', now);
  return 'went-online';
}

async function emitTransition(
  deps: UserPresenceDeps,
  user: UserPresenceKey,
  record: UserPresenceRecord,
  periodId: string,
  state: UserPresenceState,
  atMs: number,
): Promise<void> {
  await emitEvent(
    deps,
    'user.presence.changed',
    userPresenceChangedData(
      { scope_id: user.scopeId, account_id: user.accountId },
      {
        kommoUserId: user.kommoUserId,
        ...(record.userAmojoId === undefined ? {} : { userAmojoId: record.userAmojoId }),
      },
      state,
      atMs,
    ),
    { id: userPresenceEventId(state, user.scopeId, user.kommoUserId, periodId) },
  );
  deps.log.info('Kommo user presence in the interface changed', {
    scopeId: user.scopeId,
    kommoUserId: user.kommoUserId,
    state,
  });
}

/** SQS delays stop at 900 s; every check here is at most 90 s ahead. */
async function scheduleCheck(
  deps: UserPresenceDeps,
  user: UserPresenceKey,
  periodId: string,
  dueAtMs: number,
): Promise<void> {
  await deps.queues.timers.send(
    { kind: 'user-presence-check', ...user, periodId, dueAtMs },
    { delaySeconds: Math.min(900, secondsUntil(dueAtMs, deps.clock.now())) },
  );
}
