/**
 * The names the functions log and publish metrics under (Powertools: EMF under the namespace, with a
 * `service` dimension equal to the service name). The stack sets them in every function's environment
 * and its alarms and dashboard read metrics by them, so they are defined here once, for both.
 */
export const telemetryNames = {
  serviceName: 'kommo-live-bridge',
  metricsNamespace: 'KommoLiveBridge',
} as const;
