import type { UserPresenceState } from '../domain/user-presence';

/** A Kommo user of a scope, as the widget's live connection names them. */
export interface UserPresenceKey {
  scopeId: string;
  /** The scope's account (amojo id), for the events. */
  accountId: string;
  kommoUserId: number;
}

/** One item per Kommo user: their visible connections and where their online state stands. */
export interface UserPresenceRecord {
  state: UserPresenceState;
  /** The current (or last) online period: its events' ids and its checks derive from it. */
  periodId?: string;
  /** Connection id → until when it counts as visible without another frame. */
  visible: Record<string, number>;
  /** When the last visible connection hid or closed. */
  hiddenAtMs?: number;
  /** Bumped by every change to `visible`: the offline write is conditional on it. */
  version: number;
  /** When the one pending check is due. */
  checkDueAtMs?: number;
  /** Whether the offline of the period was queued (a check redelivered after a failed send sends it again). */
  offlineSent: boolean;
  userAmojoId?: string;
}

export interface UserPresenceStore {
  read(key: UserPresenceKey): Promise<UserPresenceRecord | undefined>;
  /** Marks a connection visible until `untilMs`; answers the record after the write. */
  setVisible(
    key: UserPresenceKey,
    connectionId: string,
    untilMs: number,
    nowMs: number,
    userAmojoId?: string,
  ): Promise<UserPresenceRecord>;
  /** Renews a connection that is visible; undefined (and nothing written) when it is not. */
  renewVisible(
    key: UserPresenceKey,
    connectionId: string,
    untilMs: number,
    nowMs: number,
  ): Promise<UserPresenceRecord | undefined>;
  /** The connection hid or closed; answers the record after, or undefined when it was not visible. */
  setHidden(key: UserPresenceKey, connectionId: string, nowMs: number): Promise<UserPresenceRecord | undefined>;
  /** Offline → online with a new period, its first check due at `checkDueAtMs`; false when already online. */
  goOnline(key: UserPresenceKey, periodId: string, checkDueAtMs: number, nowMs: number): Promise<boolean>;
  /** Online → offline, only if the period and `version` are still the ones read; false otherwise. */
  goOffline(key: UserPresenceKey, periodId: string, version: number, nowMs: number): Promise<boolean>;
  /** The offline of the period was queued. */
  markOfflineSent(key: UserPresenceKey, periodId: string): Promise<void>;
  /**
   * Moves the pending check of the period from `fromDueAtMs` (undefined: a check lost, due before
   * `lostBeforeMs`, or an earlier one wanted) to `toDueAtMs`; false when another check holds it.
   */
  moveCheck(
    key: UserPresenceKey,
    periodId: string,
    fromDueAtMs: number | undefined,
    toDueAtMs: number,
    lostBeforeMs: number,
  ): Promise<boolean>;
}
