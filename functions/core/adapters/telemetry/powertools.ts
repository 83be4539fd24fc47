import { AsyncLocalStorage } from 'node:async_hooks';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics as PowertoolsMetrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Log, MetricName, Metrics } from '../../ports/telemetry';
import { telemetryNames } from './names';

export function powertoolsLog(): Log {
  const logger = new Logger({ serviceName: telemetryNames.serviceName });
  // Batch records run concurrently in one invocation, so their keys live per async flow, not on the logger.
  const scoped = new AsyncLocalStorage<Record<string, string>>();
  const withKeys = (attributes?: Record<string, unknown>) => ({ ...scoped.getStore(), ...attributes });
  return {
    debug: (message, attributes) => logger.debug(message, withKeys(attributes)),
    info: (message, attributes) => logger.info(message, withKeys(attributes)),
    warn: (message, attributes) => logger.warn(message, withKeys(attributes)),
    error: (message, attributes) => logger.error(message, withKeys(attributes)),
    during: async (scope, work) => {
      if (scope.context) {
        // Lambda runs one invocation at a time per environment: the context replaces the previous one,
        // and keys appended during the previous invocation go (what injectLambdaContext's resetKeys does).
        logger.resetKeys();
        logger.addContext(scope.context);
      }
      return scoped.run({ ...scoped.getStore(), ...scope.keys }, work);
    },
  };
}

/** CloudWatch metrics through EMF log lines: no API call, no added latency. */
export function powertoolsMetrics(): Metrics {
  const metrics = new PowertoolsMetrics({
    namespace: telemetryNames.metricsNamespace,
    serviceName: telemetryNames.serviceName,
  });
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
