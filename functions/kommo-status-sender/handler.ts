import { queueHandler, type QueueConsumerDeps } from '../core/queue-consumer';
import { statusSyncJobSchema } from '../core/queue-messages';
import { syncDeliveryStatus, type DeliveryStatusDeps } from '../core/use-cases/delivery-status';

export type KommoStatusSenderDeps = QueueConsumerDeps & DeliveryStatusDeps;

/** Consumer of the `kommo-status` queue: brings Kommo up to date with a message's status record, in order. */
export const createKommoStatusSenderHandler = (deps: KommoStatusSenderDeps) =>
  queueHandler(deps, {
    queue: deps.queues.kommoStatus,
    schema: statusSyncJobSchema,
    process: (job, _record, { redriven }) => syncDeliveryStatus(deps, job, { redriven }),
  });
