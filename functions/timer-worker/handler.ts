import type { DepsOf } from '../core/deps';
import { queueHandler, type QueueConsumerDeps } from '../core/queue-consumer';
import { timerJobSchema, type TimerJob } from '../core/queue-messages';
import { refreshClientTyping } from '../core/use-cases/client-typing';
import { kommoUserTypingDeadline } from '../core/use-cases/kommo-user-typing';
import { kommoUserWindowEnd } from '../core/use-cases/kommo-user-presence';
import { presenceDeadline } from '../core/use-cases/presence';
import { statusPollTimer } from '../core/use-cases/status-poll';
import { userPresenceCheck } from '../core/use-cases/user-presence';

export type TimerWorkerDeps = QueueConsumerDeps &
  DepsOf<typeof refreshClientTyping> &
  DepsOf<typeof kommoUserTypingDeadline> &
  DepsOf<typeof presenceDeadline> &
  DepsOf<typeof kommoUserWindowEnd> &
  DepsOf<typeof statusPollTimer> &
  DepsOf<typeof userPresenceCheck>;

/** Consumer of the `timers` queue: delayed checks, each deciding with a conditional write. */
export const createTimerWorkerHandler = (deps: TimerWorkerDeps) =>
  queueHandler(deps, { queue: deps.queues.timers, schema: timerJobSchema, process: (job) => runTimer(deps, job) });

function runTimer(deps: TimerWorkerDeps, job: TimerJob): Promise<unknown> {
  switch (job.kind) {
    case 'client-typing-refresh':
      return refreshClientTyping(deps, {
        scopeId: job.scopeId,
        conversationId: job.conversationId,
        senderId: job.senderId,
      });
    case 'manager-typing-expiry':
      return kommoUserTypingDeadline(
        deps,
        { scopeId: job.scopeId, kommoConversationId: job.kommoConversationId, userId: job.userId },
        job.expiresAtMs,
      );
    case 'presence-expiry':
      return presenceDeadline(deps, { scopeId: job.scopeId, clientId: job.clientId }, job.deadlineMs, job.timerId);
    case 'kommo-user-presence-expiry':
      return kommoUserWindowEnd(
        deps,
        { scopeId: job.scopeId, accountId: job.accountId, conversationId: job.conversationId, userId: job.userId },
        job.windowId,
        job.timerId,
      );
    case 'user-presence-check':
      return userPresenceCheck(
        deps,
        { scopeId: job.scopeId, accountId: job.accountId, kommoUserId: job.kommoUserId },
        job.periodId,
        job.dueAtMs,
      );
    case 'status-poll':
      return statusPollTimer(deps, { scopeId: job.scopeId, msgid: job.msgid }, job.timerId, job.dueAtMs);
  }
}
