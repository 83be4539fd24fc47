import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  ACCESS_TOKEN_LIFETIME_SECONDS,
  AUTHORIZATION_CODE_LIFETIME_MS,
  KommoSandbox,
} from '../../local/sandbox/kommo-sandbox';

/**
 * The Kommo sandbox standing in for Kommo accounts' own hosts: the OAuth token endpoint and the
 * account API, as installs use them (docs/kommo.md, "Installation (OAuth) and uninstall").
 */

const integration = {
  clientId: '6c1b9e2a-3f4d-4a5b-8c7d-0e1f2a3b4c5d',
  clientSecret: 'integration-secret-key-of-the-test',
  redirectUri: 'https://bridge.example.com/kommo/install',
};
const account = { id: 31_000_001, subdomain: 'testaccount', amojoId: '52e591f7-c98f-4255-8495-827210138c81' };
const other = { id: 31_000_002, subdomain: 'otheraccount', amojoId: '0d6a7c1e-5d0b-4c47-9d4f-3f4f0f2a9b11' };

const clock = {
  nowMs: Date.parse('2026-11-21T10:00:00Z'),
  now() {
    return this.nowMs;
  },
};

let sandbox: KommoSandbox;
let accountUrl: (subdomain: string) => string;

beforeEach(async () => {
  clock.nowMs = Date.parse('2026-11-21T10:00:00Z');
  sandbox = new KommoSandbox({
    channelId: 'c-1',
    channelSecret: 'f2d7f8704eff95087ed45b23ba99c0b5aac8278e',
    clock,
    integration,
    accounts: [account, other],
  });
  await sandbox.start();
  accountUrl = (subdomain) => sandbox.accountUrlTemplate.replace('{subdomain}', subdomain);
});

afterEach(async () => {
  await sandbox.close();
});

const tokenRequest = (code: string, change: Record<string, unknown> = {}) => ({
  client_id: integration.clientId,
  client_secret: integration.clientSecret,
  grant_type: 'authorization_code',
  code,
  redirect_uri: integration.redirectUri,
  ...change,
});

