import type { KommoOutcome, StatusRecord, StatusUpdate } from '../domain/delivery-status';

export interface StatusKey {
  scopeId: string;
  msgid: string;
}

export type ApplyOutcome = { applied: boolean; record: StatusRecord };

export type LeaseOutcome =
  | { leased: true; record: StatusRecord }
  /** `absent`: no live record; `up-to-date`: nothing left for Kommo; `held`: another job is sending. */
  | { leased: false; reason: 'absent' | 'up-to-date' | 'held' };

/**
 * Delivery-status records, one per message. Conditional writes decide every race: which update is
 * applied (statuses only move forward), and which sync job may talk to Kommo about a message (the lease).
 * Every write made under a lease names its holder and does nothing once the lease has passed to another.
 */
export interface StatusStore {
  /**
   * Applies the update if it moves the status forward (or no live record exists), appending it to the
   * history: one conditional write, so of any number of racing identical updates exactly one applies.
   * Not applied: the record as it is.
   */
  apply(key: StatusKey, update: StatusUpdate, nowMs: number): Promise<ApplyOutcome>;
  /** The live record; an expired one is absent even if TTL has not deleted it yet. */
  read(key: StatusKey, nowMs: number): Promise<StatusRecord | undefined>;
  /** Compare-and-set of `syncRequestedAtMs`: true when it still was `expectedMs` and is now `nextMs`. */
  setSyncRequestedAt(key: StatusKey, expectedMs: number, nextMs: number): Promise<boolean>;
  /** Takes the record for `owner` until `untilMs` if it has entries for Kommo and no live lease. */
  takeLease(key: StatusKey, owner: string, nowMs: number, untilMs: number): Promise<LeaseOutcome>;
  /** Extends `owner`'s lease to `untilMs`; false when another job holds it now (or the record is gone). */
  renewLease(key: StatusKey, owner: string, untilMs: number): Promise<boolean>;
  /** Records a failed call for entry `seq`; false when `owner` lost the lease. */
  recordFailedAttempt(
    key: StatusKey,
    owner: string,
    seq: number,
    failure: { attempts: number; lastError: string },
  ): Promise<boolean>;
  /** Sets entry `seq`'s backoff and gives the lease up; false when `owner` had lost it. */
  postpone(key: StatusKey, owner: string, seq: number, nextAttemptAtMs: number): Promise<boolean>;
  /**
   * Settles entry `seq` (the next one for Kommo) and moves past it. Returns the record as it is now,
   * with any update applied meanwhile, or `undefined` when `owner` lost the lease. `releaseIfLatest`:
   * when `seq` is still the latest entry, the same write gives the lease up (the record then has no
   * `leaseUntilMs`); when a newer one arrived meanwhile, the lease is kept for it.
   */
  settle(
    key: StatusKey,
    owner: string,
    seq: number,
    settlement: { outcome: KommoOutcome; attempts: number; lastError?: string },
    options?: { releaseIfLatest?: boolean },
  ): Promise<StatusRecord | undefined>;
  /** Gives the lease up if `owner` still holds it. */
  releaseLease(key: StatusKey, owner: string): Promise<void>;
  /**
   * After an operator redrove a dead letter: if the current (latest) update was settled as refused or
   * dead-lettered, it becomes unsent again with a fresh attempt count. Only the latest one, so Kommo
   * never receives an older status after a newer one. True when it reopened something.
   */
  reopenLatestUndelivered(key: StatusKey, nowMs: number): Promise<boolean>;
}
