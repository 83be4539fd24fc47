import { lambdaEntry } from '../core/wiring';
import { createKommoInstallHandler } from './handler';

export const handler = lambdaEntry(createKommoInstallHandler);
