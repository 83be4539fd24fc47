import { lambdaEntry } from '../core/wiring';
import { createHookWorkerHandler } from './handler';

export const handler = lambdaEntry(createHookWorkerHandler);
