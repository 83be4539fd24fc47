import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { SecretReader } from './secret-settings';

/** `GetSecretValue` through the SDK client; a secret without a string value is an error, not an empty one. */
export function secretsManagerReader(client: SecretsManagerClient): SecretReader {
  return async (secretArn) => {
    const answer = await client.send(new GetSecretValueCommand({ SecretId: secretArn }));
    if (answer.SecretString === undefined) throw new Error(`secret ${secretArn} holds no string value`);
    return answer.SecretString;
  };
}

/**
 * The secret reader of a Lambda function that holds secrets, with one Secrets Manager client per
 * container. Passed by the composition roots of those functions only (`functions/<name>/index.ts`),
 * so a function that holds no secret carries no Secrets Manager client.
 */
export function lambdaSecretReader(): SecretReader {
  return secretsManagerReader(new SecretsManagerClient({}));
}
