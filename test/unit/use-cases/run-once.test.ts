import { describe, expect, it } from 'vitest';
import type { ReplayStore, StoredAnswer, WebhookRequest } from '../../../functions/core/ports/replay-store';
import { runOnce, type RunOnceRules } from '../../../functions/core/use-cases/run-once';
import { InMemoryReplayStore } from '../../support/fakes/replay-store';
import { baseDeps } from '../../support/fakes/unit-deps';

const request: WebhookRequest = { webhookId: 'msg_1', fingerprint: 'request-a' };

/** Keeps every answer below 500; releases the claim of a 5xx and of any run that threw. */
const rules: RunOnceRules<StoredAnswer> = {
  ttlSeconds: 60,
  keep: (answer) => (answer.statusCode < 500 ? answer : 'release'),
  keepError: () => 'release',
  unrecorded: 'could not record the answer for a test request',
};

function givenReplays(replays: ReplayStore = new InMemoryReplayStore()) {
  const deps = { ...baseDeps(), replays };
  let runs = 0;
  const runAnswering = (answer: StoredAnswer) => async () => {
    runs += 1;
    return answer;
  };
  return { deps, runAnswering, runs: () => runs };
}

describe('runOnce: claim, run, then record the answer or give the claim back', () => {
  it('runs the first request, and answers its repeat with the recorded answer without running again', async () => {
    const { deps, runAnswering, runs } = givenReplays();
    const first = await runOnce(deps, request, rules, runAnswering({ statusCode: 202, body: '{"ok":true}' }));
    const repeat = await runOnce(deps, request, rules, runAnswering({ statusCode: 202, body: '{"other":1}' }));

    expect(first).toEqual({ state: 'ran', result: { statusCode: 202, body: '{"ok":true}' } });
    expect(repeat).toEqual({ state: 'answered', answer: { statusCode: 202, body: '{"ok":true}' } });
    expect(runs()).toBe(1);
  });

  it('refuses the id with another request, and a repeat while the first still runs, without running either', async () => {
    const { deps, runAnswering, runs } = givenReplays();
    let during: unknown[] = [];
    await runOnce(deps, request, rules, async () => {
      during = [
        await runOnce(deps, request, rules, runAnswering({ statusCode: 200, body: '' })),
        await runOnce(
          deps,
          { ...request, fingerprint: 'request-b' },
          rules,
          runAnswering({ statusCode: 200, body: '' }),
        ),
      ];
      return { statusCode: 200, body: '{}' };
    });

    expect(during).toEqual([{ state: 'in_progress' }, { state: 'used_elsewhere' }]);
    expect(runs()).toBe(0);
  });

  it('gives the claim back when the rules say so: the retry of a 5xx runs again', async () => {
    const { deps, runAnswering, runs } = givenReplays();
    await runOnce(deps, request, rules, runAnswering({ statusCode: 503, body: '{}' }));
    const retry = await runOnce(deps, request, rules, runAnswering({ statusCode: 200, body: '{"ok":true}' }));

    expect(retry).toEqual({ state: 'ran', result: { statusCode: 200, body: '{"ok":true}' } });
    expect(runs()).toBe(2);
  });

  it('throws on what the run threw, after keeping what the rules say: released, so the retry runs', async () => {
    const { deps, runAnswering } = givenReplays();
    const failing = runOnce(deps, request, rules, async () => {
      throw new Error('store down');
    });
    await expect(failing).rejects.toThrow('store down');

    const retry = await runOnce(deps, request, rules, runAnswering({ statusCode: 200, body: '{}' }));
    expect(retry.state).toBe('ran');
  });

  it('keeps the answer of a run that threw when the rules give one: its repeat gets it', async () => {
    const { deps, runAnswering } = givenReplays();
    const keepRefusal = { ...rules, keepError: () => ({ statusCode: 400, body: '{"error":"refused"}' }) };
    await expect(
      runOnce(deps, request, keepRefusal, async () => {
        throw new Error('refused');
      }),
    ).rejects.toThrow('refused');

    const repeat = await runOnce(deps, request, keepRefusal, runAnswering({ statusCode: 200, body: '{}' }));
    expect(repeat).toEqual({ state: 'answered', answer: { statusCode: 400, body: '{"error":"refused"}' } });
  });

  it('answers truly when the answer cannot be recorded, and logs a warning', async () => {
    const store = new InMemoryReplayStore();
    const unrecordable: ReplayStore = {
      claim: (...args) => store.claim(...args),
      answer: async () => {
        throw new Error('throttled');
      },
      release: (...args) => store.release(...args),
    };
    const { deps, runAnswering } = givenReplays(unrecordable);
    const outcome = await runOnce(deps, request, rules, runAnswering({ statusCode: 202, body: '{"ok":true}' }));

    expect(outcome).toEqual({ state: 'ran', result: { statusCode: 202, body: '{"ok":true}' } });
    expect(deps.log.lines).toContainEqual(
      expect.objectContaining({
        level: 'warn',
        message: 'could not record the answer for a test request',
        attributes: { error: 'throttled' },
      }),
    );
  });
});
