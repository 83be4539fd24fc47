import { existsSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join } from 'node:path';
import { App, Validations, type CfnResource } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { Runtime } from 'aws-cdk-lib/aws-lambda';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { beforeAll, describe, expect, it } from 'vitest';
import { itemKinds } from '../../functions/core/adapters/dynamodb/item-kinds';
import { loadConfig, secretGroups, type SecretGroup } from '../../functions/core/config';
import {
  fallbackFunction,
  functions,
  httpRoutes,
  liveChannelMethods,
  liveChannelVariables,
  queues,
  secretArnVariables,
  webSocketRoutes,
  type FunctionName,
  type QueueName,
} from '../../functions/manifest';
import { BridgeStack } from '../../infra/bridge-stack';
import {
  accessLogFormat,
  HTTP_ACCESS_LOG_FIELDS,
  WEBSOCKET_ACCESS_LOG_FIELDS,
} from '../../infra/constructs/access-log-formats';
import { sdkEventStreams } from '../../infra/constructs/bridge-function';

/** The same feature flags `cdk synth` uses, so the template under test is the one deployed. */
const cdkJson = JSON.parse(readFileSync(new URL('../../cdk.json', import.meta.url), 'utf8')) as {
  context: Record<string, unknown>;
};

const secretSettingParameters = {
  CHAT_SERVICE_URL: 'ChatServiceUrl',
  KOMMO_API_URL: 'KommoApiUrl',
  KOMMO_HOOK_FORWARD_URL: 'KommoHookForwardUrl',
  CHAT_SERVICE_STATUS_URL: 'ChatServiceStatusUrl',
  TYPING_REFRESH_SECONDS: 'TypingRefreshSeconds',
  KOMMO_CLIENT_ID: 'KommoClientId',
  KOMMO_ACCOUNT_URL: 'KommoAccountUrl',
} as const;

/** The newest Node.js runtime this aws-cdk-lib offers, found the way a reader would: by version. */
const newestNodeRuntime = Runtime.ALL.filter((runtime) => /^nodejs\d+\.x$/.test(runtime.name)).sort(
  (a, b) => Number.parseInt(b.name.slice('nodejs'.length), 10) - Number.parseInt(a.name.slice('nodejs'.length), 10),
)[0]!;

type Statement = {
  Effect: string;
  Action: string | string[];
  Resource: unknown;
  Condition?: Record<string, Record<string, unknown>>;
};
type Resources = Record<string, { Type: string; Properties?: Record<string, any>; DeletionPolicy?: string }>;

let app: App;
let stack: BridgeStack;
let template: Template;
let resources: Resources;

const logicalId = (construct: IConstruct) => stack.getLogicalId(construct.node.defaultChild as CfnResource);
const functionId = (name: FunctionName) => logicalId(stack.functions.get(name)!.function);
const queueId = (name: QueueName) => logicalId(stack.queues.get(name)!.queue);
const deadLetterQueueId = (name: QueueName) => logicalId(stack.queues.get(name)!.deadLetterQueue);
const secretId = (group: SecretGroup) => logicalId(stack.secrets.get(group)!);
const arnOf = (id: string) => ({ 'Fn::GetAtt': [id, 'Arn'] });
const environmentOf = (name: FunctionName): Record<string, unknown> =>
  resources[functionId(name)]!.Properties!.Environment.Variables;

/** Every statement of the function's role's policies. */
function statementsOf(name: FunctionName): Statement[] {
  const roleId = logicalId(stack.functions.get(name)!.role);
  return Object.values(resources)
    .filter((resource) => resource.Type === 'AWS::IAM::Policy')
    .filter((policy) => JSON.stringify(policy.Properties!.Roles).includes(`"${roleId}"`))
    .flatMap((policy) => policy.Properties!.PolicyDocument.Statement as Statement[]);
}

/** Every (action, resource) pair the function's role allows, resources as JSON for comparison. */
function permissionsOf(name: FunctionName): { action: string; resource: string }[] {
  return statementsOf(name).flatMap((statement) => {
    expect(statement.Effect).toBe('Allow');
    const actions = [statement.Action].flat();
    const resourceList = [statement.Resource]
      .flat()
      .filter((resource) => JSON.stringify(resource) !== '{"Ref":"AWS::NoValue"}');
    return actions.flatMap((action) =>
      resourceList.map((resource) => ({ action, resource: JSON.stringify(resource) })),
    );
  });
}
const resourcesAllowed = (name: FunctionName, action: string) =>
  new Set(
    permissionsOf(name)
      .filter((permission) => permission.action === action)
      .map((permission) => permission.resource),
  );

const httpApiId = () => logicalId(stack.api);
const liveApiId = () => logicalId(stack.liveApi);
const routesOf = (apiId: string) =>
  Object.values(resources).filter(
    (resource) =>
      resource.Type === 'AWS::ApiGatewayV2::Route' &&
      JSON.stringify(resource.Properties!.ApiId) === JSON.stringify({ Ref: apiId }),
  );

/** The logical id of the function a route key of the HTTP API (`POST /kommo/{scope_id}`, `$default`) invokes. */
function functionBehindRoute(routeKey: string): string {
  const routes = routesOf(httpApiId()).filter((resource) => resource.Properties!.RouteKey === routeKey);
  expect(routes, `exactly one route ${routeKey}`).toHaveLength(1);
  const target = routes[0]!.Properties!.Target as { 'Fn::Join': [string, [string, { Ref: string }]] };
  const integration = resources[target['Fn::Join'][1][1].Ref]!;
  expect(integration.Properties).toMatchObject({ IntegrationType: 'AWS_PROXY', PayloadFormatVersion: '2.0' });
  return (integration.Properties!.IntegrationUri as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
}

/** The logical id of the function a route key of the live channel's WebSocket API (`$connect`, …) invokes. */
function functionBehindLiveRoute(routeKey: string): string {
  const routes = routesOf(liveApiId()).filter((resource) => resource.Properties!.RouteKey === routeKey);
  expect(routes, `exactly one live route ${routeKey}`).toHaveLength(1);
  const target = routes[0]!.Properties!.Target as { 'Fn::Join': [string, [string, { Ref: string }]] };
  const integration = resources[target['Fn::Join'][1][1].Ref]!;
  expect(integration.Properties).toMatchObject({ ApiId: { Ref: liveApiId() }, IntegrationType: 'AWS_PROXY' });
  const uri = JSON.stringify(integration.Properties!.IntegrationUri);
  return /"Fn::GetAtt":\["([^"]+)","Arn"\]/.exec(uri)![1]!;
}

beforeAll(() => {
  // Prepare: the real stack, with the real esbuild bundles of every handler.
  app = new App({ context: cdkJson.context });
  stack = new BridgeStack(app, 'BridgeUnderTest');
  // Act
  template = Template.fromStack(stack);
  resources = template.toJSON().Resources as Resources;
});

/**
 * An app for a second instance of the stack whose template is all a test reads: CDK skips bundling for
 * stacks not named in `aws:cdk:bundling-stacks`, so no esbuild run makes the test's time depend on the machine.
 */
const templateOnlyApp = () => new App({ context: { ...cdkJson.context, 'aws:cdk:bundling-stacks': [] } });

