import { randomUUID } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { DynamoAccountBindingStore } from '../../functions/core/adapters/dynamodb/account-binding-store';
import { createBridgeTable, documentClient } from '../../functions/core/adapters/dynamodb/table';
import { secretGroups, type SecretGroup } from '../../functions/core/config';
import {
  awsDeploymentReader,
  missingPieces,
  secretNameOutput,
  stackOutputsIn,
  type DeploymentReader,
  type StackOutputs,
} from '../../infra/deploy-check';
import { SecretsManagerStandIn } from '../bundle/aws-stand-ins';

const REGION = 'eu-central-1';
const ACCOUNT_ID = '000000000000';
const sdkCredentials = { accessKeyId: 'ASIADEPLOYCHECK00000', secretAccessKey: 'deploy-check-fake-secret-access-key' };
const secretsManager = new SecretsManagerStandIn({ region: REGION, accessKeyId: sdkCredentials.accessKeyId });

const filled = {
  KOMMO_CHANNEL_ID: 'c0ffee00-0000-4000-8000-00000000dec0',
  KOMMO_CHANNEL_SECRET: '0123456789abcdef0123456789abcdef01234567',
  CHAT_SERVICE_SECRET: `whsec_${Buffer.alloc(32, 9).toString('base64')}`,
  KOMMO_CLIENT_SECRET: 'deploy-check-client-secret-0123456789',
};
const webhookUrl = 'https://api.example.test/kommo/:scope_id';

let reader: DeploymentReader;
let dynamo: DynamoDBClient;

/** A deployment as `cdk deploy` leaves it: every group's secret with empty values (admin generated), a fresh table. */
async function aDeployment(
  options: { clientId?: string } = {},
): Promise<{ outputs: StackOutputs; arns: Map<SecretGroup, string>; tableName: string }> {
  const tag = randomUUID();
  const arns = new Map<SecretGroup, string>();
  const outputs: Record<string, string> = {
    KommoWebhookUrl: webhookUrl,
    KommoIntegrationClientId: options.clientId ?? '',
  };
  for (const group of Object.keys(secretGroups) as SecretGroup[]) {
    const name = `${group}-${tag}`;
    const asDeployed = Object.fromEntries(
      secretGroups[group].map((key) => [key, group === 'admin' ? 'generated-admin-token-0123456789abcdef' : '']),
    );
    arns.set(group, secretsManager.putSecret(REGION, ACCOUNT_ID, name, JSON.stringify(asDeployed)));
    outputs[secretNameOutput(group)] = name;
  }
  const tableName = `deploy-check-${tag}`;
  await createBridgeTable(dynamo, tableName, { ttl: false });
  outputs.TableName = tableName;
  return { outputs, arns, tableName };
}

function fillIn(arns: Map<SecretGroup, string>, values: Partial<typeof filled>): void {
  for (const group of ['kommo-channel-id', 'kommo-channel', 'chat-service', 'kommo-integration'] as const) {
    const own = Object.fromEntries(
      secretGroups[group].map((key) => [key, (values as Record<string, string>)[key] ?? '']),
    );
    secretsManager.updateSecret(arns.get(group)!, JSON.stringify(own));
  }
}

async function bindAnAccount(tableName: string): Promise<void> {
  const store = new DynamoAccountBindingStore({ doc: documentClient(dynamo), tableName });
  const accounts = { kommoAccountId: 31_000_001, amojoAccountId: 'a1b2c3d4-0000-4000-8000-0000000acc01' };
  const claim = { claimId: 'deploy-check', nowMs: Date.now() };
  expect(await store.claimToConnect(accounts, claim)).toBeUndefined();
  expect(
    await store.bindClaimed(
      {
        ...accounts,
        scopeId: `${filled.KOMMO_CHANNEL_ID}_${accounts.amojoAccountId}`,
        title: 'Bridge',
        boundAtMs: claim.nowMs,
      },
      claim.claimId,
    ),
  ).toBe(true);
}

beforeAll(async () => {
  const endpoint = await secretsManager.start();
  reader = awsDeploymentReader(
    new SecretsManagerClient({ endpoint, region: REGION, credentials: sdkCredentials }),
    (dynamo = new DynamoDBClient({ endpoint: inject('dynamoEndpoint'), region: REGION, credentials: sdkCredentials })),
  );
});

afterAll(async () => {
  await secretsManager.close();
});

