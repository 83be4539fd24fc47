import { lambdaEntry } from '../core/wiring';
import { createChatStatusHandler } from './handler';

export const handler = lambdaEntry(createChatStatusHandler);
