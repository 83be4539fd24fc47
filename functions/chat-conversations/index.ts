import { lambdaEntry } from '../core/wiring';
import { createChatConversationsHandler } from './handler';

export const handler = lambdaEntry(createChatConversationsHandler);
