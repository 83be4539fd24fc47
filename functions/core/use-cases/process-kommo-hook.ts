import { classifyHook } from '../domain/kommo-hooks';
import type { BridgeDeps, QueuesOf } from '../deps';
import { OutboundCallError } from '../ports/outbound';
import type { KommoHookJob } from '../queue-messages';
import { learnFromKommoHook, type ConversationDirectoryDeps } from './conversation-directory';
import { kommoUserTypingHook, type KommoUserTypingDeps } from './kommo-user-typing';
import { retryOrDeadLetter, type RetryDeps } from './retry-or-dead-letter';
import { startStatusPoll, type StatusPollStartDeps } from './status-poll';

export type ProcessKommoHookDeps = ConversationDirectoryDeps &
  KommoUserTypingDeps &
  StatusPollStartDeps &
  RetryDeps &
  Pick<BridgeDeps, 'hookForwarder' | 'metrics'> &
  QueuesOf<'hooks'>;

/**
 * Work on a hook after Kommo got its 200: typing hooks become events for the chat service; every
 * other hook is forwarded unchanged to `KOMMO_HOOK_FORWARD_URL` (with retries) when it is set.
 */
export async function processKommoHook(
  deps: ProcessKommoHookDeps,
  job: KommoHookJob,
): Promise<'typing' | 'forwarded' | 'acknowledged' | 'retrying' | 'dead-lettered'> {
  const rawBody = Buffer.from(job.rawBody, 'base64');
  const hook: unknown = JSON.parse(rawBody.toString('utf8'));
  const classified = classifyHook(hook);
  if (!classified.success) throw new Error('a queued hook no longer parses; the intake validated it');
  // First, so that the widget finds the chat by the time the chat service hears of the hook; never fails the hook.
  await learnFromKommoHook(deps, job.scopeId, hook);
  if (classified.data.kind === 'typing') {
    await kommoUserTypingHook(deps, job.scopeId, classified.data.hook);
    return 'typing';
  }
  // An outgoing message: its delivery status is polled from the chat service when CHAT_SERVICE_STATUS_URL is set.
  // Before the forward, whose failure re-queues the hook: the repeat finds the poll started and starts no other.
  if (classified.data.kind === 'message')
    await startStatusPoll(deps, { scopeId: job.scopeId, receivedAtMs: job.receivedAtMs, body: hook });
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
