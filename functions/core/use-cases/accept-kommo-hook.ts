import { requireSettings } from '../config';
import { verifyKommoHookSignature } from '../domain/amojo-signature';
import { invalid, unauthenticated } from '../domain/errors';
import { classifyHook, hookAccountId } from '../domain/kommo-hooks';
import { parseScope } from '../domain/scope';
import type { BridgeDeps, QueuesOf } from '../deps';

export interface IncomingKommoHook {
  scopeId: string | undefined;
  rawBody: Buffer;
  signature: string | undefined;
}

/** Kommo's `expired_at` is start + 5 s; an hour leaves room for clock skew and refuses nonsense (or dates no Date can hold). */
const MAX_TYPING_AHEAD_MS = 60 * 60 * 1000;

export type HookIntake = { outcome: 'accepted'; kind: string } | { outcome: 'dropped'; reason: string };

export type AcceptKommoHookDeps = Pick<BridgeDeps, 'config' | 'clock' | 'metrics' | 'log'> & QueuesOf<'hooks'>;

/**
 * Kommo waits at most 5 s for a 200 and never retries a hook, so the intake only verifies, validates
 * and queues; everything slow happens in the hook worker after the answer. Any refusal happens before
 * the queue, so a refused hook leaves no trace.
 */
export async function acceptKommoHook(deps: AcceptKommoHookDeps, incoming: IncomingKommoHook): Promise<HookIntake> {
  const scope = parseScope(
    incoming.scopeId,
    requireSettings(deps.config, ['KOMMO_CHANNEL_ID'], 'Kommo hooks').KOMMO_CHANNEL_ID,
  );
  const { signature } = incoming;
  if (
    signature === undefined ||
    !verifyKommoHookSignature(
      incoming.rawBody,
      signature,
      requireSettings(deps.config, ['KOMMO_CHANNEL_SECRET'], 'Kommo hooks').KOMMO_CHANNEL_SECRET,
    )
  ) {
    deps.metrics.count('KommoHookRejected');
    throw unauthenticated(
      signature ? 'invalid_signature' : 'missing_signature',
      'X-Signature must be the HMAC-SHA1 of the raw body with the channel secret',
    );
  }
  let body: unknown;
  try {
    body = JSON.parse(incoming.rawBody.toString('utf8'));
  } catch {
    throw invalid('invalid_json', 'The hook body must be valid JSON');
  }
  const classified = classifyHook(body);
  if (!classified.success) {
    const issue = classified.error.issues[0];
    throw invalid(
      'invalid_hook',
      `${issue?.path.map(String).join('.') || 'body'}: ${issue?.message ?? 'not a Kommo hook'}`,
    );
  }
  const hook = classified.data;
  if (hookAccountId(hook) !== scope.accountId) {
    throw invalid('account_mismatch', 'account_id in the hook does not match the account of scope_id');
  }
  const now = deps.clock.now();
  if (hook.kind === 'typing' && hook.hook.action.typing.expired_at * 1000 > now + MAX_TYPING_AHEAD_MS) {
    throw invalid(
      'invalid_hook',
      'action.typing.expired_at: Kommo sets it 5 s after the typing started; this one is more than an hour ahead',
    );
  }
  if (hook.kind === 'typing' && hook.hook.action.typing.expired_at * 1000 <= now) {
    deps.log.debug('typing hook already expired; dropped', { scopeId: scope.scopeId });
    return { outcome: 'dropped', reason: 'expired' };
  }
  await deps.queues.hooks.send({
    scopeId: scope.scopeId,
    accountId: scope.accountId,
    receivedAtMs: now,
    signature,
    rawBody: incoming.rawBody.toString('base64'),
    attempt: 1,
  });
  deps.metrics.count('KommoHookAccepted');
  return { outcome: 'accepted', kind: hook.kind };
}