describe('npm run deploy:check', () => {
  it('right after a deploy, names every piece still missing, the channel first, with the webhook URL to send to Kommo', async () => {
    // Prepare
    const { outputs } = await aDeployment();

    // Act
    const missing = await missingPieces(outputs, reader);

    // Assess
    expect(missing.map((piece) => piece.what)).toEqual([
      `KOMMO_CHANNEL_ID is empty in secret ${outputs[secretNameOutput('kommo-channel-id')]}`,
      `KOMMO_CHANNEL_SECRET is empty in secret ${outputs[secretNameOutput('kommo-channel')]}`,
      `CHAT_SERVICE_SECRET is empty in secret ${outputs[secretNameOutput('chat-service')]}`,
      `KOMMO_CLIENT_SECRET is empty in secret ${outputs[secretNameOutput('kommo-integration')]}`,
      'the KommoClientId parameter is not set',
      'no Kommo account is bound yet',
    ]);
    expect(missing[0]!.todo).toContain(webhookUrl);
  });

  it('once everything is filled in, the integration id set and an account installed, finds nothing missing', async () => {
    // Prepare
    const { outputs, arns, tableName } = await aDeployment({ clientId: '5f2a3c1e-8b7d-4e21-9c3a-1d2e3f4a5b6c' });
    fillIn(arns, filled);
    await bindAnAccount(tableName);

    // Act
    const missing = await missingPieces(outputs, reader);

    // Assess
    expect(missing).toEqual([]);
  });

  it('a malformed value is named with the rule the functions apply, and no value is echoed', async () => {
    // Prepare
    const { outputs, arns, tableName } = await aDeployment({ clientId: '5f2a3c1e-8b7d-4e21-9c3a-1d2e3f4a5b6c' });
    const wrongSecret = 'not-the-forty-hex-characters-kommo-issued';
    fillIn(arns, { ...filled, KOMMO_CHANNEL_SECRET: wrongSecret });
    await bindAnAccount(tableName);

    // Act
    const missing = await missingPieces(outputs, reader);

    // Assess
    expect(missing.map((piece) => piece.what)).toEqual([
      `KOMMO_CHANNEL_SECRET in secret ${outputs[secretNameOutput('kommo-channel')]} is malformed: KOMMO_CHANNEL_SECRET must be the 40-character hex secret Kommo issued`,
    ]);
    expect(JSON.stringify(missing)).not.toContain(wrongSecret);
  });

  it('a secret the outputs name but Secrets Manager does not hold is reported, not thrown', async () => {
    // Prepare
    const { outputs, arns, tableName } = await aDeployment({ clientId: '5f2a3c1e-8b7d-4e21-9c3a-1d2e3f4a5b6c' });
    fillIn(arns, filled);
    await bindAnAccount(tableName);

    // Act
    const missing = await missingPieces({ ...outputs, [secretNameOutput('chat-service')]: 'deleted-secret' }, reader);

    // Assess
    expect(missing.map((piece) => piece.what)).toEqual(['secret deleted-secret does not exist']);
  });

  it('without an outputs file, says where the outputs come from instead of a file-system error', () => {
    // Act
    const read = () => stackOutputsIn(`no-such-outputs-${randomUUID()}.json`);

    // Assess
    expect(read).toThrow(/does not exist: npm run deploy writes the stack outputs there/);
  });
});

describe('npm run deploy:check without AWS settings', () => {
  /** The check as an operator runs it, with no AWS settings in the environment but the ones given. */
  async function deployCheck(env: Record<string, string>): Promise<{ code: number; stderr: string }> {
    const { execFile } = await import('node:child_process');
    const { mkdtempSync, writeFileSync, rmSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const dir = mkdtempSync(join(tmpdir(), 'deploy-check-'));
    const outputsFile = join(dir, 'outputs.json');
    writeFileSync(outputsFile, JSON.stringify({ Bridge: { TableName: 'bridge', ChatServiceSecretName: 'chat' } }));
    const clean = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('AWS_')));
    return new Promise((resolve) => {
      execFile(
        process.execPath,
        ['--import', 'tsx', 'infra/deploy-check.ts', outputsFile],
        {
          env: {
            ...clean,
            // No profile files and no instance metadata: nothing but the given settings.
            AWS_CONFIG_FILE: join(dir, 'none'),
            AWS_SHARED_CREDENTIALS_FILE: join(dir, 'none'),
            AWS_EC2_METADATA_DISABLED: 'true',
            ...env,
          },
        },
        (error, _stdout, stderr) => {
          rmSync(dir, { recursive: true, force: true });
          resolve({ code: error ? Number(error.code) : 0, stderr });
        },
      );
    });
  }

  it('names a missing region with what to set, and prints no SDK notice', async () => {
    // Act
    const run = await deployCheck({});

    // Assess
    expect(run.code).toBe(2);
    expect(run.stderr).toBe(
      "No AWS region: set AWS_REGION to the stack's region (e.g. AWS_REGION=eu-central-1 npm run deploy:check), or a region in your AWS profile (aws configure)\n",
    );
  });

  it('names missing credentials with how to sign in', async () => {
    // Act
    const run = await deployCheck({ AWS_REGION: REGION });

    // Assess
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^No AWS credentials: sign in \(aws sso login, or aws configure\)/);
    expect(run.stderr.split('\n')).toHaveLength(2);
  });
});
