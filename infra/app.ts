import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { BridgeStack } from './bridge-stack';
import { stackPropsFromContext } from './stack-context';

const app = new App();

// A custom domain and the limits are set with `-c key=value` (infra/stack-context.ts names them all).
new BridgeStack(app, 'KommoLiveBridge', {
  ...stackPropsFromContext((key) => app.node.tryGetContext(key)),
  description: 'Kommo Live Bridge: typing, presence and delivery status between Kommo chats and a messenger',
});

// cdk-nag v3 is a policy-validation plugin: every finding that is not acknowledged next to its
// resource (with a reason) is reported by `cdk synth` and fails it.
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
