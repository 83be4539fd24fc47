import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { documentClient } from '../../functions/core/adapters/dynamodb/table';
import { signKommoDisableHook } from '../../functions/core/domain/kommo-disable-hook';
import { INSTALLED_CHANNEL_TITLE } from '../../functions/core/use-cases/kommo-installation';
import { INSTALL_RECORD_SECONDS } from '../../functions/core/use-cases/kommo-install-requests';
import { AUTHORIZATION_CODE_LIFETIME_MS } from '../../local/sandbox/kommo-sandbox';
import {
  adminRequest,
  givenBridge,
  TEST_CLIENT_ID,
  TEST_KOMMO_ACCOUNT_ID,
  TEST_KOMMO_SUBDOMAIN,
  TEST_REDIRECT_URI,
  widgetRequest,
  type TestBridge,
  type TestResponse,
} from '../support/test-bridge';

let bridge: TestBridge;
beforeEach(async () => {
  bridge = await givenBridge();
});
afterEach(async () => {
  await bridge.close();
});

const REFERER = `${TEST_KOMMO_SUBDOMAIN}.kommo.com`;
const OTHER_AMOJO_ID = '0d6a7c1e-5d0b-4c47-9d4f-3f4f0f2a9b11';

/** Kommo's redirect to the integration's Redirect URI, as the admin's browser follows it. */
const install = (query: string) =>
  bridge.send('GET', `/kommo/install?${query}`, { accept: 'text/html' }, Buffer.alloc(0));
/** A fresh code for the test account, as Kommo issues one when an admin allows the integration. */
const aCode = () => bridge.kommo.issueAuthorizationCode(TEST_KOMMO_SUBDOMAIN);
const installQuery = (code = aCode(), extra = '') =>
  `code=${encodeURIComponent(code)}&referer=${REFERER}&platform=2${extra}`;

/** Kommo's disable hook, signed as Kommo signs it unless told otherwise. */
const uninstall = (query: string) => bridge.send('GET', `/kommo/uninstall?${query}`, {}, Buffer.alloc(0));
const signedUninstallQuery = (accountId = String(TEST_KOMMO_ACCOUNT_ID), secret = bridge.secrets.kommoClientSecret) =>
  `account_id=${accountId}&client_uuid=${TEST_CLIENT_ID}&signature=${signKommoDisableHook(TEST_CLIENT_ID, accountId, secret)}`;

const binding = () => bridge.deps.accountBindings.byKommoAccount(TEST_KOMMO_ACCOUNT_ID);
const kommoMethods = () => bridge.kommo.calls.map((call) => call.method);

async function storedKeys(): Promise<string[]> {
  const { Items = [] } = await documentClient(bridge.dynamo).send(
    new ScanCommand({ TableName: bridge.tableName, ConsistentRead: true }),
  );
  return Items.map((item) => `${item.pk} ${item.sk}`).sort();
}

