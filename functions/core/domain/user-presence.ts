import { createHash } from 'node:crypto';

/**
 * A Kommo user online in the interface (docs/contract.md, "v3 changes"): Kommo open in a visible tab,
 * any page, as the widget's live connection reports it. Transitions only.
 */

/** After the last visible tab closes or hides, the user goes offline this long later (a reload or a quick tab switch does not flap). */
export const USER_OFFLINE_GRACE_MS = 15_000;
/**
 * A visible connection that sends no frame for this long vanished with its browser: the deployment's
 * Kommo-user window (`KOMMO_USER_WINDOW_SECONDS`, 90 s by default, three of the widget's 30-s pings).
 */
export const userConnectionSilentMs = (config: { KOMMO_USER_WINDOW_SECONDS: number }): number =>
  config.KOMMO_USER_WINDOW_SECONDS * 1000;
/** A check scheduled this long ago that never ran is taken as lost, so the next frame schedules a new one. */
export const USER_CHECK_LOST_AFTER_MS = 60_000;
/** How long the item outlives its last change: garbage only; no decision ever waits for TTL. */
export const USER_PRESENCE_RETENTION_MS = 24 * 60 * 60 * 1000;

export type UserPresenceState = 'online' | 'offline';

/** What a check decides, given the visible connections (each live until its time) and the last hide. */
export type UserPresenceVerdict = { kind: 'online'; checkAtMs: number } | { kind: 'offline' };

/**
 * Pure: online while a visible connection is live (check again when the first would lapse) or while
 * the grace after the last hide runs (check again at its end); offline otherwise.
 */
export function userPresenceVerdict(
  visibleUntilMs: readonly number[],
  hiddenAtMs: number | undefined,
  nowMs: number,
): UserPresenceVerdict {
  const live = visibleUntilMs.filter((until) => until > nowMs);
  if (live.length > 0) return { kind: 'online', checkAtMs: Math.min(...live) };
  if (hiddenAtMs !== undefined && hiddenAtMs + USER_OFFLINE_GRACE_MS > nowMs) {
    return { kind: 'online', checkAtMs: hiddenAtMs + USER_OFFLINE_GRACE_MS };
  }
  return { kind: 'offline' };
}

/** Event ids derive from the online period, so a retried transition keeps its `webhook-id`. */
export function userPresenceEventId(
  state: UserPresenceState,
  scopeId: string,
  kommoUserId: number,
  periodId: string,
): string {
  const digest = createHash('sha256')
    .update(['user', state, scopeId, String(kommoUserId), periodId].join('\n'))
    .digest('hex');
  return `evt_usr_${digest.slice(0, 32)}`;
}
