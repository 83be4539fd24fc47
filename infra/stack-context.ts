import { functions, type FunctionName } from '../functions/manifest';
import {
  defaultApiThrottle,
  defaultLiveChannelThrottle,
  type ApiThrottleSettings,
  type BridgeStackProps,
} from './bridge-stack';

/** What `cdk … -c key=value` gave, by key (CDK context: strings from the command line, any JSON from cdk.json). */
export type ContextReader = (key: string) => unknown;

export type StackPropsFromContext = Pick<
  BridgeStackProps,
  | 'customDomain'
  | 'apiThrottle'
  | 'liveChannelThrottle'
  | 'consumerMaxConcurrency'
  | 'reservedConcurrency'
  | 'tableMaxThroughput'
  | 'tableProvisionedCapacity'
>;

/**
 * The stack props an operator sets with `-c` (README, docs/deploy-and-operate.md): an optional custom
 * domain, and the limits (the defaults carry 100 accounts). A value that cannot be what it names stops
 * the synth with a message naming the key, so a typo never deploys a default silently.
 *
 * - `-c domainName=bridge.example.com -c certificateArn=arn:aws:acm:…` (and `-c liveDomainName=…` for the
 *   live channel), so the URLs registered with Kommo survive a replacement of the API;
 * - `-c apiRateLimit=1500 -c apiBurstLimit=3000`, `-c liveRateLimit=… -c liveBurstLimit=…`,
 *   `-c consumerMaxConcurrency=200`, `-c tableMaxReadRequestUnits=… -c tableMaxWriteRequestUnits=…`,
 *   `-c reservedConcurrency=event-dispatcher=200,kommo-hook=100`, and provisioned capacity instead of
 *   on-demand with `-c tableProvisionedRead=100-3000 -c tableProvisionedWrite=200-8000` (min-max units,
 *   optionally `-c tableTargetUtilization=70`).
 */
export function stackPropsFromContext(read: ContextReader): StackPropsFromContext {
  const context = (key: string): string | undefined => {
    const value = read(key) as string | number | undefined;
    return value === undefined || value === null || value === '' ? undefined : String(value);
  };
  const positiveInteger = (key: string): number | undefined => {
    const value = context(key);
    if (value === undefined) return undefined;
    if (!/^[1-9][0-9]*$/.test(value)) throw new Error(`-c ${key}=${value} must be a positive integer`);
    return Number(value);
  };
  const throttle = (
    rateKey: string,
    burstKey: string,
    fallback: ApiThrottleSettings,
  ): ApiThrottleSettings | undefined => {
    const rateLimit = positiveInteger(rateKey);
    const burstLimit = positiveInteger(burstKey);
    if (rateLimit === undefined && burstLimit === undefined) return undefined;
    // A bucket smaller than one second of the rate turns ordinary clumps of requests into 429s.
    return {
      rateLimit: rateLimit ?? fallback.rateLimit,
      burstLimit: burstLimit ?? Math.max(fallback.burstLimit, rateLimit ?? 0),
    };
  };
  const reservedConcurrency = (): Partial<Record<FunctionName, number>> | undefined => {
    const value = context('reservedConcurrency');
    if (value === undefined) return undefined;
    const names = new Set<string>(functions.map((spec) => spec.name));
    const reserved: Partial<Record<FunctionName, number>> = {};
    for (const entry of value.split(',')) {
      const [name, count] = entry.split('=');
      if (!name || !names.has(name) || !count || !/^[1-9][0-9]*$/.test(count)) {
        throw new Error(
          `-c reservedConcurrency takes function=count pairs separated by commas (functions: ${[...names].join(', ')}); got "${entry}"`,
        );
      }
      reserved[name as FunctionName] = Number(count);
    }
    return reserved;
  };

  const domainName = context('domainName');
  const certificateArn = context('certificateArn');
  if ((domainName === undefined) !== (certificateArn === undefined))
    throw new Error('A custom domain needs both -c domainName=… and -c certificateArn=…');
  const liveDomainName = context('liveDomainName');
  const apiThrottle = throttle('apiRateLimit', 'apiBurstLimit', defaultApiThrottle);
  const liveChannelThrottle = throttle('liveRateLimit', 'liveBurstLimit', defaultLiveChannelThrottle);
  const consumerMaxConcurrency = positiveInteger('consumerMaxConcurrency');
  const tableMaxRead = positiveInteger('tableMaxReadRequestUnits');
  const tableMaxWrite = positiveInteger('tableMaxWriteRequestUnits');
  if ((tableMaxRead === undefined) !== (tableMaxWrite === undefined)) {
    throw new Error(
      'A table throughput cap needs both -c tableMaxReadRequestUnits=… and -c tableMaxWriteRequestUnits=…',
    );
  }
  const capacityRange = (key: string): { min: number; max: number } | undefined => {
    const value = context(key);
    if (value === undefined) return undefined;
    const match = /^([1-9][0-9]*)-([1-9][0-9]*)$/.exec(value);
    if (!match || Number(match[2]) < Number(match[1]))
      throw new Error(`-c ${key}=${value} must be min-max units, e.g. 100-3000`);
    return { min: Number(match[1]), max: Number(match[2]) };
  };
  const provisionedRead = capacityRange('tableProvisionedRead');
  const provisionedWrite = capacityRange('tableProvisionedWrite');
  if ((provisionedRead === undefined) !== (provisionedWrite === undefined)) {
    throw new Error(
      'Provisioned capacity needs both -c tableProvisionedRead=min-max and -c tableProvisionedWrite=min-max',
    );
  }
  const targetUtilization = positiveInteger('tableTargetUtilization');
  if (targetUtilization !== undefined && provisionedRead === undefined)
    throw new Error('-c tableTargetUtilization is for provisioned capacity (-c tableProvisionedRead/-Write)');
  const reserved = reservedConcurrency();
  return {
    ...(apiThrottle ? { apiThrottle } : {}),
    ...(liveChannelThrottle ? { liveChannelThrottle } : {}),
    ...(consumerMaxConcurrency ? { consumerMaxConcurrency } : {}),
    ...(tableMaxRead && tableMaxWrite
      ? { tableMaxThroughput: { readRequestUnits: tableMaxRead, writeRequestUnits: tableMaxWrite } }
      : {}),
    ...(reserved ? { reservedConcurrency: reserved } : {}),
    ...(provisionedRead && provisionedWrite
      ? {
          tableProvisionedCapacity: {
            read: provisionedRead,
            write: provisionedWrite,
            ...(targetUtilization ? { targetUtilizationPercent: targetUtilization } : {}),
          },
        }
      : {}),
    ...(domainName && certificateArn
      ? { customDomain: { domainName, certificateArn, ...(liveDomainName ? { liveDomainName } : {}) } }
      : {}),
  };
}
