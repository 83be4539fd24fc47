import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { functions, type FunctionName } from '../functions/manifest';
import { BridgeStack, defaultApiThrottle, defaultLiveChannelThrottle, type ApiThrottleSettings } from './bridge-stack';

const app = new App();

// Optional custom domain: `cdk deploy -c domainName=bridge.example.com -c certificateArn=arn:aws:acm:…`
// (and `-c liveDomainName=live.bridge.example.com` for the live channel), so the URLs registered
// with Kommo survive a replacement of the API.
const context = (key: string): string | undefined => {
  const value = app.node.tryGetContext(key) as string | number | undefined;
  return value === undefined || value === '' ? undefined : String(value);
};
const domainName = context('domainName');
const certificateArn = context('certificateArn');
if ((domainName === undefined) !== (certificateArn === undefined)) throw new Error('A custom domain needs both -c domainName=… and -c certificateArn=…');
const liveDomainName = context('liveDomainName');

// Optional limits (docs/deploy-and-operate.md, "Limits and sizing"); the defaults carry 100 accounts:
// `-c apiRateLimit=1500 -c apiBurstLimit=3000`, `-c liveRateLimit=… -c liveBurstLimit=…`,
// `-c consumerMaxConcurrency=200`, `-c tableMaxReadRequestUnits=… -c tableMaxWriteRequestUnits=…`,
// `-c reservedConcurrency=event-dispatcher=200,kommo-hook=100`.
function positiveInteger(key: string): number | undefined {
  const value = context(key);
  if (value === undefined) return undefined;
  if (!/^[1-9][0-9]*$/.test(value)) throw new Error(`-c ${key}=${value} must be a positive integer`);
  return Number(value);
}
function throttle(rateKey: string, burstKey: string, fallback: ApiThrottleSettings): ApiThrottleSettings | undefined {
  const rateLimit = positiveInteger(rateKey);
  const burstLimit = positiveInteger(burstKey);
  if (rateLimit === undefined && burstLimit === undefined) return undefined;
  // A bucket smaller than one second of the rate turns ordinary clumps of requests into 429s.
  return { rateLimit: rateLimit ?? fallback.rateLimit, burstLimit: burstLimit ?? Math.max(fallback.burstLimit, rateLimit ?? 0) };
}
function reservedConcurrency(): Partial<Record<FunctionName, number>> | undefined {
  const value = context('reservedConcurrency');
  if (value === undefined) return undefined;
  const names = new Set<string>(functions.map((spec) => spec.name));
  const reserved: Partial<Record<FunctionName, number>> = {};
  for (const entry of value.split(',')) {
    const [name, count] = entry.split('=');
    if (!name || !names.has(name) || !count || !/^[1-9][0-9]*$/.test(count)) {
      throw new Error(`-c reservedConcurrency takes function=count pairs separated by commas (functions: ${[...names].join(', ')}); got "${entry}"`);
    }
    reserved[name as FunctionName] = Number(count);
  }
  return reserved;
}
const apiThrottle = throttle('apiRateLimit', 'apiBurstLimit', defaultApiThrottle);
const liveChannelThrottle = throttle('liveRateLimit', 'liveBurstLimit', defaultLiveChannelThrottle);
const consumerMaxConcurrency = positiveInteger('consumerMaxConcurrency');
const tableMaxRead = positiveInteger('tableMaxReadRequestUnits');
const tableMaxWrite = positiveInteger('tableMaxWriteRequestUnits');
if ((tableMaxRead === undefined) !== (tableMaxWrite === undefined)) {
  throw new Error('A table throughput cap needs both -c tableMaxReadRequestUnits=… and -c tableMaxWriteRequestUnits=…');
}
const reserved = reservedConcurrency();

new BridgeStack(app, 'KommoLiveBridge', {
  ...(apiThrottle ? { apiThrottle } : {}),
  ...(liveChannelThrottle ? { liveChannelThrottle } : {}),
  ...(consumerMaxConcurrency ? { consumerMaxConcurrency } : {}),
  ...(tableMaxRead && tableMaxWrite ? { tableMaxThroughput: { readRequestUnits: tableMaxRead, writeRequestUnits: tableMaxWrite } } : {}),
  ...(reserved ? { reservedConcurrency: reserved } : {}),
  description: 'Kommo Live Bridge: typing, presence and delivery status between Kommo chats and a messenger',
  ...(domainName && certificateArn ? { customDomain: { domainName, certificateArn, ...(liveDomainName ? { liveDomainName } : {}) } } : {}),
});

// cdk-nag v3 is a policy-validation plugin: every finding that is not acknowledged next to its
// resource (with a reason) is reported by `cdk synth` and fails it.
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
