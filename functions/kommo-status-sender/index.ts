import { lambdaEntry } from '../core/wiring';
import { createKommoStatusSenderHandler } from './handler';

export const handler = lambdaEntry(createKommoStatusSenderHandler);