describe('table', () => {
  it('is one pay-per-request table keyed pk/sk, with TTL on expiresAt, PITR, AWS-managed encryption, retained', () => {
    template.resourceCountIs('AWS::DynamoDB::Table', 1);
    template.hasResource('AWS::DynamoDB::Table', {
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
      Properties: {
        KeySchema: [
          { AttributeName: 'pk', KeyType: 'HASH' },
          { AttributeName: 'sk', KeyType: 'RANGE' },
        ],
        AttributeDefinitions: [
          { AttributeName: 'pk', AttributeType: 'S' },
          { AttributeName: 'sk', AttributeType: 'S' },
        ],
        BillingMode: 'PAY_PER_REQUEST',
        TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        SSESpecification: { SSEEnabled: true },
      },
    });
  });

  it('has no on-demand throughput cap by default', () => {
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      BillingMode: 'PAY_PER_REQUEST',
      OnDemandThroughput: Match.absent(),
    });
  });
});

describe('queues', () => {
  it('has exactly one queue and one dead-letter queue per manifest queue', () => {
    template.resourceCountIs('AWS::SQS::Queue', queues.length * 2);
  });

  it.each(queues)(
    '$name: dead-letter queue after $maxReceiveCount receives, visibility 6 × consumer timeout, SSE',
    (spec) => {
      expect(resources[queueId(spec.name)]!.Properties).toMatchObject({
        VisibilityTimeout: 6 * spec.consumerTimeoutSeconds,
        SqsManagedSseEnabled: true,
        RedrivePolicy: {
          deadLetterTargetArn: arnOf(deadLetterQueueId(spec.name)),
          maxReceiveCount: spec.maxReceiveCount,
        },
      });
      expect(resources[deadLetterQueueId(spec.name)]!.Properties).toMatchObject({
        SqsManagedSseEnabled: true,
        MessageRetentionPeriod: 14 * 24 * 3600,
      });
    },
  );

  it.each(queues)('$name: the queue and its dead-letter queue refuse requests without TLS', (spec) => {
    for (const id of [queueId(spec.name), deadLetterQueueId(spec.name)]) {
      template.hasResourceProperties('AWS::SQS::QueuePolicy', {
        Queues: [{ Ref: id }],
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Effect: 'Deny',
              Principal: { AWS: '*' },
              Action: 'sqs:*',
              Condition: { Bool: { 'aws:SecureTransport': 'false' } },
            }),
          ]),
        },
      });
    }
  });

  it.each(queues)('$name: consumed by $consumer in batches of $batchSize, reporting item failures', (spec) => {
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: arnOf(queueId(spec.name)),
      FunctionName: { Ref: functionId(spec.consumer) },
      BatchSize: spec.batchSize,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
  });

  it.each(queues)(
    "$name: its consumer scales to at most 100 concurrent invocations, so a backlog cannot take the HTTP functions' concurrency",
    (spec) => {
      template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
        EventSourceArn: arnOf(queueId(spec.name)),
        ScalingConfig: { MaximumConcurrency: 100 },
      });
    },
  );
});

describe('HTTP API', () => {
  it.each(httpRoutes)('$method $path invokes $function', (route) => {
    expect(functionBehindRoute(`${route.method} ${route.path}`)).toBe(functionId(route.function));
  });

  it(`sends every other request ($default) to ${fallbackFunction}`, () => {
    expect(functionBehindRoute('$default')).toBe(functionId(fallbackFunction));
    expect(routesOf(httpApiId())).toHaveLength(httpRoutes.length + 1);
  });

  it('has no CORS configuration', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Api', {
      ProtocolType: 'HTTP',
      CorsConfiguration: Match.absent(),
    });
  });

  it('serves a throttled $default stage that writes JSON access logs to a log group with retention', () => {
    const stage = Object.values(resources).find(
      (resource) =>
        resource.Type === 'AWS::ApiGatewayV2::Stage' &&
        JSON.stringify(resource.Properties!.ApiId) === JSON.stringify({ Ref: httpApiId() }),
    )!;
    expect(stage.Properties).toMatchObject({
      StageName: '$default',
      AutoDeploy: true,
      DefaultRouteSettings: { ThrottlingBurstLimit: 1000, ThrottlingRateLimit: 500 },
    });
    const accessLogs = stage.Properties!.AccessLogSettings as {
      DestinationArn: { 'Fn::GetAtt': [string, string] };
      Format: string;
    };
    // What only the gateway knows (its own refusals, the integration's failures, who sent it) and the id that joins
    // the line to the function's own INFO line; nothing the function's line already says, and no header.
    expect(JSON.parse(accessLogs.Format)).toEqual({
      requestId: '$context.requestId',
      sourceIp: '$context.identity.sourceIp',
      status: '$context.status',
      integrationStatus: '$context.integrationStatus',
      integrationError: '$context.integrationErrorMessage',
      error: '$context.error.message',
    });
    expect(accessLogs.Format).toBe(accessLogFormat(HTTP_ACCESS_LOG_FIELDS));
    expect(resources[accessLogs.DestinationArn['Fn::GetAtt'][0]]!.Properties!.RetentionInDays).toBeGreaterThan(0);
  });
});

