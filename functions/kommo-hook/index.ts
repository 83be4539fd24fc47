import { lambdaEntry } from '../core/wiring';
import { createKommoHookHandler } from './handler';

export const handler = lambdaEntry(createKommoHookHandler);
