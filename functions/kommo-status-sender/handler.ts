import type { BridgeDeps } from '../core/deps';
import { queueHandler } from '../core/queue-consumer';
import { statusSyncJobSchema } from '../core/queue-messages';
import { syncDeliveryStatus } from '../core/use-cases/delivery-status';

/** Consumer of the `kommo-status` queue: brings Kommo up to date with a message's status record, in order. */
export const createKommoStatusSenderHandler = (deps: BridgeDeps) =>
  queueHandler(deps, {
    queue: deps.queues.kommoStatus,
    schema: statusSyncJobSchema,
    process: (job, _record, { redriven }) => syncDeliveryStatus(deps, job, { redriven }),
  });
