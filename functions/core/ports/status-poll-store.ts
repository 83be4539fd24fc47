import type { PollEnd, StatusPoll } from '../domain/status-poll';
import type { StatusKey } from './status-store';

/**
 * One item per polled message, naming the one timer that may poll it and queue the next (see
 * `statusPollTimer`). Every change is one conditional write on that name, so of racing hooks only
 * one starts the chain, and of racing copies of a timer only one hands it on.
 */
export interface StatusPollStore {
  /** Starts polling with `poll.timerId` (already queued); false when the message has a live poll item already. */
  start(
    key: StatusKey,
    poll: { timerId: string; startedAtMs: number; endsAtMs: number; expiresAtMs: number },
    nowMs: number,
  ): Promise<boolean>;
  /** The live item; an expired one is absent even if TTL has not deleted it yet. */
  read(key: StatusKey, nowMs: number): Promise<StatusPoll | undefined>;
  /** Moves the chain from `fromTimerId` to `toTimerId` (already queued), with the polls made so far; false when the item no longer names `fromTimerId`. */
  passTimerOn(key: StatusKey, fromTimerId: string, toTimerId: string, pollsMade: number): Promise<boolean>;
  /** Ends the chain `fromTimerId` holds: no timer is named any more; false when it no longer held it. */
  end(key: StatusKey, fromTimerId: string, pollsMade: number, because: PollEnd): Promise<boolean>;
}