/** An install page: UTF-8 HTML that loads nothing, cannot be framed and sends no Referer, with its heading. */
function expectPage(response: TestResponse, status: number, heading: string): string {
  expect(response.status, String(response.body)).toBe(status);
  expect(response.headers['content-type']).toBe('text/html; charset=utf-8');
  expect(response.headers['content-security-policy']).toMatch(
    /^default-src 'none'; style-src 'sha256-[A-Za-z0-9+/]+={0,2}'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'$/,
  );
  expect(response.headers).toMatchObject({
    'cache-control': 'no-store',
    'referrer-policy': 'no-referrer',
    'x-content-type-options': 'nosniff',
  });
  const page = String(response.body);
  expect(page).toMatch(/^<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">/);
  expect(page).toContain(`<h1>${heading}</h1>`);
  // No element that loads or runs anything, and no attribute that could.
  expect(page).not.toMatch(/<(script|img|link|iframe|form|object|embed|svg)\b|<[^>]*\s(src|href|action|on\w+)=/i);
  return page;
}

describe("GET /kommo/install (the integration's Redirect URI)", () => {
  it('exchanges the code at the account, reads the account, connects it and binds it: the widget works at once', async () => {
    // Prepare
    const code = aCode();

    // Act
    const response = await install(installQuery(code));
    await bridge.chat('PUT', `/chat/${bridge.scopeId}/conversations/c-1`, {
      kommo_conversation_id: 'k-c-1',
      client_id: 'u-7',
    });
    const widget = await widgetRequest(bridge, 'POST', '/widget/chats/k-c-1/presence', { state: 'online' });

    // Assess
    const page = expectPage(response, 200, 'Connected');
    // A fixed message: neither the account's address nor anything Kommo answered is shown.
    expect(page).toContain('The Kommo account is connected to Kommo Live Bridge');
    expect(page).not.toContain(REFERER);
    expect(bridge.kommo.calls).toEqual([
      {
        method: 'oauth_token',
        subdomain: TEST_KOMMO_SUBDOMAIN,
        body: { client_id: TEST_CLIENT_ID, grant_type: 'authorization_code', code, redirect_uri: TEST_REDIRECT_URI },
        at: bridge.clock.now(),
      },
      {
        method: 'account',
        subdomain: TEST_KOMMO_SUBDOMAIN,
        body: { with: 'amojo_id' },
        accessToken: expect.any(String),
        at: bridge.clock.now(),
      },
      {
        method: 'connect',
        scopeId: bridge.scopeId,
        body: { account_id: bridge.accountId, title: INSTALLED_CHANNEL_TITLE, hook_api_version: 'v2' },
        at: bridge.clock.now(),
      },
    ]);
    expect(bridge.kommo.rejected).toEqual([]);
    expect(bridge.kommo.isConnected(bridge.scopeId)).toBe(true);
    expect(await binding()).toEqual({
      kommoAccountId: TEST_KOMMO_ACCOUNT_ID,
      amojoAccountId: bridge.accountId,
      scopeId: bridge.scopeId,
      title: INSTALLED_CHANNEL_TITLE,
      boundAtMs: bridge.clock.now(),
    });
    expect(widget.status).toBe(202);
  });

  it("stores and logs neither the code nor the tokens nor the secret: only the binding, and the code's hash with the page", async () => {
    // Prepare: a connect, a refused code and a failing Kommo, each logging what it does.
    const codes = [aCode(), 'def50200refused', aCode()];

    // Act
    await install(installQuery(codes[0]));
    await install(installQuery(codes[1]));
    bridge.kommo.setDown(true);
    await install(installQuery(codes[2]));

    // Assess
    const { Items = [] } = await documentClient(bridge.dynamo).send(
      new ScanCommand({ TableName: bridge.tableName, ConsistentRead: true }),
    );
    const accessToken = (bridge.kommo.calls.find((call) => call.method === 'account') as { accessToken: string })
      .accessToken;
    const secrets = [...codes, accessToken, bridge.secrets.kommoClientSecret];
    const stored = JSON.stringify(Items);
    const logged = JSON.stringify(bridge.log.lines);
    expect(bridge.log.lines.map((line) => line.message)).toEqual(
      expect.arrayContaining(['Kommo refused an install code', 'an install failed on a call to Kommo']),
    );
    for (const secret of secrets) {
      expect(stored).not.toContain(secret);
      expect(logged).not.toContain(secret);
    }
    expect([...new Set(Items.map((item) => String(item.pk).split('#')[0]))].sort()).toEqual([
      'ACCOUNT',
      'AMOJO_ACCOUNT',
      'INSTALL_LIMIT',
      'WEBHOOK',
    ]);
  });

  it('a reinstall reconnects the account (Kommo requires connect after every install) and keeps its channel title', async () => {
    // Prepare: connected by the operator first, with a title of their own.
    await adminRequest(bridge, '/admin/connect', {
      amojo_account_id: bridge.accountId,
      kommo_account_id: TEST_KOMMO_ACCOUNT_ID,
      title: 'Support chats',
    });
    bridge.clock.advanceBy(60_000);

    // Act
    const first = await install(installQuery());
    bridge.clock.advanceBy(60_000);
    const second = await install(installQuery());

    // Assess
    expectPage(first, 200, 'Connected');
    expectPage(second, 200, 'Connected');
    expect(kommoMethods()).toEqual([
      'connect',
      'oauth_token',
      'account',
      'connect',
      'oauth_token',
      'account',
      'connect',
    ]);
    expect(bridge.kommo.calls.filter((call) => call.method === 'connect').map((call) => call.body)).toEqual(
      Array.from({ length: 3 }, () => ({
        account_id: bridge.accountId,
        title: 'Support chats',
        hook_api_version: 'v2',
      })),
    );
    expect(await binding()).toMatchObject({
      amojoAccountId: bridge.accountId,
      scopeId: bridge.scopeId,
      title: 'Support chats',
      boundAtMs: bridge.clock.now(),
    });
  });

  it('a reload of the same address gets the same page again and calls no one: the code is answered once', async () => {
    // Prepare
    const query = installQuery();
    const first = await install(query);
    bridge.clock.advanceBy(5 * 60_000);

    // Act
    const reload = await install(query);

    // Assess
    expectPage(first, 200, 'Connected');
    expect(reload).toEqual(first);
    expect(kommoMethods()).toEqual(['oauth_token', 'account', 'connect']);
  });

  it('20 simultaneous requests with one code: one exchange and one connect; the others are told it is in progress', async () => {
    // Prepare
    const query = installQuery();

    // Act
    const answers = await Promise.all(Array.from({ length: 20 }, () => install(query)));
    const afterwards = await install(query);

    // Assess: whichever ran first, every other got its page or "in progress" (never a second exchange).
    expectPage(afterwards, 200, 'Connected');
    for (const answer of answers) {
      if (answer.status === 409) expect(expectPage(answer, 409, 'Connecting…')).toContain('still being processed');
      else expect(answer).toEqual(afterwards);
    }
    expect(answers.filter((answer) => answer.status === 200).length).toBeGreaterThanOrEqual(1);
    expect(kommoMethods()).toEqual(['oauth_token', 'account', 'connect']);
  });

  it('access_denied (the admin refused): 200 "not connected", and nothing is called or stored', async () => {
    // Act
    const response = await install(`error=access_denied&referer=${REFERER}&platform=2`);

    // Assess
    expect(expectPage(response, 200, 'Not connected')).toContain('Access was not allowed in Kommo');
    expect(bridge.kommo.calls).toEqual([]);
    expect(bridge.kommo.rejected).toEqual([]);
    expect(await storedKeys()).toEqual([]);
  });

  it.each([
    'evil.example.com',
    'kommo.com.evil.io',
    'testaccount.kommo.com.evil.io',
    'x.kommo.com@evil.io',
    'evil.io%40testaccount.kommo.com',
    'evil.io/testaccount.kommo.com',
    '127.0.0.1',
    '169.254.169.254',
    '[::1]',
    'testaccount.kommo.com:8443',
    'testaccount.kommo.com%3A443',
    'https://testaccount.kommo.com',
    'testaccount.kommo.com.',
    'kommo.com',
    'a.testaccount.kommo.com',
    'TestAccount.kommo.com',
    'testaccount.amocrm.org',
  ])('a foreign referer (%s) is 400, and Kommo sees no call at all', async (referer) => {
    // Act
    const response = await install(`code=${encodeURIComponent(aCode())}&referer=${referer}&platform=2`);

    // Assess
    expect(expectPage(response, 400, 'Not connected')).toContain('is not a Kommo account address');
    expect(bridge.kommo.calls).toEqual([]);
    expect(bridge.kommo.rejected).toEqual([]);
    expect(await storedKeys()).toEqual([]);
  });

  it.each([
    ['no code', `referer=${REFERER}&platform=2`, 'no authorization code'],
    ['an empty code', `code=&referer=${REFERER}&platform=2`, 'no authorization code'],
    ['a code with a space', `code=def%20502&referer=${REFERER}&platform=2`, 'not one Kommo issues'],
    ['a code of 4097 characters', `code=${'a'.repeat(4097)}&referer=${REFERER}&platform=2`, 'not one Kommo issues'],
    ['no referer', 'code=def502&platform=2', 'names no Kommo account'],
    ['two codes', `code=def502&code=def503&referer=${REFERER}&platform=2`, 'carries a parameter more than once'],
    [
      'two referers',
      `code=def502&referer=${REFERER}&referer=evil.example.com&platform=2`,
      'carries a parameter more than once',
    ],
    ['two errors', 'error=access_denied&error=x', 'carries a parameter more than once'],
    ['platform 3', `code=def502&referer=${REFERER}&platform=3`, '<code>platform</code> must be 1'],
    ['another error from Kommo', 'error=server_error', 'Kommo reported an error instead of an authorization code'],
  ])('%s: 400 naming what is wrong, and Kommo sees no call', async (_, query, says) => {
    // Act
    const response = await install(query);

    // Assess
    expect(expectPage(response, 400, 'Not connected')).toContain(says);
    expect(bridge.kommo.calls).toEqual([]);
    expect(bridge.kommo.rejected).toEqual([]);
    expect(await storedKeys()).toEqual([]);
  });

  it.each([
    ['a code Kommo never issued', () => 'def50200neverissued', 'Cannot decrypt the authorization code'],
    [
      'a code of another account',
      () => {
        bridge.kommo.addAccount({ id: 31_000_002, subdomain: 'otheraccount', amojoId: OTHER_AMOJO_ID });
        return bridge.kommo.issueAuthorizationCode('otheraccount');
      },
      'Cannot decrypt the authorization code',
    ],
    [
      'a code older than 20 minutes',
      () => {
        const code = aCode();
        bridge.clock.advanceBy(AUTHORIZATION_CODE_LIFETIME_MS + 1);
        return code;
      },
      'Authorization code has expired',
    ],
  ])(
    '%s: Kommo refuses it (400), the page says to install again, and nothing is connected',
    async (_, codeOf, refusal) => {
      // Prepare
      const code = codeOf();

      // Act
      const response = await install(installQuery(code));

      // Assess
      const page = expectPage(response, 400, 'Not connected');
      expect(page).toContain('Kommo refused the authorization code');
      expect(page).toContain('Install the integration again');
      expect(bridge.kommo.calls).toEqual([]);
      expect(bridge.kommo.rejected.map((rejected) => [rejected.status, rejected.errorType, rejected.reason])).toEqual([
        [400, 'invalid_grant', expect.stringContaining(refusal)],
      ]);
      expect(await binding()).toBeUndefined();
    },
  );

  it.each([
    [
      'KOMMO_REDIRECT_URI',
      'https://bridge.example.com/kommo/oauth',
      'redirect_uri differs from the Redirect URI registered',
    ],
    ['KOMMO_CLIENT_ID', '00000000-0000-4000-8000-000000000000', 'is no integration of this sandbox'],
  ])(
    "a bridge whose %s differs from the integration's in Kommo: Kommo refuses the exchange (400), nothing is connected",
    async (setting, value, refusal) => {
      // Prepare
      await bridge.close();
      bridge = await givenBridge({ [setting]: value });

      // Act
      const response = await install(installQuery());

      // Assess
      expect(expectPage(response, 400, 'Not connected')).toContain('differ from the integration');
      expect(bridge.kommo.rejected.map((rejected) => rejected.reason)).toEqual([expect.stringContaining(refusal)]);
      expect(bridge.kommo.calls).toEqual([]);
      expect(await binding()).toBeUndefined();
    },
  );

  it("a code already exchanged, asked again after its page's record lapsed: Kommo refuses it (400), nothing changes", async () => {
    // Prepare: an install, then a disconnect; the bridge keeps the answer for 30 minutes only.
    const query = installQuery();
    await install(query);
    await adminRequest(bridge, '/admin/disconnect', { kommo_account_id: TEST_KOMMO_ACCOUNT_ID });
    bridge.clock.advanceBy(INSTALL_RECORD_SECONDS * 1000);

    // Act
    const response = await install(query);

    // Assess
    expect(expectPage(response, 400, 'Not connected')).toContain('Kommo refused the authorization code');
    expect(bridge.kommo.rejected.map((rejected) => rejected.reason)).toEqual([
      expect.stringContaining('Authorization code has been revoked'),
    ]);
    expect(kommoMethods()).toEqual(['oauth_token', 'account', 'connect', 'disconnect']);
    expect(await binding()).toBeUndefined();
  });

  it('one code with another account address: 409, and Kommo is not asked', async () => {
    // Prepare
    const code = aCode();
    await install(installQuery(code));

    // Act
    const response = await install(`code=${encodeURIComponent(code)}&referer=otheraccount.kommo.com&platform=2`);

    // Assess
    expect(expectPage(response, 409, 'Not connected')).toContain('already used for another account address');
    expect(kommoMethods()).toEqual(['oauth_token', 'account', 'connect']);
    expect(bridge.kommo.rejected).toEqual([]);
  });

  it('Kommo unreachable: 502, nothing connected; once it is back, a reload of the same address connects', async () => {
    // Prepare
    const query = installQuery();
    bridge.kommo.setDown(true);

    // Act
    const down = await install(query);
    bridge.kommo.setDown(false);
    const reload = await install(query);

    // Assess
    expect(expectPage(down, 502, 'Not connected')).toContain('Kommo could not be reached');
    expectPage(reload, 200, 'Connected');
    expect(kommoMethods()).toEqual(['oauth_token', 'account', 'connect']);
    expect(await binding()).toMatchObject({ scopeId: bridge.scopeId });
  });

  it("Kommo's token endpoint too slow: the exchange is given up at KOMMO_TIMEOUT_MS on the bridge's clock, 502", async () => {
    // Prepare
    const release = bridge.kommo.holdAnswers();
    const pending = install(installQuery());
    await vi.waitFor(() => expect(kommoMethods()).toEqual(['oauth_token']), { timeout: 10_000 });

    // Act
    bridge.clock.advanceBy(bridge.config.KOMMO_TIMEOUT_MS);
    const response = await pending;
    release();

    // Assess
    expect(expectPage(response, 502, 'Not connected')).toContain('Kommo could not be reached');
    expect(JSON.stringify(bridge.log.lines)).toContain(`timed out after ${bridge.config.KOMMO_TIMEOUT_MS} ms`);
    expect(await binding()).toBeUndefined();
  });

  it("Kommo refusing the integration's credentials (401) or failing (503) at the token endpoint: 502, nothing connected", async () => {
    // Prepare
    bridge.kommo.respondWith((call) =>
      call.method === 'oauth_token'
        ? { status: 401, body: { title: 'Unauthorized', status: 401, detail: 'Client authentication failed' } }
        : undefined,
    );

    // Act
    const refused = await install(installQuery());
    bridge.kommo.respondWith(undefined);
    bridge.kommo.failNext(1, 503);
    const failing = await install(installQuery());

    // Assess
    // Kommo's words go to the log, never onto the page.
    expect(expectPage(refused, 502, 'Not connected')).not.toContain('Client authentication failed');
    expect(JSON.stringify(bridge.log.lines)).toContain(
      'Kommo POST /oauth2/access_token answered 401: Client authentication failed',
    );
    expect(expectPage(failing, 502, 'Not connected')).toContain('Code: kommo_failed');
    expect(bridge.kommo.calls).toEqual([]);
    expect(await binding()).toBeUndefined();
  });

  it("Kommo's connect failing: 502, the claim given back and nothing bound", async () => {
    // Prepare
    bridge.kommo.respondWith((call) => (call.method === 'connect' ? { status: 500 } : undefined));

    // Act
    const response = await install(installQuery());

    // Assess
    expect(expectPage(response, 502, 'Not connected')).toContain('Code: kommo_failed');
    expect(JSON.stringify(bridge.log.lines)).toContain('Kommo POST connect answered 500');
    expect(kommoMethods()).toEqual(['oauth_token', 'account']);
    expect(await binding()).toBeUndefined();
    expect(
      (await storedKeys()).filter((key) => !key.startsWith('WEBHOOK#') && !key.startsWith('INSTALL_LIMIT#')),
    ).toEqual([]);
  });

  it('an account bound elsewhere: 409, the binding and Kommo untouched', async () => {
    // Prepare: the operator connected this Kommo account with another chat account.
    await adminRequest(bridge, '/admin/connect', {
      amojo_account_id: OTHER_AMOJO_ID,
      kommo_account_id: TEST_KOMMO_ACCOUNT_ID,
      title: 'Other',
    });

    // Act
    const response = await install(installQuery());

    // Assess
    const page = expectPage(response, 409, 'Not connected');
    expect(page).toContain('already connected to the bridge together with another account');
    expect(page).toContain("The bridge's operator must disconnect it first");
    expect(kommoMethods()).toEqual(['connect', 'oauth_token', 'account']);
    expect(await binding()).toMatchObject({ amojoAccountId: OTHER_AMOJO_ID });
  });

  it.each([
    [
      'the referer',
      `code=def502&referer=${encodeURIComponent('"><script>alert(1)</script>.kommo.com')}`,
      'is not a Kommo account address',
      'alert',
    ],
    [
      "Kommo's error",
      `error=${encodeURIComponent("<img src=x onerror='alert(1)'>&amp;")}`,
      'Kommo reported an error instead of an authorization code',
      'alert',
    ],
    ['a long referer', `code=def502&referer=${'<b>'.repeat(40)}`, 'is not a Kommo account address', '&lt;b'],
  ])('shows a fixed page for %s, echoing nothing of it', async (_, query, says, neverShown) => {
    // Act
    const response = await install(query);

    // Assess
    const page = expectPage(response, 400, 'Not connected');
    expect(page).toContain(says);
    expect(page).not.toContain(neverShown);
    expect(page).not.toContain('<script>');
    expect(page).not.toContain('<b>');
  });
});

describe("GET /kommo/uninstall (the integration's disable hook)", () => {
  it("with Kommo's signature: Kommo disconnect, the binding removed, the widget refused", async () => {
    // Prepare
    await install(installQuery());

    // Act
    const response = await uninstall(signedUninstallQuery());
    const widget = await widgetRequest(bridge, 'POST', '/widget/chats/k-c-1/presence', { state: 'online' });

    // Assess
    expect(response).toMatchObject({
      status: 200,
      body: { ok: true, kommo_account_id: TEST_KOMMO_ACCOUNT_ID, disconnected: true },
    });
    expect(bridge.kommo.calls.filter((call) => call.method === 'disconnect').map((call) => call.body)).toEqual([
      { account_id: bridge.accountId },
    ]);
    expect(bridge.kommo.isConnected(bridge.scopeId)).toBe(false);
    expect(await binding()).toBeUndefined();
    expect(
      (await storedKeys()).filter((key) => !key.startsWith('WEBHOOK#') && !key.startsWith('INSTALL_LIMIT#')),
    ).toEqual([]);
    expect(widget.status).toBe(403);
  });

  it('again, or for an account never connected: 200 with nothing to do, and Kommo is not called', async () => {
    // Prepare
    await install(installQuery());
    await uninstall(signedUninstallQuery());
    const callsBefore = bridge.kommo.calls.length;

    // Act
    const again = await uninstall(signedUninstallQuery());
    const never = await uninstall(signedUninstallQuery('31000999'));

    // Assess
    expect(again).toMatchObject({
      status: 200,
      body: { ok: true, kommo_account_id: TEST_KOMMO_ACCOUNT_ID, disconnected: false },
    });
    expect(never).toMatchObject({ status: 200, body: { ok: true, kommo_account_id: 31_000_999, disconnected: false } });
    expect(bridge.kommo.calls.length).toBe(callsBefore);
  });

  const signature = (accountId: string, secret: string, clientUuid = TEST_CLIENT_ID) =>
    signKommoDisableHook(clientUuid, accountId, secret);
  const account = String(TEST_KOMMO_ACCOUNT_ID);
  it.each([
    ['no signature', () => `account_id=${account}&client_uuid=${TEST_CLIENT_ID}`, 'missing_signature'],
    ['an empty signature', () => `account_id=${account}&client_uuid=${TEST_CLIENT_ID}&signature=`, 'missing_signature'],
    [
      'a signature with another secret',
      () =>
        `account_id=${account}&client_uuid=${TEST_CLIENT_ID}&signature=${signature(account, 'another-secret-of-32-characters!')}`,
      'invalid_signature',
    ],
    [
      'the signature in upper case',
      () =>
        `account_id=${account}&client_uuid=${TEST_CLIENT_ID}&signature=${signature(account, bridge.secrets.kommoClientSecret).toUpperCase()}`,
      'invalid_signature',
    ],
    [
      'the signature of another account',
      () =>
        `account_id=${account}&client_uuid=${TEST_CLIENT_ID}&signature=${signature('31000002', bridge.secrets.kommoClientSecret)}`,
      'invalid_signature',
    ],
    [
      'the account id with a leading zero',
      () =>
        `account_id=0${account}&client_uuid=${TEST_CLIENT_ID}&signature=${signature(account, bridge.secrets.kommoClientSecret)}`,
      'invalid_signature',
    ],
    [
      'no account id',
      () => `client_uuid=${TEST_CLIENT_ID}&signature=${signature(account, bridge.secrets.kommoClientSecret)}`,
      'invalid_signature',
    ],
    ['two account ids', () => `${signedUninstallQuery()}&account_id=31000002`, 'invalid_signature'],
    [
      'two signatures',
      () => `${signedUninstallQuery()}&signature=${signature(account, bridge.secrets.kommoClientSecret)}`,
      'invalid_signature',
    ],
    [
      "another integration's client_uuid, signed with it",
      () => {
        const other = '00000000-0000-4000-8000-000000000000';
        return `account_id=${account}&client_uuid=${other}&signature=${signature(account, bridge.secrets.kommoClientSecret, other)}`;
      },
      'invalid_client_uuid',
    ],
    [
      'no client_uuid',
      () => `account_id=${account}&signature=${signature(account, bridge.secrets.kommoClientSecret)}`,
      'invalid_client_uuid',
    ],
  ])('%s: 401, and nothing changes', async (_, query, code) => {
    // Prepare
    await install(installQuery());
    const before = { calls: bridge.kommo.calls.length, keys: await storedKeys() };

    // Act
    const response = await uninstall(query());

    // Assess
    expect(response.status).toBe(401);
    expect(response.body).toEqual({ error: { code, message: expect.any(String) } });
    expect(bridge.kommo.calls.length).toBe(before.calls);
    expect(await storedKeys()).toEqual(before.keys);
    expect(bridge.kommo.isConnected(bridge.scopeId)).toBe(true);
  });

  it('a signed account_id that is not a number: 400 invalid_field', async () => {
    // Act
    const response = await uninstall(signedUninstallQuery('3e7'));

    // Assess
    expect(response).toMatchObject({ status: 400, body: { error: { code: 'invalid_field' } } });
    expect(bridge.kommo.calls).toEqual([]);
  });

  it("Kommo's disconnect failing: 502, the binding kept for Kommo's retry", async () => {
    // Prepare
    await install(installQuery());
    bridge.kommo.respondWith((call) => (call.method === 'disconnect' ? { status: 500 } : undefined));

    // Act
    const response = await uninstall(signedUninstallQuery());

    // Assess
    expect(response).toMatchObject({ status: 502, body: { error: { code: 'kommo_call_failed' } } });
    expect(await binding()).toMatchObject({ scopeId: bridge.scopeId });
  });
});

describe('without KOMMO_CLIENT_ID', () => {
  it('both routes answer 503 and call no one', async () => {
    // Prepare
    await bridge.close();
    bridge = await givenBridge({ KOMMO_CLIENT_ID: '' });

    // Act
    const installed = await install(installQuery());
    const uninstalled = await uninstall(signedUninstallQuery());

    // Assess
    expect(expectPage(installed, 503, 'Not configured')).toContain('its integration settings are not set');
    expect(uninstalled).toMatchObject({
      status: 503,
      body: { error: { code: 'not_configured', message: expect.stringContaining('KOMMO_CLIENT_ID') } },
    });
    expect(bridge.kommo.calls).toEqual([]);
    expect(await storedKeys()).toEqual([]);
  });
});