describe('live channel (WebSocket API)', () => {
  const liveStage = () => resources[logicalId(stack.liveStage)]!;
  /** `wss://<api>.execute-api.<region>.<suffix>/live` or its `https://` callback URL, as the template joins it. */
  const stageUrl = (scheme: 'wss' | 'https') => ({
    'Fn::Join': [
      '',
      [
        `${scheme}://`,
        { Ref: liveApiId() },
        '.execute-api.',
        { Ref: 'AWS::Region' },
        '.',
        { Ref: 'AWS::URLSuffix' },
        '/live',
      ],
    ],
  });

  it('is one WebSocket API besides the HTTP API, with one route per manifest WebSocket route', () => {
    template.resourceCountIs('AWS::ApiGatewayV2::Api', 2);
    expect(resources[liveApiId()]!.Properties).toMatchObject({ ProtocolType: 'WEBSOCKET' });
    expect(
      routesOf(liveApiId())
        .map((route) => route.Properties!.RouteKey)
        .sort(),
    ).toEqual(webSocketRoutes.map((route) => route.routeKey).sort());
  });

  it.each(webSocketRoutes)('$routeKey invokes $function, which API Gateway may invoke for that route', (route) => {
    expect(functionBehindLiveRoute(route.routeKey)).toBe(functionId(route.function));
    const permissions = Object.values(resources).filter(
      (resource) =>
        resource.Type === 'AWS::Lambda::Permission' &&
        JSON.stringify(resource.Properties!.FunctionName) === JSON.stringify(arnOf(functionId(route.function))) &&
        JSON.stringify(resource.Properties!.SourceArn).includes(`{"Ref":"${liveApiId()}"},"/*${route.routeKey}"`),
    );
    expect(permissions).toHaveLength(1);
  });

  it('serves a throttled stage "live" that writes JSON access logs, without the query string (it carries the ticket), to a log group with retention', () => {
    expect(liveStage().Properties).toMatchObject({
      ApiId: { Ref: liveApiId() },
      StageName: 'live',
      AutoDeploy: true,
      DefaultRouteSettings: { ThrottlingBurstLimit: 500, ThrottlingRateLimit: 200 },
    });
    const accessLogs = liveStage().Properties!.AccessLogSettings as {
      DestinationArn: { 'Fn::GetAtt': [string, string] };
      Format: string;
    };
    expect(JSON.parse(accessLogs.Format)).toEqual({
      requestId: '$context.requestId',
      connectionId: '$context.connectionId',
      sourceIp: '$context.identity.sourceIp',
      status: '$context.status',
      error: '$context.error.message',
    });
    expect(accessLogs.Format).toBe(accessLogFormat(WEBSOCKET_ACCESS_LOG_FIELDS));
    expect(accessLogs.Format).not.toMatch(/querystring|ticket/i);
    expect(resources[accessLogs.DestinationArn['Fn::GetAtt'][0]]!.Properties!.RetentionInDays).toBe(30);
  });

  it('is created after the API Gateway account setting names a CloudWatch Logs role, which outlives the stack', () => {
    const account = Object.entries(resources).find(([, resource]) => resource.Type === 'AWS::ApiGateway::Account')!;
    expect((liveStage() as { DependsOn?: string[] }).DependsOn).toContain(account[0]);
    expect(account[1].DeletionPolicy).toBe('Retain');
    const roleId = (account[1].Properties!.CloudWatchRoleArn as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
    expect(resources[roleId]).toMatchObject({
      DeletionPolicy: 'Retain',
      Properties: {
        AssumeRolePolicyDocument: {
          Statement: [{ Action: 'sts:AssumeRole', Principal: { Service: 'apigateway.amazonaws.com' } }],
        },
      },
    });
  });

  it('without the account setting when told the account already has one', () => {
    // Prepare
    const otherApp = templateOnlyApp();
    const other = new BridgeStack(otherApp, 'WithAccountRole', {
      apiGatewayCloudWatchRole: false,
      liveChannelThrottle: { rateLimit: 5, burstLimit: 10 },
    });

    // Act
    const otherTemplate = Template.fromStack(other);

    // Assess
    otherTemplate.resourceCountIs('AWS::ApiGateway::Account', 0);
    otherTemplate.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: 'live',
      DefaultRouteSettings: { ThrottlingBurstLimit: 10, ThrottlingRateLimit: 5 },
    });
  });

  it.each(functions)(
    "$name: execute-api:ManageConnections on this stage's connections for the methods it calls only (POST pushes, DELETE closes), with the callback URL",
    (spec) => {
      const manageConnections = [...resourcesAllowed(spec.name, 'execute-api:ManageConnections')].sort();
      const environment = environmentOf(spec.name);
      const methods = liveChannelMethods(spec.liveChannel);
      if (methods.length > 0) {
        expect(manageConnections).toHaveLength(methods.length);
        for (const method of methods)
          expect(
            manageConnections.some((resource) =>
              resource.includes(`{"Ref":"${liveApiId()}"},"/live/${method}/@connections/*"`),
            ),
          ).toBe(true);
        // Never every method (`*`), never GET (a connection's details).
        expect(manageConnections.join()).not.toMatch(/\/live\/(\*|GET)\//);
        expect(environment[liveChannelVariables.push]).toEqual(stageUrl('https'));
      } else {
        expect(manageConnections).toEqual([]);
        expect(environment).not.toHaveProperty(liveChannelVariables.push);
      }
      if (spec.liveChannel?.address) expect(environment[liveChannelVariables.address]).toEqual(stageUrl('wss'));
      else expect(environment).not.toHaveProperty(liveChannelVariables.address);
    },
  );

  it('the functions that push are the live function and the two that make client presence transitions', () => {
    expect(
      functions
        .filter((spec) => spec.liveChannel?.push)
        .map((spec) => spec.name)
        .sort(),
    ).toEqual(['chat-presence', 'live', 'timer-worker']);
    expect(functions.filter((spec) => spec.liveChannel?.address).map((spec) => spec.name)).toEqual(['widget']);
  });

  it('outputs the stage URL as LiveChannelUrl', () => {
    expect(template.findOutputs('LiveChannelUrl').LiveChannelUrl?.Value).toEqual(stageUrl('wss'));
  });
});

describe('functions', () => {
  it('has one function per manifest entry and no other', () => {
    template.resourceCountIs('AWS::Lambda::Function', functions.length);
  });

  it.each(functions)(
    `$name: newest Node.js runtime, arm64, $timeoutSeconds s, $memoryMb MB, untraced by default, source maps`,
    (spec) => {
      expect(newestNodeRuntime.name).toMatch(/^nodejs\d+\.x$/);
      expect(resources[functionId(spec.name)]!.Properties).not.toHaveProperty('TracingConfig');
      expect(resources[functionId(spec.name)]!.Properties!.LoggingConfig).not.toHaveProperty('LogFormat');
      expect(resources[functionId(spec.name)]!.Properties).toMatchObject({
        Runtime: newestNodeRuntime.name,
        Architectures: ['arm64'],
        Timeout: spec.timeoutSeconds,
        MemorySize: spec.memoryMb,
        Handler: 'index.handler',
        Environment: {
          Variables: {
            NODE_OPTIONS: '--enable-source-maps',
            POWERTOOLS_SERVICE_NAME: 'kommo-live-bridge',
            POWERTOOLS_METRICS_NAMESPACE: 'KommoLiveBridge',
            POWERTOOLS_LOG_LEVEL: 'INFO',
          },
        },
      });
    },
  );

  it.each(functions)(
    "$name: reserves no concurrency by default (it draws on the account's unreserved pool)",
    (spec) => {
      expect(resources[functionId(spec.name)]!.Properties).not.toHaveProperty('ReservedConcurrentExecutions');
    },
  );

  it.each(functions)('$name: logs to its own log group with a retention', (spec) => {
    const logGroupId = logicalId(stack.functions.get(spec.name)!.logGroup);
    expect(resources[functionId(spec.name)]!.Properties!.LoggingConfig).toEqual({ LogGroup: { Ref: logGroupId } });
    expect(resources[logGroupId]!.Properties!.RetentionInDays).toBe(30);
  });

  it.each(functions)('$name: no environment variable looks like a secret', (spec) => {
    const names = Object.keys(environmentOf(spec.name));
    const secretLooking = names.filter(
      (name) => /SECRET|TOKEN|PASSWORD|PRIVATE_KEY/.test(name) && !name.endsWith('_SECRET_ARN'),
    );
    expect(secretLooking).toEqual([]);
  });

  it.each(functions)(
    '$name: gets the table, queue and settings variables the manifest gives it, and no others',
    (spec) => {
      const environment = environmentOf(spec.name);
      const expectedQueueVariables = [
        ...spec.sendsTo.map((name) => queues.find((queue) => queue.name === name)!.urlVariable),
        ...spec.deadLettersTo.map((name) => queues.find((queue) => queue.name === name)!.deadLetterUrlVariable),
      ].sort();
      const allQueueVariables = new Set(queues.flatMap((queue) => [queue.urlVariable, queue.deadLetterUrlVariable]));
      expect(
        Object.keys(environment)
          .filter((name) => allQueueVariables.has(name))
          .sort(),
      ).toEqual(expectedQueueVariables);
      for (const name of spec.sendsTo) {
        expect(environment[queues.find((queue) => queue.name === name)!.urlVariable]).toEqual({ Ref: queueId(name) });
      }
      for (const name of spec.deadLettersTo) {
        expect(environment[queues.find((queue) => queue.name === name)!.deadLetterUrlVariable]).toEqual({
          Ref: deadLetterQueueId(name),
        });
      }

      if (spec.table === 'none') expect(environment).not.toHaveProperty('TABLE_NAME');
      else expect(environment.TABLE_NAME).toEqual({ Ref: logicalId(stack.table) });

      const secretArnNames = Object.keys(environment).filter((name) => name.endsWith('_SECRET_ARN'));
      expect(secretArnNames.sort()).toEqual(spec.secrets.map((group) => secretArnVariables[group]).sort());
      for (const group of spec.secrets)
        expect(environment[secretArnVariables[group]]).toEqual({ Ref: secretId(group) });
      if (spec.name !== fallbackFunction) {
        for (const [variable, parameter] of Object.entries(secretSettingParameters)) {
          expect(environment[variable]).toEqual({ Ref: parameter });
        }
      } else {
        for (const variable of Object.keys(secretSettingParameters)) expect(environment).not.toHaveProperty(variable);
      }
    },
  );
});

