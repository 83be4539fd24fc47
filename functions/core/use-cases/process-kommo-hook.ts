import { classifyHook } from '../domain/kommo-hooks';
import type { BridgeDeps } from '../deps';
import { OutboundCallError } from '../ports/outbound';
import type { KommoHookJob } from '../queue-messages';
import { managerTypingHook } from './manager-typing';
import { retryOrDeadLetter } from './retry-or-dead-letter';

/**
 * Work on a hook after Kommo got its 200: typing hooks become events for the chat service; every
 * other hook is forwarded unchanged to `KOMMO_HOOK_FORWARD_URL` (with retries) when it is set.
 */
export async function processKommoHook(deps: BridgeDeps, job: KommoHookJob): Promise<'typing' | 'forwarded' | 'acknowledged' | 'retrying' | 'dead-lettered'> {
  const rawBody = Buffer.from(job.rawBody, 'base64');
  const classified = classifyHook(JSON.parse(rawBody.toString('utf8')));
  if (!classified.success) throw new Error('a queued hook no longer parses; the intake validated it');
  if (classified.data.kind === 'typing') {
    await managerTypingHook(deps, job.scopeId, classified.data.hook);
    return 'typing';
  }
  if (!deps.hookForwarder.enabled) return 'acknowledged';
  try {
    await deps.hookForwarder.forward({ scopeId: job.scopeId, rawBody, signature: job.signature });
  } catch (error) {
    if (!(error instanceof OutboundCallError)) throw error;
    return (await retryOrDeadLetter(deps, deps.queues.hooks, job, error)).outcome;
  }
  deps.metrics.count('HookForwarded');
  return 'forwarded';
}
