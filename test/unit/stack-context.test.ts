import { describe, expect, it } from 'vitest';
import { defaultApiThrottle, defaultLiveChannelThrottle } from '../../infra/bridge-stack';
import { stackPropsFromContext } from '../../infra/stack-context';

/** `cdk … -c key=value` as the CDK app reads it: strings from the command line, anything from cdk.json. */
const given = (context: Record<string, unknown>) => stackPropsFromContext((key) => context[key]);

describe('stack props from -c context', () => {
  it('no context: no prop, so the stack keeps its defaults', () => {
    expect(given({})).toEqual({});
  });

  it('empty values count as not given', () => {
    expect(given({ domainName: '', certificateArn: '', apiRateLimit: '', reservedConcurrency: '' })).toEqual({});
  });

  it("a custom domain, with the live channel's own name when given", () => {
    expect(
      given({ domainName: 'bridge.example.com', certificateArn: 'arn:aws:acm:us-east-1:123456789012:certificate/abc' }),
    ).toEqual({
      customDomain: {
        domainName: 'bridge.example.com',
        certificateArn: 'arn:aws:acm:us-east-1:123456789012:certificate/abc',
      },
    });
    expect(
      given({ domainName: 'bridge.example.com', certificateArn: 'arn:1', liveDomainName: 'live.bridge.example.com' })
        .customDomain,
    ).toEqual({
      domainName: 'bridge.example.com',
      certificateArn: 'arn:1',
      liveDomainName: 'live.bridge.example.com',
    });
  });

  it.each([
    ['a domain without its certificate', { domainName: 'bridge.example.com' }],
    ['a certificate without its domain', { certificateArn: 'arn:1' }],
  ])('refuses %s', (_, context) => {
    expect(() => given(context)).toThrow('A custom domain needs both -c domainName=… and -c certificateArn=…');
  });

  it('the API throttle: both limits as given, from the command line (strings) or cdk.json (numbers)', () => {
    expect(given({ apiRateLimit: '1500', apiBurstLimit: 3000 })).toEqual({
      apiThrottle: { rateLimit: 1500, burstLimit: 3000 },
    });
  });

  it('a rate alone keeps the default burst, raised to at least one second of the rate', () => {
    expect(given({ apiRateLimit: '200' }).apiThrottle).toEqual({
      rateLimit: 200,
      burstLimit: defaultApiThrottle.burstLimit,
    });
    expect(given({ apiRateLimit: '5000' }).apiThrottle).toEqual({ rateLimit: 5000, burstLimit: 5000 });
    expect(given({ liveBurstLimit: '900' }).liveChannelThrottle).toEqual({
      rateLimit: defaultLiveChannelThrottle.rateLimit,
      burstLimit: 900,
    });
  });

  it('consumer concurrency, a table cap and reserved concurrency per function', () => {
    expect(
      given({
        consumerMaxConcurrency: '200',
        tableMaxReadRequestUnits: '4000',
        tableMaxWriteRequestUnits: '2000',
        reservedConcurrency: 'event-dispatcher=200,kommo-hook=100',
      }),
    ).toEqual({
      consumerMaxConcurrency: 200,
      tableMaxThroughput: { readRequestUnits: 4000, writeRequestUnits: 2000 },
      reservedConcurrency: { 'event-dispatcher': 200, 'kommo-hook': 100 },
    });
  });

  it.each([
    ['apiRateLimit', '0'],
    ['apiBurstLimit', '-5'],
    ['liveRateLimit', '1.5'],
    ['consumerMaxConcurrency', 'many'],
    ['tableMaxWriteRequestUnits', '01'],
  ])('refuses -c %s=%s, naming the key', (key, value) => {
    const context: Record<string, unknown> = { [key]: value };
    if (key === 'tableMaxWriteRequestUnits') context.tableMaxReadRequestUnits = '100';
    expect(() => given(context)).toThrow(`-c ${key}=${value} must be a positive integer`);
  });

  it('refuses half a table cap', () => {
    expect(() => given({ tableMaxReadRequestUnits: '100' })).toThrow(
      'A table throughput cap needs both -c tableMaxReadRequestUnits=… and -c tableMaxWriteRequestUnits=…',
    );
  });

  it.each([
    ['an unknown function', 'no-such-function=10'],
    ['a count that is not a positive integer', 'kommo-hook=0'],
    ['a pair without a count', 'kommo-hook'],
    ['a trailing comma', 'kommo-hook=5,'],
  ])('refuses reserved concurrency with %s, listing the functions', (_, value) => {
    expect(() => given({ reservedConcurrency: value })).toThrow(
      /^-c reservedConcurrency takes function=count pairs separated by commas \(functions: kommo-hook, /,
    );
  });

  it('provisioned capacity: read and write ranges, and the target utilization when given', () => {
    // Act
    const props = given({
      tableProvisionedRead: '100-3000',
      tableProvisionedWrite: '200-8000',
      tableTargetUtilization: '60',
    });
    // Assess
    expect(props).toEqual({
      tableProvisionedCapacity: {
        read: { min: 100, max: 3000 },
        write: { min: 200, max: 8000 },
        targetUtilizationPercent: 60,
      },
    });
    expect(given({ tableProvisionedRead: '5-5', tableProvisionedWrite: '5-10' })).toEqual({
      tableProvisionedCapacity: { read: { min: 5, max: 5 }, write: { min: 5, max: 10 } },
    });
  });

  it.each([
    ['tableProvisionedRead', '3000-100'],
    ['tableProvisionedRead', '100'],
    ['tableProvisionedRead', '0-100'],
    ['tableProvisionedWrite', '100-3000.5'],
  ])('refuses -c %s=%s, naming the key', (key, value) => {
    const context: Record<string, unknown> = {
      tableProvisionedRead: '1-2',
      tableProvisionedWrite: '1-2',
      [key]: value,
    };
    expect(() => given(context)).toThrow(`-c ${key}=${value} must be min-max units, e.g. 100-3000`);
  });

  it('refuses half of provisioned capacity, and a target utilization without it', () => {
    expect(() => given({ tableProvisionedRead: '1-2' })).toThrow(
      'Provisioned capacity needs both -c tableProvisionedRead=min-max and -c tableProvisionedWrite=min-max',
    );
    expect(() => given({ tableTargetUtilization: '70' })).toThrow(
      '-c tableTargetUtilization is for provisioned capacity (-c tableProvisionedRead/-Write)',
    );
  });
});