describe('least privilege', () => {
  const dynamoActions = (name: FunctionName) =>
    permissionsOf(name).filter((permission) => permission.action.startsWith('dynamodb:'));
  const withTable = functions.flatMap((spec) => (spec.table === 'none' ? [] : [{ name: spec.name, ...spec.table }]));

  it('kommo-hook has no DynamoDB permissions', () => {
    expect(dynamoActions('kommo-hook')).toEqual([]);
  });

  it('not-found has no secret access and no permission beyond its own logs', () => {
    expect(resourcesAllowed('not-found', 'secretsmanager:GetSecretValue').size).toBe(0);
    const logGroupArn = JSON.stringify(arnOf(logicalId(stack.functions.get('not-found')!.logGroup)));
    const beyondLogsAndTracing = permissionsOf('not-found').filter(
      (permission) => permission.resource !== logGroupArn && !permission.action.startsWith('xray:'),
    );
    expect(beyondLogsAndTracing).toEqual([]);
  });

  it.each(functions.filter((spec) => spec.table === 'none'))(
    '$name (table: none) has no DynamoDB permissions',
    (spec) => {
      expect(dynamoActions(spec.name)).toEqual([]);
    },
  );

  /** The item kinds (partition-key prefixes) an action is allowed on, from the statements' LeadingKeys conditions. */
  function kindsAllowed(name: FunctionName, action: string): string[] {
    const kinds = statementsOf(name)
      .filter((statement) => [statement.Action].flat().includes(action))
      .flatMap((statement) => {
        // Every DynamoDB statement must be bounded by leading keys: a statement without the condition would open every item.
        expect(statement.Resource, `${name} ${action}`).toEqual(arnOf(logicalId(stack.table)));
        const leadingKeys = statement.Condition?.['ForAllValues:StringLike']?.['dynamodb:LeadingKeys'];
        expect(Object.keys(statement.Condition ?? {}), `${name} ${action}: the condition`).toEqual([
          'ForAllValues:StringLike',
        ]);
        return [leadingKeys].flat() as string[];
      });
    return [...new Set(kinds)].sort();
  }
  const patternsOf = (kinds: readonly (keyof typeof itemKinds)[]) =>
    [...new Set(kinds.map((kind) => `${itemKinds[kind]}#*`))].sort();

  it.each(withTable)('$name reads only the item kinds its manifest entry names', (spec) => {
    for (const action of [
      'dynamodb:GetItem',
      'dynamodb:Query',
      'dynamodb:BatchGetItem',
      'dynamodb:ConditionCheckItem',
    ]) {
      expect(kindsAllowed(spec.name, action), action).toEqual(patternsOf([...spec.read, ...spec.readWrite]));
    }
  });

  it.each(withTable)('$name writes only the item kinds its manifest entry names as read-write', (spec) => {
    for (const action of [
      'dynamodb:PutItem',
      'dynamodb:UpdateItem',
      'dynamodb:DeleteItem',
      'dynamodb:BatchWriteItem',
    ]) {
      expect(kindsAllowed(spec.name, action), action).toEqual(patternsOf(spec.readWrite));
    }
  });

  it.each(withTable)('$name: no Scan and no table-level action (they have no leading key to check)', (spec) => {
    const actions = new Set(dynamoActions(spec.name).map((permission) => permission.action));
    for (const action of ['dynamodb:Scan', 'dynamodb:DescribeTable', 'dynamodb:DeleteTable', 'dynamodb:UpdateTable'])
      expect(actions.has(action), action).toBe(false);
  });

  it('account bindings are written only by admin and kommo-install, and read only by them, the widget and the live channel (which checks them at every frame)', () => {
    const writers = functions
      .filter((spec) => kindsAllowed(spec.name, 'dynamodb:PutItem').includes('ACCOUNT#*'))
      .map((spec) => spec.name);
    const readers = functions
      .filter((spec) => kindsAllowed(spec.name, 'dynamodb:GetItem').includes('ACCOUNT#*'))
      .map((spec) => spec.name);
    expect(writers.sort()).toEqual(['admin', 'kommo-install']);
    expect(readers.sort()).toEqual(['admin', 'kommo-install', 'live', 'widget']);
  });

  it.each(functions)('$name may send only to its manifest queues and dead-letter queues', (spec) => {
    const expected = new Set([
      ...spec.sendsTo.map((name) => JSON.stringify(arnOf(queueId(name)))),
      ...spec.deadLettersTo.map((name) => JSON.stringify(arnOf(deadLetterQueueId(name)))),
    ]);
    expect(resourcesAllowed(spec.name, 'sqs:SendMessage')).toEqual(expected);
  });

  it.each(functions)('$name reads exactly the secrets its manifest entry names', (spec) => {
    const expected = new Set(spec.secrets.map((group) => JSON.stringify({ Ref: secretId(group) })));
    expect(resourcesAllowed(spec.name, 'secretsmanager:GetSecretValue')).toEqual(expected);
  });

  it.each([
    ['kommo-hook', 'admin'],
    ['kommo-hook', 'chat-service'],
    ['kommo-install', 'admin'],
    ['kommo-install', 'chat-service'],
    ['widget', 'kommo-channel'],
    ['event-dispatcher', 'admin'],
    ['hook-worker', 'kommo-channel'],
  ] as const)('%s cannot read the %s secret', (name, group) => {
    expect(resourcesAllowed(name, 'secretsmanager:GetSecretValue').has(JSON.stringify({ Ref: secretId(group) }))).toBe(
      false,
    );
  });

  it.each(functions)(
    '$name: no managed policy, and no Resource "*" (X-Ray, which needs it, is off by default)',
    (spec) => {
      expect(resources[logicalId(stack.functions.get(spec.name)!.role)]!.Properties!.ManagedPolicyArns).toBeUndefined();
      const onAnyResource = permissionsOf(spec.name).filter((permission) => permission.resource === '"*"');
      expect(onAnyResource.map((permission) => permission.action)).toEqual([]);
    },
  );
});

describe('bridge secrets', () => {
  it.each(Object.keys(secretGroups) as SecretGroup[])(
    '%s: one secret of its own, with empty or generated values only, retained',
    (group) => {
      const secret = resources[secretId(group)]!;
      expect(secret.DeletionPolicy).toBe('Retain');
      const properties = secret.Properties!;
      if (group === 'admin') {
        expect(properties.SecretString).toBeUndefined();
        expect(properties.GenerateSecretString).toMatchObject({
          GenerateStringKey: 'ADMIN_TOKEN',
          SecretStringTemplate: '{}',
        });
      } else {
        expect(properties.GenerateSecretString).toBeUndefined();
        expect(JSON.parse(properties.SecretString)).toEqual(
          Object.fromEntries(secretGroups[group].map((key) => [key, ''])),
        );
      }
    },
  );

  it('no two groups share a setting', () => {
    const names = Object.values(secretGroups).flat();
    expect(new Set(names).size).toBe(names.length);
  });

  it('the channel id has a secret of its own, held by every function that checks scopes or calls Kommo, so the chat routes need not read the channel secret', () => {
    expect(secretGroups['kommo-channel-id']).toEqual(['KOMMO_CHANNEL_ID']);
    const holders = (group: SecretGroup) =>
      functions.filter((spec) => spec.secrets.includes(group)).map((spec) => spec.name);
    const scopeCheckers: FunctionName[] = [
      'kommo-hook',
      'chat-typing',
      'chat-status',
      'chat-presence',
      'chat-conversations',
      'admin',
      'kommo-install',
    ];
    expect(holders('kommo-channel-id').sort()).toEqual(
      [...new Set([...scopeCheckers, ...holders('kommo-channel')])].sort(),
    );
    for (const name of ['chat-status', 'chat-presence', 'chat-conversations'] as const)
      expect(holders('kommo-channel'), name).not.toContain(name);
  });
});

