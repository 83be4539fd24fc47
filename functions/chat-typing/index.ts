import { lambdaEntry } from '../core/wiring';
import { createChatTypingHandler } from './handler';

export const handler = lambdaEntry(createChatTypingHandler);
