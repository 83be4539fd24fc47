import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  ConfigError,
  kommoAccountUrlFor,
  loadConfig,
  requiredSecretsOf,
  statusUrlFor,
} from '../../functions/core/config';
import { kommoAccountHost } from '../../functions/core/domain/kommo-origin';

const channelSecret = randomBytes(20).toString('hex');
const chatServiceSecret = `whsec_${randomBytes(32).toString('base64')}`;
const valid = {
  KOMMO_CHANNEL_ID: '344a5002-f8ca-454d-af3d-396180102ac7',
  KOMMO_CHANNEL_SECRET: channelSecret,
  CHAT_SERVICE_URL: 'https://chat.example.com/kommo-events',
  CHAT_SERVICE_SECRET: chatServiceSecret,
};

function failure(settings: Record<string, string | undefined>): ConfigError {
  try {
    loadConfig(settings);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('configuration', () => {
  it("the Kommo user's presence: a 30-s ping and a 90-s window by default, another choice when set", () => {
    expect(loadConfig(valid)).toMatchObject({ KOMMO_USER_PING_SECONDS: 30, KOMMO_USER_WINDOW_SECONDS: 90 });
    expect(loadConfig({ ...valid, KOMMO_USER_PING_SECONDS: '60', KOMMO_USER_WINDOW_SECONDS: '150' })).toMatchObject({
      KOMMO_USER_PING_SECONDS: 60,
      KOMMO_USER_WINDOW_SECONDS: 150,
    });
  });

  it.each([
    [{ KOMMO_USER_PING_SECONDS: '5' }, 'KOMMO_USER_PING_SECONDS must be a whole number from 10 to 300'],
    [{ KOMMO_USER_WINDOW_SECONDS: '901' }, 'KOMMO_USER_WINDOW_SECONDS must be a whole number from 30 to 900'],
    [
      { KOMMO_USER_PING_SECONDS: '60', KOMMO_USER_WINDOW_SECONDS: '120' },
      'KOMMO_USER_WINDOW_SECONDS must be at least twice KOMMO_USER_PING_SECONDS plus 15 s (150 for a 60-s ping), got 120',
    ],
    [{ KOMMO_USER_WINDOW_SECONDS: '80' }, '(90 for a 30-s ping), got 80'],
  ])("refuses a Kommo user's presence timing %j that a steady widget could not keep", (settings, message) => {
    expect(failure({ ...valid, ...settings }).message).toContain(message);
  });

  it('applies the contract defaults', () => {
    const config = loadConfig(valid);

    expect(config.KOMMO_API_URL).toBe('https://amojo.kommo.com');
    expect(config.TYPING_REFRESH_SECONDS).toBe(4);
    expect(config.KOMMO_HOOK_FORWARD_URL).toBeUndefined();
  });

  it('treats an empty optional setting as unset', () => {
    expect(loadConfig({ ...valid, KOMMO_HOOK_FORWARD_URL: '' }).KOMMO_HOOK_FORWARD_URL).toBeUndefined();
  });

  it.each([
    ['KOMMO_CHANNEL_ID', { KOMMO_CHANNEL_ID: undefined }],
    ['KOMMO_CHANNEL_SECRET', { KOMMO_CHANNEL_SECRET: undefined }],
    ['KOMMO_CHANNEL_SECRET', { KOMMO_CHANNEL_SECRET: 'not-hex' }],
    ['CHAT_SERVICE_URL', { CHAT_SERVICE_URL: undefined }],
    ['CHAT_SERVICE_URL', { CHAT_SERVICE_URL: 'ftp://chat.example.com' }],
    ['CHAT_SERVICE_SECRET', { CHAT_SERVICE_SECRET: undefined }],
    ['CHAT_SERVICE_SECRET', { CHAT_SERVICE_SECRET: 'plain-secret-without-prefix' }],
    ['KOMMO_API_URL', { KOMMO_API_URL: 'amojo.kommo.com' }],
    ['TYPING_REFRESH_SECONDS', { TYPING_REFRESH_SECONDS: '5' }],
    ['ADMIN_TOKEN', { ADMIN_TOKEN: 'short' }],
  ])('stops with one line naming %s', (variable, change) => {
    const error = failure({ ...valid, ...change });

    expect(error.message).toMatch(new RegExp(`^Configuration error: ${variable}\\b`));
    expect(error.message).not.toContain('\n');
  });

  it.each([
    ['KOMMO_CHANNEL_SECRET', `${channelSecret}zz`],
    ['CHAT_SERVICE_SECRET', 'whsec_tooshort'],
    ['ADMIN_TOKEN', 'tiny'],
  ])('never prints the value of a malformed %s', (variable, value) => {
    const error = failure({ ...valid, [variable]: value });

    expect(error.message).toContain(variable);
    expect(error.message).not.toContain(value);
  });
});

describe('KOMMO_CHANNEL_ID (filled in after deploy, in a secret of its own)', () => {
  const { KOMMO_CHANNEL_ID: _channelId, ...withoutChannelId } = valid;

  it('is required by a function holding the kommo-channel-id secret, with one line naming it', () => {
    expect(() =>
      loadConfig(
        { ...withoutChannelId, KOMMO_CHANNEL_ID: '' },
        requiredSecretsOf(['kommo-channel-id', 'chat-service']),
      ),
    ).toThrow(/^Configuration error: KOMMO_CHANNEL_ID must be the channel id Kommo issued/);
    expect(() => loadConfig(withoutChannelId, requiredSecretsOf(['kommo-channel-id', 'chat-service']))).toThrow(
      /^Configuration error: KOMMO_CHANNEL_ID is required$/,
    );
  });

  it('is not required by a function that does not hold it (the widget starts before Kommo issued the channel)', () => {
    expect(loadConfig(withoutChannelId, requiredSecretsOf(['kommo-integration'])).KOMMO_CHANNEL_ID).toBeUndefined();
  });
});

describe('CHAT_SERVICE_STATUS_URL', () => {
  it('is optional: unset or empty means statuses are only pushed', () => {
    expect(loadConfig(valid).CHAT_SERVICE_STATUS_URL).toBeUndefined();
    expect(loadConfig({ ...valid, CHAT_SERVICE_STATUS_URL: '' }).CHAT_SERVICE_STATUS_URL).toBeUndefined();
  });

  it.each(['https://chat.example/kommo/messages/{msgid}/status', 'http://127.0.0.1:4000/status?msgid={msgid}&v=2'])(
    'accepts %s as it is',
    (template) => {
      expect(loadConfig({ ...valid, CHAT_SERVICE_STATUS_URL: template }).CHAT_SERVICE_STATUS_URL).toBe(template);
    },
  );

  it.each([
    ['without {msgid}', 'https://chat.example/kommo/messages/status', 'must contain {msgid}'],
    ['with {msgid} in the host', 'https://{msgid}.chat.example/status', 'in its path or query'],
    ['not http(s)', 'ftp://chat.example/{msgid}', 'http(s) URL'],
    ['with a space', 'https://chat.example/{msgid} /status', 'http(s) URL'],
  ])('refuses a template %s, naming the variable and not echoing it', (_, template, rule) => {
    const error = failure({ ...valid, CHAT_SERVICE_STATUS_URL: template });

    expect(error.message).toContain('CHAT_SERVICE_STATUS_URL');
    expect(error.message).toContain(rule);
    expect(error.message).not.toContain(template);
  });

  it('fills {msgid} in percent-encoded, so a message id never reaches another path or query', () => {
    expect(statusUrlFor('https://chat.example/m/{msgid}/status?id={msgid}', 'a/../b?x=1#y')).toBe(
      'https://chat.example/m/a%2F..%2Fb%3Fx%3D1%23y/status?id=a%2F..%2Fb%3Fx%3D1%23y',
    );
  });
});

describe('KOMMO_CLIENT_ID and KOMMO_ACCOUNT_URL (installs from Kommo)', () => {
  it('are optional: unset or empty means installs are not taken, and accounts are reached at their own host', () => {
    expect(loadConfig({ ...valid, KOMMO_CLIENT_ID: '', KOMMO_ACCOUNT_URL: '' })).toMatchObject({
      KOMMO_CLIENT_ID: undefined,
      KOMMO_ACCOUNT_URL: undefined,
    });
  });

  it('takes the integration id as a UUID, in lower case as Kommo writes it', () => {
    expect(loadConfig({ ...valid, KOMMO_CLIENT_ID: '5F2A3C1E-8B7D-4E21-9C3A-1D2E3F4A5B6C' }).KOMMO_CLIENT_ID).toBe(
      '5f2a3c1e-8b7d-4e21-9c3a-1d2e3f4a5b6c',
    );
  });

  it.each([
    '5f2a3c1e8b7d4e219c3a1d2e3f4a5b6c',
    '5f2a3c1e-8b7d-4e21-9c3a-1d2e3f4a5b6',
    'my-integration',
    '5f2a3c1e-8b7d-4e21-9c3a-1d2e3f4a5b6c ',
  ])('refuses KOMMO_CLIENT_ID %j', (clientId) => {
    expect(failure({ ...valid, KOMMO_CLIENT_ID: clientId }).message).toMatch(
      /^Configuration error: KOMMO_CLIENT_ID must be/,
    );
  });

  it.each([
    ['https://{subdomain}.kommo.com', 'https://{subdomain}.kommo.com'],
    ['http://127.0.0.1:4000/accounts/{subdomain}/', 'http://127.0.0.1:4000/accounts/{subdomain}'],
  ])('accepts the account URL template %s', (template, stored) => {
    expect(loadConfig({ ...valid, KOMMO_ACCOUNT_URL: template }).KOMMO_ACCOUNT_URL).toBe(stored);
  });

  it.each([
    ['without {subdomain}', 'https://stand-in.example', 'must contain {subdomain}'],
    ['with a query', 'https://stand-in.example/{subdomain}?x=1', 'without a query or fragment'],
    ['not http(s)', 'ftp://{subdomain}.kommo.com', 'http(s) URL'],
    ['with another placeholder', 'https://{subdomain}.kommo.{tld}', 'http(s) URL'],
  ])('refuses an account URL template %s', (_, template, rule) => {
    const error = failure({ ...valid, KOMMO_ACCOUNT_URL: template });

    expect(error.message).toMatch(/^Configuration error: KOMMO_ACCOUNT_URL/);
    expect(error.message).toContain(rule);
  });

  it.each([
    [undefined, 'shop.kommo.com', 'https://shop.kommo.com'],
    [undefined, 'shop.amocrm.ru', 'https://shop.amocrm.ru'],
    [undefined, 'shop.amocrm.com', 'https://shop.amocrm.com'],
    ['https://{subdomain}.kommo.com', 'shop.amocrm.ru', 'https://shop.kommo.com'],
    ['http://127.0.0.1:4000/accounts/{subdomain}', 'shop.kommo.com', 'http://127.0.0.1:4000/accounts/shop'],
  ])('with KOMMO_ACCOUNT_URL %j, the account %s is reached at %s', (template, host, url) => {
    expect(kommoAccountUrlFor(template, kommoAccountHost(host)!)).toBe(url);
  });
});