describe('parameters', () => {
  it.each([
    ['ChatServiceUrl', undefined],
    ['KommoApiUrl', 'https://amojo.kommo.com'],
    ['KommoHookForwardUrl', ''],
    ['ChatServiceStatusUrl', ''],
    ['TypingRefreshSeconds', 4],
    ['KommoRedirectUri', ''],
    ['KommoClientId', ''],
    ['KommoAccountUrl', ''],
    ['AlarmEmail', ''],
  ] as const)('%s (default %j)', (name, defaultValue) => {
    template.hasParameter(name, { Default: defaultValue === undefined ? Match.absent() : defaultValue });
  });

  it('ask for no channel id: Kommo issues the channel after the deploy, from the webhook URL the stack outputs', () => {
    expect(Object.keys(template.toJSON().Parameters)).not.toContain('KommoChannelId');
    for (const spec of functions) expect(environmentOf(spec.name), spec.name).not.toHaveProperty('KOMMO_CHANNEL_ID');
  });

  it('ChatServiceStatusUrl takes what the functions accept as CHAT_SERVICE_STATUS_URL, and refuses {msgid} outside the path or query', () => {
    const pattern = new RegExp(template.toJSON().Parameters.ChatServiceStatusUrl.AllowedPattern as string);
    const validSettings = { KOMMO_CHANNEL_ID: 'c0ffee00', CHAT_SERVICE_URL: 'https://chat.example/events' };
    const accepted = [
      '',
      'https://chat.example/kommo/messages/{msgid}/status',
      'http://127.0.0.1:4000/status?msgid={msgid}',
    ];
    const refused = [
      'https://chat.example/kommo/messages/status',
      'https://{msgid}.chat.example/status',
      'ftp://chat.example/{msgid}',
      'https://chat.example/{msgid} x',
    ];
    for (const value of accepted) {
      expect(pattern.test(value), value).toBe(true);
      if (value !== '')
        expect(() => loadConfig({ ...validSettings, CHAT_SERVICE_STATUS_URL: value }, []), value).not.toThrow();
    }
    for (const value of refused) {
      expect(pattern.test(value), value).toBe(false);
      expect(() => loadConfig({ ...validSettings, CHAT_SERVICE_STATUS_URL: value }, []), value).toThrow(
        /CHAT_SERVICE_STATUS_URL/,
      );
    }
  });
});

describe('installs from Kommo', () => {
  const apiUrl = () => ({
    'Fn::Join': [
      '',
      [
        'https://',
        { Ref: httpApiId() },
        '.execute-api.',
        { Ref: 'AWS::Region' },
        '.',
        { Ref: 'AWS::URLSuffix' },
        '/kommo/install',
      ],
    ],
  });

  it("KOMMO_REDIRECT_URI is the KommoRedirectUri parameter, or this API's /kommo/install when it is empty, for every function alike", () => {
    const expected = { 'Fn::If': ['KommoRedirectUriGiven', { Ref: 'KommoRedirectUri' }, apiUrl()] };
    for (const spec of functions.filter((candidate) => candidate.name !== fallbackFunction))
      expect(environmentOf(spec.name).KOMMO_REDIRECT_URI, spec.name).toEqual(expected);
    expect(template.toJSON().Conditions.KommoRedirectUriGiven).toEqual({
      'Fn::Not': [{ 'Fn::Equals': [{ Ref: 'KommoRedirectUri' }, ''] }],
    });
  });

  it('outputs the Redirect URI the functions use, and the disable hook URL, to register in Kommo', () => {
    expect(template.findOutputs('KommoIntegrationRedirectUri').KommoIntegrationRedirectUri?.Value).toEqual(
      environmentOf('kommo-install').KOMMO_REDIRECT_URI,
    );
    expect(JSON.stringify(template.findOutputs('KommoDisableHookUrl').KommoDisableHookUrl?.Value)).toBe(
      JSON.stringify(apiUrl()).replace('/kommo/install', '/kommo/uninstall'),
    );
  });

  it("kommo-install has the time for two calls to the account's host and Kommo's connect, and holds the integration's and the channel's secrets only", () => {
    expect(resources[functionId('kommo-install')]!.Properties!.Timeout).toBe(15);
    expect(functions.find((spec) => spec.name === 'kommo-install')!.secrets).toEqual([
      'kommo-channel-id',
      'kommo-integration',
      'kommo-channel',
    ]);
  });

  it('KommoClientId and KommoAccountUrl take what the functions accept as KOMMO_CLIENT_ID and KOMMO_ACCOUNT_URL', () => {
    const parameters = template.toJSON().Parameters;
    const validSettings = { KOMMO_CHANNEL_ID: 'c0ffee00', CHAT_SERVICE_URL: 'https://chat.example/events' };
    const cases = [
      {
        parameter: 'KommoClientId',
        variable: 'KOMMO_CLIENT_ID',
        accepted: ['5f2a3c1e-8b7d-4e21-9c3a-1d2e3f4a5b6c', '5F2A3C1E-8B7D-4E21-9C3A-1D2E3F4A5B6C'],
        refused: ['5f2a3c1e', 'my-integration', '5f2a3c1e8b7d4e219c3a1d2e3f4a5b6c'],
      },
      {
        parameter: 'KommoAccountUrl',
        variable: 'KOMMO_ACCOUNT_URL',
        accepted: ['https://{subdomain}.kommo.com', 'http://127.0.0.1:4000/accounts/{subdomain}'],
        refused: [
          'https://kommo.example',
          'https://{subdomain}.kommo.com/?x=1',
          'ftp://{subdomain}.kommo.com',
          'https://{subdomain}.kommo.{tld}',
        ],
      },
    ];
    for (const { parameter, variable, accepted, refused } of cases) {
      const pattern = new RegExp(parameters[parameter].AllowedPattern as string);
      expect(pattern.test(''), `${parameter} empty`).toBe(true);
      for (const value of accepted) {
        expect(pattern.test(value), value).toBe(true);
        expect(() => loadConfig({ ...validSettings, [variable]: value }, []), value).not.toThrow();
      }
      for (const value of refused) {
        expect(pattern.test(value), value).toBe(false);
        expect(() => loadConfig({ ...validSettings, [variable]: value }, []), value).toThrow(new RegExp(variable));
      }
    }
  });
});

