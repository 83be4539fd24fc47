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
  let coldStart = true;
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
        // The request id and cold start only, not Powertools' whole context (`addContext`): each function
        // writes to a log group of its own, so its name, ARN and memory size on every line would say
        // again what the log group says, at about 200 bytes a line (docs/cost-model.md, "Logs").
        logger.appendKeys({ function_request_id: scope.context.awsRequestId, cold_start: coldStart });
        coldStart = false;
        // DEBUG for a sampled share of invocations (POWERTOOLS_LOGGER_SAMPLE_RATE, the stack's
        // `debugLogSampleRate`), drawn again for each one as injectLambdaContext does.
        logger.refreshSampleRateCalculation();
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
