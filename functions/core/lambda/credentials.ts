/**
 * The AWS SDK's credential chain as Lambda needs it. Lambda hands every function its role's temporary
 * credentials in `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and `AWS_SESSION_TOKEN`, valid for the
 * execution environment's life, so the bundles resolve `@aws-sdk/credential-provider-node` to this
 * module (infra/constructs/bridge-function.ts) instead of the full chain: profiles, SSO, web identity
 * and the instance metadata service would add about 90 KB (their STS and SSO clients) to every bundle
 * for sources Lambda never uses.
 */
export interface LambdaCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

export function defaultProvider(): () => Promise<LambdaCredentials> {
  return async () => {
    const accessKeyId = process.env.AWS_ACCESS_KEY_ID;
    const secretAccessKey = process.env.AWS_SECRET_ACCESS_KEY;
    if (!accessKeyId || !secretAccessKey)
      throw new Error(
        'AWS credentials are missing: Lambda sets AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY for every function',
      );
    const sessionToken = process.env.AWS_SESSION_TOKEN;
    return { accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) };
  };
}
