import { readFileSync } from 'node:fs';
import { App, CfnElement, CfnResource, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { beforeAll, describe, expect, it } from 'vitest';
import { BridgeStack } from '../../infra/bridge-stack';
import { logicalIdWithoutParts, StackPart, uniqueIdOf } from '../../infra/constructs/stack-part';

const cdkJson = JSON.parse(readFileSync(new URL('../../cdk.json', import.meta.url), 'utf8')) as {
  context: Record<string, unknown>;
};
/** Template only: no esbuild run (CDK bundles only the stacks named in `aws:cdk:bundling-stacks`). */
const templateOnlyApp = () => new App({ context: { ...cdkJson.context, 'aws:cdk:bundling-stacks': [] } });

class Group extends StackPart {}

describe('logical ids of a stack split into parts', () => {
  it("computes a path's logical id exactly as CDK does", () => {
    // Prepare: ids that exercise each rule of CDK's scheme (hidden "Default", "Resource" kept out of the
    // readable part, repeated components, characters that are not alphanumeric, one short component).
    const stack = new Stack(templateOnlyApp(), 'Plain');
    new sqs.Queue(stack, 'Queue');
    const outer = new Construct(stack, 'Outer-Part');
    new sqs.Queue(outer, 'OuterQueue');
    new sqs.Queue(new Construct(outer, 'Default'), 'Hidden');
    new CfnResource(stack, 'Short', { type: 'AWS::SQS::Queue' });
    new CfnResource(new Construct(stack, 'x'.repeat(300)), 'Long', { type: 'AWS::SQS::Queue' });
    const elements = stack.node.findAll().filter((construct) => construct instanceof CfnElement);

    // Act
    // Below the app and the stack, as CDK reads it.
    const ours = elements.map((element) => uniqueIdOf(element.node.scopes.slice(2).map((scope) => scope.node.id)));

    // Assess
    expect(elements.length).toBeGreaterThanOrEqual(5);
    expect(ours).toEqual(elements.map((element) => stack.getLogicalId(element)));
  });

  it('leaves parts out of the logical ids of what they hold, and only parts', () => {
    // Prepare
    const stack = new Stack(templateOnlyApp(), 'WithParts');
    const inPart = new sqs.Queue(new Group(stack, 'Part'), 'Queue');
    const inConstruct = new sqs.Queue(new Construct(stack, 'Part2'), 'Queue');
    const alone = new sqs.Queue(new Stack(templateOnlyApp(), 'Reference'), 'Queue');
    const cfn = (queue: sqs.Queue) => queue.node.defaultChild as CfnElement;

    // Act
    const partId = logicalIdWithoutParts(stack, cfn(inPart));
    const constructId = logicalIdWithoutParts(stack, cfn(inConstruct));

    // Assess
    expect(partId).toBe(Stack.of(alone).getLogicalId(cfn(alone)));
    expect(constructId).toBe(stack.getLogicalId(cfn(inConstruct)));
    expect(constructId).toMatch(/^Part2Queue/);
  });

  let template: { Resources: Record<string, { Type: string }> };
  beforeAll(() => {
    // Prepare: the stack as `cdk synth` makes it (in a hook: building its template takes a while on a busy machine).
    template = Template.fromStack(new BridgeStack(templateOnlyApp(), 'KommoLiveBridge')).toJSON() as typeof template;
  });

  it('keeps the logical ids the stack had as one class, so a deploy replaces no API, table, queue, secret or mapping', () => {
    // Act: ids as `cdk synth` made them before the stack was split into parts. A changed id makes
    // CloudFormation replace the resource: a new API address Kommo does not know, a new empty table or
    // queue, or a second mapping of a queue, which Lambda refuses.
    const idsOf = (type: string) =>
      Object.entries(template.Resources)
        .filter(([, resource]) => resource.Type === type)
        .map(([id]) => id)
        .sort();

    // Assess
    expect(idsOf('AWS::ApiGatewayV2::Api')).toEqual(['ApiF70053CD', 'LiveApiB77CC7CA']);
    expect(idsOf('AWS::ApiGatewayV2::Stage')).toEqual(['ApiDefaultStage829AE46A', 'LiveStage762261E2']);
    expect(idsOf('AWS::DynamoDB::Table')).toEqual(['TableCD117FA1']);
    expect(idsOf('AWS::SecretsManager::Secret')).toEqual([
      'AdminSecretB9452750',
      'ChatServiceSecretD35B4221',
      'KommoChannelIdSecret150917E6',
      'KommoChannelSecret984B88D7',
      'KommoIntegrationSecretCE2B8A18',
    ]);
    expect(idsOf('AWS::SQS::Queue')).toEqual([
      'EventsQueue4C7AF1FB',
      'EventsQueueDeadLetterQueue3E12EAC3',
      'HooksQueueCDA7F161',
      'HooksQueueDeadLetterQueueDA33F775',
      'KommoStatusQueue3E072C48',
      'KommoStatusQueueDeadLetterQueueA2D61AAB',
      'TimersQueue08CAFF2A',
      'TimersQueueDeadLetterQueue16C38CD3',
    ]);
    expect(idsOf('AWS::Lambda::EventSourceMapping')).toEqual([
      'EventDispatcherFunctionSqsEventSourceKommoLiveBridgeEventsQueueC6D2765F76251D28',
      'HookWorkerFunctionSqsEventSourceKommoLiveBridgeHooksQueueFD54747F74BE099F',
      'KommoStatusSenderFunctionSqsEventSourceKommoLiveBridgeKommoStatusQueueADC9BCA2286383A3',
      'TimerWorkerFunctionSqsEventSourceKommoLiveBridgeTimersQueue7A8B6E1D62275D72',
    ]);
    expect(idsOf('AWS::ApiGateway::Account')).toEqual(['ApiGatewayAccount']);
    expect(idsOf('AWS::SNS::Topic')).toEqual(['AlarmTopicD01E77F9']);
  });
});