describe('alarms', () => {
  const alarmProperties = {
    Threshold: 0,
    ComparisonOperator: 'GreaterThanThreshold',
    EvaluationPeriods: 1,
    TreatMissingData: 'notBreaching',
  };

  it.each(queues)('$name dead-letter queue: alarm when a message is visible', (spec) => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      ...alarmProperties,
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [deadLetterQueueId(spec.name), 'QueueName'] } }],
    });
  });

  it.each(functions)('$name: alarm on any error', (spec) => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      ...alarmProperties,
      Namespace: 'AWS/Lambda',
      MetricName: 'Errors',
      Statistic: 'Sum',
      Dimensions: [{ Name: 'FunctionName', Value: { Ref: functionId(spec.name) } }],
    });
  });

  it('Kommo 403 (wrong channel secret): Powertools metric KommoCallForbidden, sum over 5 minutes above 0', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      ...alarmProperties,
      Namespace: 'KommoLiveBridge',
      MetricName: 'KommoCallForbidden',
      Dimensions: [{ Name: 'service', Value: 'kommo-live-bridge' }],
      Statistic: 'Sum',
      Period: 300,
    });
  });
});

describe('alarm notifications', () => {
  const topicId = () => logicalId(stack.alarmTopic);

  it('every alarm tells the alarm topic when it fires and when it is over', () => {
    const alarms = Object.values(resources).filter((resource) => resource.Type === 'AWS::CloudWatch::Alarm');
    expect(alarms.length).toBe(queues.length + functions.length + 1);
    for (const alarm of alarms) {
      expect(alarm.Properties!.AlarmActions, alarm.Properties!.AlarmDescription).toEqual([{ Ref: topicId() }]);
      expect(alarm.Properties!.OKActions, alarm.Properties!.AlarmDescription).toEqual([{ Ref: topicId() }]);
    }
  });

  it('the topic is encrypted with a rotated key CloudWatch may use, and accepts only TLS', () => {
    const topic = resources[topicId()]!;
    const keyId = (topic.Properties!.KmsMasterKeyId as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
    expect(resources[keyId]).toMatchObject({ Type: 'AWS::KMS::Key', Properties: { EnableKeyRotation: true } });
    const keyStatements = resources[keyId]!.Properties!.KeyPolicy.Statement as {
      Principal?: { Service?: string };
      Action: string[];
    }[];
    expect(keyStatements).toContainEqual(
      expect.objectContaining({
        Principal: { Service: 'cloudwatch.amazonaws.com' },
        Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
      }),
    );
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
  });

  it('subscribes the AlarmEmail address only when one is given', () => {
    const subscriptions = Object.values(
      template.toJSON().Resources as Record<
        string,
        { Type: string; Condition?: string; Properties: Record<string, unknown> }
      >,
    ).filter((resource) => resource.Type === 'AWS::SNS::Subscription');
    expect(subscriptions).toEqual([
      expect.objectContaining({
        Condition: 'AlarmEmailGiven',
        Properties: { TopicArn: { Ref: topicId() }, Protocol: 'email', Endpoint: { Ref: 'AlarmEmail' } },
      }),
    ]);
    expect(template.toJSON().Conditions.AlarmEmailGiven).toEqual({
      'Fn::Not': [{ 'Fn::Equals': [{ Ref: 'AlarmEmail' }, ''] }],
    });
  });
});

describe('dashboard', () => {
  /** The dashboard's widgets, with each token of the body as a placeholder. */
  const widgets = () => {
    const dashboard = Object.values(resources).find((resource) => resource.Type === 'AWS::CloudWatch::Dashboard')!;
    const parts = (dashboard.Properties!.DashboardBody as { 'Fn::Join': [string, unknown[]] })['Fn::Join'][1];
    const body = parts
      .map((part) => (typeof part === 'string' ? part : `<${JSON.stringify(part).replaceAll('"', "'")}>`))
      .join('');
    return (JSON.parse(body) as { widgets: { properties: { title: string; metrics: unknown[][] } }[] }).widgets.map(
      (widget) => widget.properties,
    );
  };
  const metricNamesOf = (title: RegExp) => {
    const widget = widgets().find((candidate) => title.test(candidate.title));
    expect(widget, String(title)).toBeDefined();
    return widget!.metrics.map((metric) => metric[1]);
  };

  it('shows Kommo calls: succeeded, failed and forbidden', () => {
    expect(metricNamesOf(/^Kommo calls/)).toEqual(['KommoCallSucceeded', 'KommoCallFailed', 'KommoCallForbidden']);
  });

  it('shows the typing calls made against the typing starts coalesced', () => {
    expect(metricNamesOf(/^Typing calls/)).toEqual(['KommoTypingCall', 'TypingStartCoalesced']);
  });

  it('shows the Kommo hooks accepted and rejected', () => {
    expect(metricNamesOf(/^Kommo hooks/)).toEqual(['KommoHookAccepted', 'KommoHookRejected']);
  });

  it('shows the dead letters waiting in every queue', () => {
    expect(metricNamesOf(/^Dead letters/)).toEqual(queues.map(() => 'ApproximateNumberOfMessagesVisible'));
    const labels = widgets()
      .find((widget) => widget.title.startsWith('Dead letters'))!
      .metrics.map((metric) => (metric.at(-1) as { label: string }).label);
    expect(labels).toEqual(queues.map((queue) => queue.name));
  });

  it('shows the live channel pushes', () => {
    expect(metricNamesOf(/^Live channel pushes/)).toEqual(['LiveFramePushed', 'LiveConnectionGone', 'LivePushFailed']);
  });

  it('every bridge metric on it is one the functions publish, in their namespace and service', () => {
    for (const widget of widgets()) {
      for (const metric of widget.metrics.filter((candidate) => candidate[0] === 'KommoLiveBridge'))
        expect(metric.slice(2, 4), widget.title).toEqual(['service', 'kommo-live-bridge']);
    }
  });
});

describe('custom domain', () => {
  let domainStack: BridgeStack;
  let domainTemplate: Template;
  const certificateArn = 'arn:aws:acm:eu-west-1:123456789012:certificate/00000000-0000-4000-8000-000000000000';

  beforeAll(() => {
    // Prepare: a second instance of the stack, with a custom domain for the API and the live channel.
    domainStack = new BridgeStack(templateOnlyApp(), 'BridgeWithDomain', {
      customDomain: { domainName: 'bridge.example.com', certificateArn, liveDomainName: 'live.bridge.example.com' },
    });
    // Act
    domainTemplate = Template.fromStack(domainStack);
  });

  it('maps the HTTP API and the live channel to their domains, with the certificate and TLS 1.2', () => {
    const json = domainTemplate.toJSON().Resources as Resources;
    const idOf = (construct: IConstruct) => domainStack.getLogicalId(construct.node.defaultChild as CfnResource);
    for (const domainName of ['bridge.example.com', 'live.bridge.example.com']) {
      domainTemplate.hasResourceProperties('AWS::ApiGatewayV2::DomainName', {
        DomainName: domainName,
        DomainNameConfigurations: [Match.objectLike({ CertificateArn: certificateArn, SecurityPolicy: 'TLS_1_2' })],
      });
    }
    const mappings = Object.values(json).filter((resource) => resource.Type === 'AWS::ApiGatewayV2::ApiMapping');
    expect(
      mappings
        .map((mapping) => mapping.Properties!.ApiId)
        .sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))),
    ).toEqual(
      [{ Ref: idOf(domainStack.api) }, { Ref: idOf(domainStack.liveApi) }].sort((a, b) =>
        JSON.stringify(a).localeCompare(JSON.stringify(b)),
      ),
    );
    expect(mappings.every((mapping) => mapping.Properties!.ApiMappingKey === undefined)).toBe(true);
  });

  it('outputs the URLs to register in Kommo on the custom domain, which a redeploy keeps', () => {
    const output = (name: string) => domainTemplate.findOutputs(name)[name]?.Value;
    expect(output('KommoWebhookUrl')).toBe('https://bridge.example.com/kommo/:scope_id');
    expect(output('KommoDisableHookUrl')).toBe('https://bridge.example.com/kommo/uninstall');
    expect(output('ChatServiceBaseUrl')).toBe('https://bridge.example.com/chat/');
    expect(output('LiveChannelUrl')).toBe('wss://live.bridge.example.com');
    expect(JSON.stringify(output('KommoIntegrationRedirectUri'))).toContain('https://bridge.example.com/kommo/install');
    expect(domainTemplate.findOutputs('ApiDomainTarget').ApiDomainTarget?.Value).toEqual({
      'Fn::GetAtt': [expect.any(String), 'RegionalDomainName'],
    });
  });

  it('gives the widget the live channel on its domain', () => {
    const json = domainTemplate.toJSON().Resources as Resources;
    const widgetId = domainStack.getLogicalId(
      domainStack.functions.get('widget')!.function.node.defaultChild as CfnResource,
    );
    expect(json[widgetId]!.Properties!.Environment.Variables[liveChannelVariables.address]).toBe(
      'wss://live.bridge.example.com',
    );
  });

  it('is cdk-nag clean too', () => {
    const report = new AwsSolutionsChecks().validateScope(domainStack);
    expect(
      report.violations.map(
        (violation) =>
          `${violation.ruleName} at ${violation.violatingResources.map((resource) => resource.constructPath).join(', ')}`,
      ),
    ).toEqual([]);
  });
});