async function exchange(body: unknown, options: { subdomain?: string; contentType?: string; method?: string } = {}) {
  const response = await fetch(`${accountUrl(options.subdomain ?? account.subdomain)}/oauth2/access_token`, {
    method: options.method ?? 'POST',
    headers: { 'content-type': options.contentType ?? 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as Record<string, any> };
}

async function readAccount(authorization: string | undefined, query = '?with=amojo_id', subdomain = account.subdomain) {
  const response = await fetch(`${accountUrl(subdomain)}/api/v4/account${query}`, {
    headers: authorization === undefined ? {} : { authorization },
  });
  return { status: response.status, body: (await response.json()) as Record<string, any> };
}

describe('the token endpoint', () => {
  it('exchanges a code it issued once, for a Bearer token pair', async () => {
    // Prepare
    const code = sandbox.issueAuthorizationCode(account.subdomain);

    // Act
    const first = await exchange(tokenRequest(code));
    const again = await exchange(tokenRequest(code));

    // Assess
    expect(first).toEqual({
      status: 200,
      body: {
        token_type: 'Bearer',
        expires_in: ACCESS_TOKEN_LIFETIME_SECONDS,
        server_time: Math.floor(clock.nowMs / 1000),
        access_token: expect.any(String),
        refresh_token: expect.any(String),
      },
    });
    expect(again).toMatchObject({
      status: 400,
      body: { status: 400, title: 'invalid_grant', detail: expect.stringContaining('has been revoked') },
    });
    expect(sandbox.oauthTokenCalls().map((call) => call.body)).toEqual([
      {
        client_id: integration.clientId,
        grant_type: 'authorization_code',
        code,
        redirect_uri: integration.redirectUri,
      },
    ]);
  });

  it.each([
    ['another client_id', { client_id: '00000000-0000-4000-8000-000000000000' }, 'invalid_client'],
    ['another client_secret', { client_secret: `${integration.clientSecret}x` }, 'invalid_client'],
    ['a client_secret cut short', { client_secret: integration.clientSecret.slice(0, -1) }, 'invalid_client'],
    ['another redirect_uri', { redirect_uri: `${integration.redirectUri}/` }, 'invalid_client'],
    ['grant_type refresh_token', { grant_type: 'refresh_token' }, 'unsupported_grant_type'],
    ['no code', { code: undefined }, 'invalid_request'],
  ])('refuses %s with 400, and the code stays usable', async (_, change, title) => {
    // Prepare
    const code = sandbox.issueAuthorizationCode(account.subdomain);

    // Act
    const refused = await exchange(tokenRequest(code, change));
    const then = await exchange(tokenRequest(code));

    // Assess
    expect(refused).toMatchObject({ status: 400, body: { title } });
    expect(then.status).toBe(200);
  });

  it.each([
    [
      'a form-encoded body',
      (code: string) =>
        exchange(new URLSearchParams(tokenRequest(code) as Record<string, string>).toString(), {
          contentType: 'application/x-www-form-urlencoded',
        }),
    ],
    ['a body that is not JSON', () => exchange('{"code":', {})],
    ['a code it never issued', () => exchange(tokenRequest('def50200neverissued'))],
    ['a code issued to another account', () => exchange(tokenRequest(sandbox.issueAuthorizationCode(other.subdomain)))],
  ])('refuses %s with 400', async (_, send) => {
    // Act
    const refused = await send(sandbox.issueAuthorizationCode(account.subdomain));

    // Assess
    expect(refused.status).toBe(400);
    expect(sandbox.calls).toEqual([]);
  });

  it('takes a code for 20 minutes and refuses it after', async () => {
    // Prepare
    const inTime = sandbox.issueAuthorizationCode(account.subdomain);
    const late = sandbox.issueAuthorizationCode(account.subdomain);

    // Act
    clock.nowMs += AUTHORIZATION_CODE_LIFETIME_MS;
    const atTheEnd = await exchange(tokenRequest(inTime));
    clock.nowMs += 1;
    const afterIt = await exchange(tokenRequest(late));

    // Assess
    expect(atTheEnd.status).toBe(200);
    expect(afterIt).toMatchObject({
      status: 400,
      body: { title: 'invalid_grant', detail: 'Authorization code has expired' },
    });
  });

  it('is not there for an account it does not have (404), and takes POST only (405)', async () => {
    // Act
    const unknown = await exchange(tokenRequest('x'), { subdomain: 'nosuchaccount' });
    const put = await exchange(tokenRequest('x'), { method: 'PUT' });

    // Assess
    expect(unknown.status).toBe(404);
    expect(put.status).toBe(405);
  });
});

describe('the account API', () => {
  async function accessToken(subdomain = account.subdomain): Promise<string> {
    const { body } = await exchange(tokenRequest(sandbox.issueAuthorizationCode(subdomain)), { subdomain });
    return body.access_token as string;
  }

  it('answers the account, with its amojo id when asked for it, to a token it issued', async () => {
    // Prepare
    const token = await accessToken();

    // Act
    const withAmojoId = await readAccount(`Bearer ${token}`);
    const without = await readAccount(`Bearer ${token}`, '');

    // Assess
    expect(withAmojoId).toMatchObject({
      status: 200,
      body: { id: account.id, subdomain: account.subdomain, amojo_id: account.amojoId },
    });
    expect(without).toMatchObject({ status: 200, body: { id: account.id, subdomain: account.subdomain } });
    expect(without.body).not.toHaveProperty('amojo_id');
  });

  it.each([
    ['no Authorization', async () => undefined],
    ['a token it never issued', async () => 'Bearer not-a-token'],
    ['another scheme', async () => `Basic ${await accessToken()}`],
    ["another account's token", async () => `Bearer ${await accessToken(other.subdomain)}`],
  ])('refuses %s with 401', async (_, authorization) => {
    // Act
    const refused = await readAccount(await authorization());

    // Assess
    expect(refused).toMatchObject({ status: 401, body: { status: 401 } });
    expect(sandbox.calls.filter((call) => call.method === 'account')).toEqual([]);
  });

  it('refuses a token after its day', async () => {
    // Prepare
    const token = await accessToken();

    // Act
    clock.nowMs += ACCESS_TOKEN_LIFETIME_SECONDS * 1000;
    const expired = await readAccount(`Bearer ${token}`);

    // Assess
    expect(expired).toMatchObject({ status: 401, body: { detail: 'the access token has expired' } });
  });
});
