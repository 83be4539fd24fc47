import { lambdaEntry } from '../core/wiring';
import { createAdminHandler } from './handler';

export const handler = lambdaEntry(createAdminHandler);