describe('outputs', () => {
  const joined = (name: string) => JSON.stringify(template.findOutputs(name)[name]?.Value);

  it.each([
    'ApiUrl',
    'LiveChannelUrl',
    'KommoWebhookUrl',
    'KommoIntegrationRedirectUri',
    'KommoDisableHookUrl',
    'ChatServiceBaseUrl',
    'KommoChannelIdSecretName',
    'KommoChannelSecretName',
    'ChatServiceSecretName',
    'KommoIntegrationSecretName',
    'AdminSecretName',
    'TableName',
    'AlarmTopicArn',
    'DashboardName',
  ])('%s exists', (name) => {
    template.hasOutput(name, { Value: Match.anyValue() });
  });

  it('KommoWebhookUrl is the API URL with /kommo/:scope_id, ready to register in Kommo', () => {
    expect(joined('KommoWebhookUrl')).toMatch(/\/kommo\/:scope_id"\]\]\}$/);
  });

  it('ChatServiceBaseUrl is the API URL with /chat/', () => {
    expect(joined('ChatServiceBaseUrl')).toMatch(/\/chat\/"\]\]\}$/);
  });
});

describe('bundles', () => {
  it.each(functions)(
    '$name: bundled from its handler into one ES module with every dependency, the AWS SDK included, and a linked source map',
    (spec) => {
      const assembly = app.synth();
      const assetHash = (resources[functionId(spec.name)]!.Properties!.Code.S3Key as string).replace(/\.zip$/, '');
      const bundle = join(assembly.directory, `asset.${assetHash}`);
      const code = readFileSync(join(bundle, 'index.mjs'), 'utf8');
      expect(existsSync(join(bundle, 'index.mjs.map'))).toBe(true);
      expect(code).toContain('//# sourceMappingURL=index.mjs.map');
      // What the module loads at run time: static imports, dynamic imports and require() through createRequire.
      const loads = [
        ...code.matchAll(/(?:\brequire\(|\bimport\()"([^"]+)"\)/g),
        ...code.matchAll(/\bimport\s*(?:[\w$]+\s*,?\s*)?(?:\{[^}]*\}|\*\s*as\s+[\w$]+)?\s*from\s*"([^"]+)"/g),
        ...code.matchAll(/\bimport\s*"([^"]+)"/g),
      ];
      const required = new Set(loads.map((match) => match[1]!));
      const external = [...required].filter((name) => !builtinModules.includes(name.replace(/^node:/, '')));
      // The CRT signer is an optional, guarded require for SigV4a only, and event streams a dynamic import
      // for event-stream operations only: the bridge uses neither.
      expect(external.filter((name) => name !== '@aws-sdk/signature-v4-crt' && name !== sdkEventStreams)).toEqual([]);
    },
  );
});

describe('cdk-nag AwsSolutions', () => {
  it('reports no unacknowledged error or warning', () => {
    const report = new AwsSolutionsChecks().validateScope(stack);
    const findings = report.violations.map(
      (violation) =>
        `${violation.severity} ${violation.ruleName} at ${violation.violatingResources.map((resource) => resource.constructPath).join(', ')}`,
    );
    expect(findings).toEqual([]);
  });

  it('gives every acknowledgement a specific reason', () => {
    const acknowledgements = stack.node
      .findAll()
      .flatMap((construct) =>
        construct.node.metadata.filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY),
      )
      .flatMap((entry) => Object.entries(entry.data as Record<string, string>));
    expect(acknowledgements.length).toBeGreaterThan(0);
    for (const [rule, reason] of acknowledgements) expect(reason.length, rule).toBeGreaterThan(60);
  });

  it('synthesizes without CDK warnings or errors', () => {
    expect(Annotations.fromStack(stack).findWarning('*', Match.anyValue())).toEqual([]);
    expect(Annotations.fromStack(stack).findError('*', Match.anyValue())).toEqual([]);
  });
});

