import { RemovalPolicy, SecretValue, Validations } from 'aws-cdk-lib';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import { secretGroups, type SecretGroup } from '../../functions/core/config';
import { pascalCase } from './names';
import { StackPart } from './stack-part';

const descriptions: Readonly<Record<SecretGroup, string>> = {
  'kommo-channel-id':
    'the channel id Kommo issued (not secret, but filled in after deploy, when Kommo has issued the channel)',
  'kommo-channel': 'the channel secret Kommo issued',
  'chat-service': 'the Standard Webhooks secret shared with the chat service, and the previous one during a rotation',
  'kommo-integration': "the Kommo integration's secret key (widget one-time tokens)",
  admin: 'the operator token for /admin/... (generated)',
};

/**
 * The secret settings: one secret per group of holders, each a JSON object, so a function can read
 * only what it uses. Created with a generated admin token and empty values for the secrets other
 * parties issue, so nothing secret is in the template; the operator fills those in after deploy,
 * and the functions holding them refuse to start until they are valid.
 */
export class BridgeSecrets extends StackPart {
  /** The secrets holding the bridge's secret settings as JSON, one per group of holders (functions/core/config.ts). */
  readonly secrets: ReadonlyMap<SecretGroup, secretsmanager.Secret>;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    const secrets = new Map<SecretGroup, secretsmanager.Secret>();
    for (const group of Object.keys(secretGroups) as SecretGroup[]) {
      const keys: readonly string[] = secretGroups[group];
      const empty = Object.fromEntries(keys.map((key) => [key, SecretValue.unsafePlainText('')]));
      const secret = new secretsmanager.Secret(this, `${pascalCase(group)}Secret`, {
        description: `Kommo Live Bridge: ${descriptions[group]}. JSON with keys ${keys.join(', ')}.`,
        ...(group === 'admin'
          ? {
              generateSecretString: {
                secretStringTemplate: '{}',
                generateStringKey: 'ADMIN_TOKEN',
                excludePunctuation: true,
                passwordLength: 48,
              },
            }
          : // Empty placeholders only: the values are entered after deploy and never pass through the template.
            { secretObjectValue: empty }),
        // The values were entered by hand and some were issued by Kommo; a stack replacement must not lose them.
        removalPolicy: RemovalPolicy.RETAIN,
      });
      Validations.of(secret).acknowledge({
        id: 'AwsSolutions-SMG4',
        reason:
          'The channel secret and client secret are issued by Kommo and the chat-service secret is shared with the ' +
          'integrator; none can be rotated by a Lambda without the other party. The functions re-read their secrets ' +
          'every 5 minutes, so a manual rotation needs no redeploy (docs: rotating secrets).',
      });
      secrets.set(group, secret);
    }
    this.secrets = secrets;
  }
}
