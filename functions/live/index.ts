import { lambdaEntry } from '../core/wiring';
import { createLiveHandler } from './handler';

export const handler = lambdaEntry(createLiveHandler);
