import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { BridgeStack } from './bridge-stack';

const app = new App();

// Optional custom domain: `cdk deploy -c domainName=bridge.example.com -c certificateArn=arn:aws:acm:…`
// (and `-c liveDomainName=live.bridge.example.com` for the live channel), so the URLs registered
// with Kommo survive a replacement of the API.
const context = (key: string): string | undefined => (app.node.tryGetContext(key) as string | undefined) || undefined;
const domainName = context('domainName');
const certificateArn = context('certificateArn');
if ((domainName === undefined) !== (certificateArn === undefined)) throw new Error('A custom domain needs both -c domainName=… and -c certificateArn=…');
const liveDomainName = context('liveDomainName');

new BridgeStack(app, 'KommoLiveBridge', {
  description: 'Kommo Live Bridge: typing, presence and delivery status between Kommo chats and a messenger',
  ...(domainName && certificateArn ? { customDomain: { domainName, certificateArn, ...(liveDomainName ? { liveDomainName } : {}) } } : {}),
});

// cdk-nag v3 is a policy-validation plugin: every finding that is not acknowledged next to its
// resource (with a reason) is reported by `cdk synth` and fails it.
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
