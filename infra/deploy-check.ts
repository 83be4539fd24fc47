import { existsSync, readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { DynamoAccountBindingStore } from '../functions/core/adapters/dynamodb/account-binding-store';
import { itemKinds } from '../functions/core/adapters/dynamodb/item-kinds';
import { documentClient } from '../functions/core/adapters/dynamodb/table';
import { configSchema, secretGroups, type SecretGroup, type SecretSettingName } from '../functions/core/config';

/**
 * `npm run deploy:check`: what a deployed bridge still lacks, in the order the operator fills it in.
 * Kommo issues the channel (id and secret) only after it has the webhook URL, so a fresh deploy is
 * expected to lack it; this names each missing piece and where it goes, never a value.
 *
 * It reads the stack's outputs from the file `cdk deploy --outputs-file` writes (`npm run deploy`
 * writes `cdk-outputs.json`), so it needs no CloudFormation client: the secret names, the table name
 * and the integration id are all outputs.
 */

/** The outputs of one stack, as `cdk deploy --outputs-file` writes them. */
export type StackOutputs = Readonly<Record<string, string>>;

/** One thing still missing, and what to do about it. */
export interface MissingPiece {
  what: string;
  todo: string;
}

export interface DeploymentReader {
  /** A secret's JSON string by name; undefined when there is no such secret. */
  secret(name: string): Promise<string | undefined>;
  /** Whether at least one Kommo account is bound (installed, or connected with POST /admin/connect). */
  anyAccountBound(tableName: string): Promise<boolean>;
}

const pascalCase = (name: string) =>
  name.replace(/(^|-)([a-z])/g, (_match, _dash, letter: string) => letter.toUpperCase());

/** The output naming a group's secret (infra/bridge-stack.ts, `declareOutputs`). */
export const secretNameOutput = (group: SecretGroup) => `${pascalCase(group)}SecretName`;

/** The secret settings the operator fills in, by group, with what each one is and who issues it. */
const filledIn: readonly {
  group: SecretGroup;
  setting: SecretSettingName;
  source: (outputs: StackOutputs) => string;
}[] = [
  {
    group: 'kommo-channel-id',
    setting: 'KOMMO_CHANNEL_ID',
    source: (outputs) =>
      `send the webhook URL ${outputs.KommoWebhookUrl ?? '(output KommoWebhookUrl)'} to Kommo's support; put the channel id they issue here`,
  },
  {
    group: 'kommo-channel',
    setting: 'KOMMO_CHANNEL_SECRET',
    source: () => 'put the channel secret Kommo issued with the channel id here',
  },
  {
    group: 'chat-service',
    setting: 'CHAT_SERVICE_SECRET',
    source: () => 'put the Standard Webhooks secret (whsec_…) shared with the chat service here',
  },
  {
    group: 'kommo-integration',
    setting: 'KOMMO_CLIENT_SECRET',
    source: (outputs) =>
      `register the integration in Kommo (Redirect URI ${outputs.KommoIntegrationRedirectUri ?? '(output KommoIntegrationRedirectUri)'}), then put its secret key here`,
  },
];

/** Everything the deployment still lacks; empty when it is ready. */
export async function missingPieces(outputs: StackOutputs, reader: DeploymentReader): Promise<MissingPiece[]> {
  const missing: MissingPiece[] = [];
  for (const { group, setting, source } of filledIn) {
    const secretName = outputs[secretNameOutput(group)];
    if (!secretName) {
      missing.push({
        what: `the stack outputs name no ${group} secret (${secretNameOutput(group)})`,
        todo: 'deploy with --outputs-file, or pass the outputs file of this stack',
      });
      continue;
    }
    const value = settingIn(await reader.secret(secretName), setting);
    if (value === 'no secret')
      missing.push({
        what: `secret ${secretName} does not exist`,
        todo: 'deploy the stack again; its secrets are created with it',
      });
    else if (value === 'not JSON')
      missing.push({
        what: `secret ${secretName} is not a JSON object`,
        todo: `put {"${setting}": "…"} there (${secretGroups[group].join(', ')})`,
      });
    else if (value === undefined || value === '')
      missing.push({ what: `${setting} is empty in secret ${secretName}`, todo: source(outputs) });
    else {
      const checked = configSchema.shape[setting].safeParse(value);
      // The functions' own rule and message; the message names the setting, never its value.
      if (!checked.success)
        missing.push({
          what: `${setting} in secret ${secretName} is malformed: ${checked.error.issues[0]?.message ?? 'invalid'}`,
          todo: source(outputs),
        });
    }
  }
  if (!outputs.KommoIntegrationClientId) {
    missing.push({
      what: 'the KommoClientId parameter is not set',
      todo: "deploy again with --parameters KommoClientId=<the integration id from the integration's keys in Kommo>; until then installs answer 503",
    });
  }
  if (!outputs.TableName)
    missing.push({
      what: 'the stack outputs name no table (TableName)',
      todo: 'deploy with --outputs-file, or pass the outputs file of this stack',
    });
  else if (!(await reader.anyAccountBound(outputs.TableName))) {
    missing.push({
      what: 'no Kommo account is bound yet',
      todo: 'install the integration in a Kommo account (or POST /admin/connect)',
    });
  }
  return missing;
}

function settingIn(
  secretString: string | undefined,
  setting: SecretSettingName,
): string | undefined | 'no secret' | 'not JSON' {
  if (secretString === undefined) return 'no secret';
  try {
    const parsed: unknown = JSON.parse(secretString);
    if (typeof parsed !== 'object' || parsed === null) return 'not JSON';
    const value = (parsed as Record<string, unknown>)[setting];
    return typeof value === 'string' ? value : undefined;
  } catch {
    return 'not JSON';
  }
}

/** The outputs of the stack in an outputs file: the named stack, or the only one. */
export function stackOutputsIn(outputsFile: string, stackName?: string): StackOutputs {
  if (!existsSync(outputsFile)) {
    throw new Error(
      `${outputsFile} does not exist: npm run deploy writes the stack outputs there; or pass the outputs file: npm run deploy:check -- <outputs-file> [stack]`,
    );
  }
  const stacks = JSON.parse(readFileSync(outputsFile, 'utf8')) as Record<string, StackOutputs>;
  const names = Object.keys(stacks);
  const name = stackName ?? (names.length === 1 ? names[0] : undefined);
  const stack = name === undefined ? undefined : stacks[name];
  if (stack === undefined) {
    throw new Error(
      `${outputsFile} holds the stacks ${names.join(', ') || '(none)'}; name the one to check: npm run deploy:check -- ${outputsFile} <stack>`,
    );
  }
  return stack;
}

/** The deployment as the AWS SDK sees it, with the caller's credentials (the operator's, not a function's). */
export function awsDeploymentReader(secretsManager: SecretsManagerClient, dynamo: DynamoDBClient): DeploymentReader {
  const bindings = (tableName: string) => new DynamoAccountBindingStore({ doc: documentClient(dynamo), tableName });
  return {
    async secret(name) {
      try {
        return (await secretsManager.send(new GetSecretValueCommand({ SecretId: name }))).SecretString;
      } catch (error) {
        if (error instanceof Error && error.name === 'ResourceNotFoundException') return undefined;
        throw error;
      }
    },
    async anyAccountBound(tableName) {
      // A scan, which the functions may not do: the operator's check reads the account items by their
      // kind, then asks the binding store, which knows their layout, whether each is bound.
      const store = bindings(tableName);
      let startKey: Record<string, unknown> | undefined;
      do {
        const page = await dynamo.send(
          new ScanCommand({
            TableName: tableName,
            FilterExpression: 'begins_with(pk, :kind)',
            ExpressionAttributeValues: { ':kind': { S: `${itemKinds.accountByAmojo}#` } },
            ProjectionExpression: 'amojoAccountId',
            ...(startKey ? { ExclusiveStartKey: startKey as never } : {}),
          }),
        );
        for (const item of page.Items ?? []) {
          const amojoAccountId = item.amojoAccountId?.S;
          if (amojoAccountId && (await store.byAmojoAccount(amojoAccountId))) return true;
        }
        startKey = page.LastEvaluatedKey;
      } while (startKey);
      return false;
    },
  };
}

/**
 * The AWS SDK's own words for a missing region or credentials name no way out; these do. Anything
 * else is the SDK's message as it is.
 */
export function explainAwsError(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const name = error instanceof Error ? error.name : '';
  if (/region is missing/i.test(message))
    return "No AWS region: set AWS_REGION to the stack's region (e.g. AWS_REGION=eu-central-1 npm run deploy:check), or a region in your AWS profile (aws configure)";
  if (name === 'CredentialsProviderError' || /could not load credentials/i.test(message))
    return "No AWS credentials: sign in (aws sso login, or aws configure) and set AWS_PROFILE, or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY; the check reads the stack's secrets and table with them";
  return message;
}

async function main([outputsFile = 'cdk-outputs.json', stackName]: string[]): Promise<void> {
  // The SDK's 9-line notice that its 2027 releases will need Node 22 is not about this check, which
  // runs on the Node the README names; the README says it once, for every AWS SDK use.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const outputs = stackOutputsIn(outputsFile, stackName);
  const missing = await missingPieces(
    outputs,
    awsDeploymentReader(new SecretsManagerClient({}), new DynamoDBClient({})),
  );
  if (missing.length === 0) {
    process.stdout.write(
      'ready: the channel, the chat-service and integration secrets, the integration id and an account binding are all there\n',
    );
    return;
  }
  process.stdout.write(
    `${missing.length} thing(s) missing:\n${missing.map((piece) => `- ${piece.what}: ${piece.todo}`).join('\n')}\n`,
  );
  process.exitCode = 1;
}

// Run as `npm run deploy:check`; imported by its tests without running.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).catch((error: unknown) => {
    process.stderr.write(`${explainAwsError(error)}\n`);
    process.exitCode = 2;
  });
}
