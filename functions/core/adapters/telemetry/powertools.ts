import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics as PowertoolsMetrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Log, MetricName, Metrics } from '../../ports/telemetry';

/** Service name and metric namespace; the CDK stack's Kommo-403 alarm reads the same pair. */
export const SERVICE_NAME = 'kommo-live-bridge';
export const METRICS_NAMESPACE = 'KommoLiveBridge';

export function powertoolsLog(): Log {
  const logger = new Logger({ serviceName: SERVICE_NAME });
  return {
    debug: (message, attributes) => logger.debug(message, attributes ?? {}),
    info: (message, attributes) => logger.info(message, attributes ?? {}),
    warn: (message, attributes) => logger.warn(message, attributes ?? {}),
    error: (message, attributes) => logger.error(message, attributes ?? {}),
  };
}

/** CloudWatch metrics through EMF log lines: no API call, no added latency. */
export function powertoolsMetrics(): Metrics {
  const metrics = new PowertoolsMetrics({ namespace: METRICS_NAMESPACE, serviceName: SERVICE_NAME });
  let pending = false;
  return {
    count: (name: MetricName, value = 1) => {
      metrics.addMetric(name, MetricUnit.Count, value);
      pending = true;
    },
    flush: () => {
      if (!pending) return;
      pending = false;
      metrics.publishStoredMetrics();
    },
  };
}
