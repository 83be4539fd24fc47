import { lambdaEntry } from '../core/wiring';
import { createEventDispatcherHandler } from './handler';

export const handler = lambdaEntry(createEventDispatcherHandler);
