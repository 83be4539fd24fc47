import { powertoolsLog, powertoolsMetrics } from '../core/adapters/telemetry/powertools';
import { createNotFoundHandler } from './handler';

// Needs no settings and no secret: it only answers 404/405.
export const handler = createNotFoundHandler({ log: powertoolsLog(), metrics: powertoolsMetrics() });
