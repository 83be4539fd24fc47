import { lambdaEntry } from '../core/wiring';
import { createTimerWorkerHandler } from './handler';

export const handler = lambdaEntry(createTimerWorkerHandler);
