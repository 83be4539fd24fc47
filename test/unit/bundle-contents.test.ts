import { describe, expect, it } from 'vitest';
import { functions, type FunctionSpec } from '../../functions/manifest';
import { bundleFindings, bytesByPackage, packageOf, type EsbuildMetafile } from '../bundle/bundle-contents';

/** The bundle guard's rules on made-up metafiles: each rule must catch what it names, and only that. */

const spec = (name: string): FunctionSpec => functions.find((candidate) => candidate.name === name)!;

function metafileOf(...inputs: string[]): EsbuildMetafile {
  return {
    outputs: {
      'index.mjs': { bytes: 1000, inputs: Object.fromEntries(inputs.map((path) => [path, { bytesInOutput: 100 }])) },
    },
  };
}

const clean = [
  'functions/kommo-hook/index.ts',
  'node_modules/zod/v4/mini/schemas.js',
  'node_modules/zod/v4/locales/en.js',
  'node_modules/@smithy/core/dist-es/index.js',
];

describe('the bundle guard', () => {
  it('passes a kommo-hook bundle with its queue client and zod/mini only', () => {
    // Prepare
    const metafile = metafileOf(...clean, 'node_modules/@aws-sdk/client-sqs/dist-es/SQSClient.js');
    // Act
    const findings = bundleFindings(spec('kommo-hook'), metafile);
    // Assess
    expect(findings).toEqual([]);
  });

  it.each([
    ['kommo-hook', 'node_modules/@aws-sdk/client-dynamodb/dist-es/DynamoDBClient.js', "table: 'none'"],
    ['event-dispatcher', 'node_modules/@aws-sdk/lib-dynamodb/dist-es/index.js', "table: 'none'"],
    ['chat-conversations', 'node_modules/@aws-sdk/client-sqs/dist-es/SQSClient.js', 'sends to no queue'],
    ['live', 'node_modules/@aws-sdk/client-secrets-manager/dist-es/index.js', 'holds no secret'],
    ['widget', 'node_modules/@aws-sdk/client-apigatewaymanagementapi/dist-es/index.js', 'neither pushes to nor closes'],
    ['chat-typing', 'node_modules/zod/v4/classic/schemas.js', 'classic zod'],
    ['chat-status', 'node_modules/zod/v4/locales/de.js', 'all of its locales'],
    ['timer-worker', 'node_modules/@aws-sdk/nested-clients/dist-es/submodules/sts/index.js', 'credential chain'],
    [
      'admin',
      'node_modules/@aws-lambda-powertools/logger/node_modules/@aws-lambda-powertools/commons/lib/esm/index.js',
      'two Powertools versions',
    ],
  ])('refuses %s carrying %s (%s)', (name, input, ruleWords) => {
    // Prepare
    const metafile = metafileOf(...clean, input);
    // Act
    const findings = bundleFindings(spec(name), metafile);
    // Assess
    expect(findings).toHaveLength(1);
    expect(findings[0]!.rule).toContain(ruleWords);
    expect(findings[0]!.inputs).toEqual([input]);
  });

  it('lets a function carry the clients its manifest entry gives it a use for', () => {
    // Prepare: timer-worker has table access, queues, secrets and pushes to the live channel.
    const metafile = metafileOf(
      'node_modules/@aws-sdk/client-dynamodb/dist-es/DynamoDBClient.js',
      'node_modules/@aws-sdk/client-sqs/dist-es/SQSClient.js',
      'node_modules/@aws-sdk/client-secrets-manager/dist-es/index.js',
      'node_modules/@aws-sdk/client-apigatewaymanagementapi/dist-es/index.js',
    );
    // Act
    const findings = bundleFindings(spec('timer-worker'), metafile);
    // Assess
    expect(findings).toEqual([]);
  });

  it('names the package of an input, the innermost node_modules winning, and sums bytes per package', () => {
    expect(
      packageOf('node_modules/@aws-lambda-powertools/logger/node_modules/@aws-lambda-powertools/commons/lib/x.js'),
    ).toBe('@aws-lambda-powertools/commons');
    expect(packageOf('node_modules/zod/v4/mini/schemas.js')).toBe('zod');
    expect(packageOf('functions/core/wiring.ts')).toBeUndefined();
    expect(bytesByPackage(metafileOf(...clean))).toEqual([
      ['zod', 200],
      ['(project)', 100],
      ['@smithy/core', 100],
    ]);
  });
});
