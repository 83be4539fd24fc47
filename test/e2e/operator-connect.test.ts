import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KommoSandbox } from '../../local/sandbox/kommo-sandbox';
import { testSecrets } from '../support/test-bridge';

const run = promisify(execFile);
const channelId = '344a5002-f8ca-454d-af3d-396180102ac7';
const accountId = '52e591f7-c98f-4255-8495-827210138c81';
const { channelSecret } = testSecrets();
const kommo = new KommoSandbox({ channelId, channelSecret });
let kommoUrl: string;

beforeAll(async () => {
  kommoUrl = await kommo.start();
});
afterAll(async () => {
  await kommo.close();
});

function operator(args: string[], secret = channelSecret) {
  return run(process.execPath, ['--import', 'tsx', 'local/operator.ts', ...args], {
    env: { ...process.env, KOMMO_CHANNEL_ID: channelId, KOMMO_CHANNEL_SECRET: secret, KOMMO_API_URL: kommoUrl },
  });
}

describe('the operator command (npm run kommo)', () => {
  it('connects an account and prints the scope_id Kommo returned', async () => {
    const { stdout } = await operator(['connect', accountId, 'My', 'channel']);

    expect(stdout.trim()).toBe(`connected: scope_id ${channelId}_${accountId}`);
    expect(kommo.isConnected(`${channelId}_${accountId}`)).toBe(true);
    expect(kommo.calls.at(-1)).toMatchObject({
      method: 'connect',
      body: { account_id: accountId, title: 'My channel', hook_api_version: 'v2' },
    });
  });

  it('disconnects it again', async () => {
    const { stdout } = await operator(['disconnect', accountId]);

    expect(stdout.trim()).toBe(`disconnected account ${accountId}`);
    expect(kommo.calls.at(-1)).toMatchObject({ method: 'disconnect', body: { account_id: accountId } });
  });

  it('refuses a scope_id of another channel, as /admin/connect does', async () => {
    kommo.respondWith((call) =>
      call.method === 'connect' ? { status: 200, body: { scope_id: `another-channel_${accountId}` } } : undefined,
    );
    try {
      const error = await operator(['connect', accountId]).catch(
        (failure: { code: number; stderr: string }) => failure,
      );

      expect(error).toMatchObject({ code: 1 });
      expect((error as { stderr: string }).stderr).toContain(
        `Kommo connect answered scope_id another-channel_${accountId}, which is not a scope of this channel`,
      );
    } finally {
      kommo.respondWith(undefined);
    }
  });

  it('reports Kommo refusing a wrong channel secret, with its error type', async () => {
    const error = await operator(['connect', accountId], 'f'.repeat(40)).catch(
      (failure: { code: number; stderr: string }) => failure,
    );

    expect(error).toMatchObject({ code: 1 });
    expect((error as { stderr: string }).stderr).toContain('403 ORIGIN_INVALID_SIGNATURE');
  });
});
