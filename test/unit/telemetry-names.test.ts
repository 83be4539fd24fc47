import { afterEach, describe, expect, it, vi } from 'vitest';
import { telemetryNames } from '../../functions/core/adapters/telemetry/names';
import { powertoolsMetrics } from '../../functions/core/adapters/telemetry/powertools';
import { powertoolsEnvironment } from '../../infra/constructs/bridge-function';
import { bridgeMetric } from '../../infra/constructs/observability';

/** Every line the code under test writes to stdout while `act` runs. */
function stdoutLinesOf(act: () => void): string[] {
  const written: string[] = [];
  const write = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    written.push(String(chunk));
    return true;
  });
  try {
    act();
  } finally {
    write.mockRestore();
  }
  return written.join('').split('\n').filter(Boolean);
}

afterEach(() => vi.restoreAllMocks());

describe('telemetry names: one pair for the functions and the stack', () => {
  it('the functions publish metrics under the namespace, with the service as dimension', () => {
    // Prepare
    const metrics = powertoolsMetrics();

    // Act
    const lines = stdoutLinesOf(() => {
      metrics.count('KommoCallForbidden');
      metrics.flush?.();
    });

    // Assess: one EMF line, read the way CloudWatch reads it.
    const emf = lines.map((line) => JSON.parse(line) as Record<string, unknown>).find((line) => '_aws' in line);
    expect(emf).toMatchObject({
      _aws: { CloudWatchMetrics: [{ Namespace: 'KommoLiveBridge', Dimensions: [['service']] }] },
      service: 'kommo-live-bridge',
      KommoCallForbidden: 1,
    });
  });

  it("the stack gives every function the same names, and its alarms and dashboard read the functions' metrics by them", () => {
    // Act
    const metric = bridgeMetric('KommoCallForbidden');

    // Assess
    expect(powertoolsEnvironment).toMatchObject({
      POWERTOOLS_SERVICE_NAME: telemetryNames.serviceName,
      POWERTOOLS_METRICS_NAMESPACE: telemetryNames.metricsNamespace,
    });
    expect(metric.namespace).toBe(telemetryNames.metricsNamespace);
    expect(metric.dimensions).toEqual({ service: telemetryNames.serviceName });
    expect(telemetryNames).toEqual({ serviceName: 'kommo-live-bridge', metricsNamespace: 'KommoLiveBridge' });
  });
});
