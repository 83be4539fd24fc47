import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../functions/core/config';

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
