import { lambdaEntry } from '../core/wiring';
import { createWidgetHandler } from './handler';

export const handler = lambdaEntry(createWidgetHandler);