describe('limits set at deploy time', () => {
  let limitedTemplate: Template;

  beforeAll(() => {
    // Prepare: every limit away from its default, as a 1,000-account deployment would set them.
    const limitedApp = templateOnlyApp();
    const limited = new BridgeStack(limitedApp, 'WithLimits', {
      apiThrottle: { rateLimit: 4000, burstLimit: 5000 },
      liveChannelThrottle: { rateLimit: 1500, burstLimit: 3000 },
      consumerMaxConcurrency: 300,
      reservedConcurrency: { 'event-dispatcher': 400, 'kommo-hook': 50 },
      tableMaxThroughput: { readRequestUnits: 12000, writeRequestUnits: 20000 },
      debugLogSampleRate: 0.05,
      consumerBatchingWindowSeconds: { 'kommo-status': 2 },
      tracing: true,
      lambdaPlatformLogs: false,
      functionMemoryMb: 256,
      kommoUserPresence: { pingSeconds: 60, windowSeconds: 150 },
    });
    // Act
    limitedTemplate = Template.fromStack(limited);
  });

  it("traces every function with X-Ray, and logs as JSON with Lambda's own lines at WARN only, when asked", () => {
    const functions = Object.values(limitedTemplate.findResources('AWS::Lambda::Function')).filter(
      (resource) => (resource.Properties as { Handler?: string }).Handler === 'index.handler',
    );
    expect(functions.length).toBeGreaterThan(0);
    for (const resource of functions)
      expect(resource.Properties).toMatchObject({
        TracingConfig: { Mode: 'Active' },
        LoggingConfig: { LogFormat: 'JSON', SystemLogLevel: 'WARN', ApplicationLogLevel: 'DEBUG' },
      });
  });

  it("gives every function the memory asked for, in place of the manifest's", () => {
    const lambdas = Object.values(limitedTemplate.findResources('AWS::Lambda::Function')).filter(
      (resource) => (resource.Properties as { Handler?: string }).Handler === 'index.handler',
    );
    expect(lambdas).toHaveLength(functions.length);
    for (const resource of lambdas) expect(resource.Properties).toMatchObject({ MemorySize: 256 });
  });

  it("tells every function but the 404 answer the Kommo user's ping and window chosen", () => {
    const lambdas = Object.values(limitedTemplate.findResources('AWS::Lambda::Function')).filter(
      (resource) => (resource.Properties as { Handler?: string }).Handler === 'index.handler',
    );
    const variables = lambdas.map(
      (resource) =>
        (resource.Properties as { Environment: { Variables: Record<string, unknown> } }).Environment.Variables,
    );
    const told = variables.filter((vars) => vars.KOMMO_USER_PING_SECONDS !== undefined);
    expect(told).toHaveLength(functions.length - 1);
    for (const vars of told)
      expect(vars).toMatchObject({ KOMMO_USER_PING_SECONDS: '60', KOMMO_USER_WINDOW_SECONDS: '150' });
  });

  it('gives the kommo-status mapping its batching window, and no other', () => {
    const mappings = Object.values(limitedTemplate.findResources('AWS::Lambda::EventSourceMapping'));
    const windows = mappings.map(
      (mapping) => (mapping.Properties as { MaximumBatchingWindowInSeconds?: number }).MaximumBatchingWindowInSeconds,
    );
    expect(windows.filter((window) => window !== undefined)).toEqual([2]);
  });

  it('samples DEBUG logs in every function at the given rate', () => {
    const functions = Object.values(limitedTemplate.findResources('AWS::Lambda::Function')).filter(
      (resource) => (resource.Properties as { Environment?: unknown }).Environment !== undefined,
    );
    expect(functions.length).toBeGreaterThan(0);
    for (const resource of functions)
      expect(
        (resource.Properties as { Environment: { Variables: Record<string, unknown> } }).Environment.Variables
          .POWERTOOLS_LOGGER_SAMPLE_RATE,
      ).toBe('0.05');
  });

  it('throttles the HTTP API and the live channel stages at the given rates and bursts', () => {
    limitedTemplate.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: '$default',
      DefaultRouteSettings: { ThrottlingBurstLimit: 5000, ThrottlingRateLimit: 4000 },
    });
    limitedTemplate.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: 'live',
      DefaultRouteSettings: { ThrottlingBurstLimit: 3000, ThrottlingRateLimit: 1500 },
    });
  });

  it('caps every queue consumer at the given concurrency', () => {
    const mappings = Object.values(limitedTemplate.findResources('AWS::Lambda::EventSourceMapping'));
    expect(mappings).toHaveLength(queues.length);
    for (const mapping of mappings) expect(mapping.Properties.ScalingConfig).toEqual({ MaximumConcurrency: 300 });
  });

  it('reserves concurrency for the named functions only', () => {
    const reserved = Object.values(limitedTemplate.findResources('AWS::Lambda::Function'))
      .map(
        (resource) => (resource.Properties as { ReservedConcurrentExecutions?: number }).ReservedConcurrentExecutions,
      )
      .filter((count) => count !== undefined)
      .sort((a, b) => a - b);
    expect(reserved).toEqual([50, 400]);
    limitedTemplate.hasResourceProperties('AWS::Lambda::Function', {
      Description: functions.find((spec) => spec.name === 'event-dispatcher')!.description,
      ReservedConcurrentExecutions: 400,
    });
  });

  it('caps the on-demand table throughput', () => {
    limitedTemplate.hasResourceProperties('AWS::DynamoDB::Table', {
      BillingMode: 'PAY_PER_REQUEST',
      OnDemandThroughput: { MaxReadRequestUnits: 12000, MaxWriteRequestUnits: 20000 },
    });
  });

  it('puts the table on provisioned capacity with autoscaling when asked, within the given ranges', () => {
    // Prepare
    const provisionedApp = templateOnlyApp();
    const provisionedStack = new BridgeStack(provisionedApp, 'Provisioned', {
      tableProvisionedCapacity: {
        read: { min: 50, max: 2000 },
        write: { min: 100, max: 8000 },
        targetUtilizationPercent: 60,
      },
    });
    // Act
    const template = Template.fromStack(provisionedStack);
    // Assess
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      ProvisionedThroughput: { ReadCapacityUnits: 50, WriteCapacityUnits: 100 },
    });
    expect(JSON.stringify(template.findResources('AWS::DynamoDB::Table'))).not.toContain('PAY_PER_REQUEST');
    template.hasResourceProperties('AWS::ApplicationAutoScaling::ScalableTarget', {
      ScalableDimension: 'dynamodb:table:ReadCapacityUnits',
      MinCapacity: 50,
      MaxCapacity: 2000,
    });
    template.hasResourceProperties('AWS::ApplicationAutoScaling::ScalableTarget', {
      ScalableDimension: 'dynamodb:table:WriteCapacityUnits',
      MinCapacity: 100,
      MaxCapacity: 8000,
    });
    const policies = Object.values(template.findResources('AWS::ApplicationAutoScaling::ScalingPolicy'));
    expect(policies.map((policy) => policy.Properties.TargetTrackingScalingPolicyConfiguration.TargetValue)).toEqual([
      60, 60,
    ]);
    expect(
      new AwsSolutionsChecks().validateScope(provisionedStack).violations.map((violation) => violation.ruleName),
    ).toEqual([]);
  });

  it.each([
    [
      'with an on-demand cap',
      {
        tableProvisionedCapacity: { read: { min: 1, max: 2 }, write: { min: 1, max: 2 } },
        tableMaxThroughput: { readRequestUnits: 10, writeRequestUnits: 10 },
      },
      /exclude each other/,
    ],
    [
      'with max below min',
      { tableProvisionedCapacity: { read: { min: 10, max: 2 }, write: { min: 1, max: 2 } } },
      /read needs whole units with 1 <= min <= max; got 10-2/,
    ],
    [
      'with a target outside 20-90 %',
      {
        tableProvisionedCapacity: { read: { min: 1, max: 2 }, write: { min: 1, max: 2 }, targetUtilizationPercent: 95 },
      },
      /must be 20-90; got 95/,
    ],
  ])('refuses provisioned capacity %s', (_, props, message) => {
    const otherApp = templateOnlyApp();
    expect(() => new BridgeStack(otherApp, 'BadCapacity', props)).toThrow(message);
  });

  it.each([
    ['a sample rate above 1', { debugLogSampleRate: 2 }, /debugLogSampleRate must be between 0 and 1, got 2/],
    [
      "memory below Lambda's 128 MB",
      { functionMemoryMb: 64 },
      /functionMemoryMb must be a whole number of MB from 128 to 10240, got 64/,
    ],
    [
      'memory that is not whole megabytes',
      { functionMemoryMb: 256.5 },
      /functionMemoryMb must be a whole number of MB from 128 to 10240, got 256.5/,
    ],
    [
      'a batching window over 300 s',
      { consumerBatchingWindowSeconds: { timers: 301 } },
      /the batching window of the timers queue must be 0 to 300 whole seconds, got 301/,
    ],
  ])('refuses %s', (_, props, message) => {
    const otherApp = templateOnlyApp();
    expect(() => new BridgeStack(otherApp, 'BadLogs', props)).toThrow(message);
  });

  it("refuses a consumer reservation below the mapping's maximum concurrency, which would throttle the queue against itself", () => {
    const otherApp = templateOnlyApp();
    expect(
      () =>
        new BridgeStack(otherApp, 'Starved', {
          consumerMaxConcurrency: 100,
          reservedConcurrency: { 'hook-worker': 20 },
        }),
    ).toThrow(/reservedConcurrency of hook-worker \(20\) is below consumerMaxConcurrency \(100\)/);
  });
});
