import type { BridgeDeps } from '../deps';
import type { ReplayClaim, StoredAnswer, WebhookRequest } from '../ports/replay-store';

export type RunOnceDeps = Pick<BridgeDeps, 'replays' | 'clock' | 'log'>;

/** What a finished run leaves for repeats: its answer, or `release` to give the claim back so a retry runs again. */
export type Kept = StoredAnswer | 'release';

export interface RunOnceRules<Result> {
  /** How long the claim, then the recorded answer, binds the id to its request. */
  ttlSeconds: number;
  /** What the run's result leaves for repeats. */
  keep(result: Result): Kept;
  /** What a run that threw leaves for repeats (the error is thrown on after this). */
  keepError(error: unknown): Kept;
  /** The warning logged when the answer cannot be recorded or the claim given back. */
  unrecorded: string;
}

/** How a claimed request went: it ran here, or the claim found the id taken (answered, still running, or bound elsewhere). */
export type RunOnceOutcome<Result> = { state: 'ran'; result: Result } | Exclude<ReplayClaim, { state: 'new' }>;

/**
 * The one claim lifecycle of replay protection (chat-service `webhook-id`s, Kommo install codes): the
 * first request with an id claims it, runs, and records its answer, so a repeat gets that answer
 * again and changes nothing; a run that failed on our side gives the claim back (`release`), so the
 * sender's retry of that same request runs. A repeat while the first still runs, or the id with
 * another request, does not run: the caller answers for those states. As Powertools idempotency does
 * (`makeIdempotent`): claim, run, then answer or release, written once.
 */
export async function runOnce<Result>(
  deps: RunOnceDeps,
  request: WebhookRequest,
  rules: RunOnceRules<Result>,
  run: () => Promise<Result>,
): Promise<RunOnceOutcome<Result>> {
  const claim = await deps.replays.claim(request, deps.clock.now(), rules.ttlSeconds);
  if (claim.state !== 'new') return claim;
  let result: Result;
  try {
    result = await run();
  } catch (error) {
    await settle(deps, request, rules, rules.keepError(error));
    throw error;
  }
  await settle(deps, request, rules, rules.keep(result));
  return { state: 'ran', result };
}

async function settle(deps: RunOnceDeps, request: WebhookRequest, rules: RunOnceRules<unknown>, kept: Kept) {
  try {
    if (kept === 'release') await deps.replays.release(request);
    else await deps.replays.answer(request, kept, deps.clock.now(), rules.ttlSeconds);
  } catch (error) {
    // The request took effect (or failed) as answered; its claim lapses on its own, so a retry runs again.
    deps.log.warn(rules.unrecorded, {
      error: error instanceof Error ? error.message : String(error),
    });
  }
}
