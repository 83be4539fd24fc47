import { lambdaEntry } from '../core/wiring';
import { createChatPresenceHandler } from './handler';

export const handler = lambdaEntry(createChatPresenceHandler);
