import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createAdminHandler } from '../../functions/admin/handler';
import { createChatPresenceHandler } from '../../functions/chat-presence/handler';
import { ConfigError, loadConfig, requireSettings } from '../../functions/core/config';
import type { BridgeDeps } from '../../functions/core/deps';
import { createKommoHookHandler } from '../../functions/kommo-hook/handler';
import { createWidgetHandler } from '../../functions/widget/handler';

const base = {
  KOMMO_CHANNEL_ID: '344a5002-f8ca-454d-af3d-396180102ac7',
  KOMMO_CHANNEL_SECRET: randomBytes(20).toString('hex'),
  CHAT_SERVICE_URL: 'https://chat.example.com/kommo-events',
  CHAT_SERVICE_SECRET: `whsec_${randomBytes(32).toString('base64')}`,
};
const widgetAndAdmin = {
  KOMMO_CLIENT_SECRET: randomBytes(32).toString('base64url'),
  KOMMO_REDIRECT_URI: 'https://bridge.example.com/kommo/oauth',
  ADMIN_TOKEN: randomBytes(32).toString('base64url'),
};

/** Only the settings: every handler factory reads them when it starts, and touches nothing else then. */
const depsWith = (settings: Record<string, string | undefined>) => ({ config: loadConfig(settings) }) as BridgeDeps;

function startFailure(start: () => unknown): ConfigError {
  try {
    start();
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected the function to refuse to start');
}

describe('settings only the widget and admin functions need', () => {
  it.each([
    ['widget', 'KOMMO_CLIENT_SECRET', createWidgetHandler, { KOMMO_CLIENT_SECRET: undefined }],
    ['widget', 'KOMMO_REDIRECT_URI', createWidgetHandler, { KOMMO_REDIRECT_URI: undefined }],
    ['widget', 'KOMMO_CLIENT_SECRET', createWidgetHandler, { KOMMO_CLIENT_SECRET: '' }],
    ['admin', 'ADMIN_TOKEN', createAdminHandler, { ADMIN_TOKEN: undefined }],
  ])('the %s function without %s stops with one line naming it and what it is for', (_, variable, factory, change) => {
    // Act
    const error = startFailure(() => factory(depsWith({ ...base, ...widgetAndAdmin, ...change })));

    // Assess
    expect(error.message).toMatch(
      new RegExp(`^Configuration error: ${variable} is required for the /(widget|admin)/\\.\\.\\. routes$`),
    );
  });

  it.each([
    ['widget', createWidgetHandler],
    ['admin', createAdminHandler],
  ])('the %s function starts with its settings', (_, factory) => {
    expect(typeof factory(depsWith({ ...base, ...widgetAndAdmin }))).toBe('function');
  });

  it.each([
    ['chat-presence', createChatPresenceHandler],
    ['kommo-hook', createKommoHookHandler],
  ])('%s starts without any of them', (_, factory) => {
    expect(typeof factory(depsWith(base))).toBe('function');
  });

  it('requireSettings returns the settings when they are all there', () => {
    const config = loadConfig({ ...base, ...widgetAndAdmin });

    expect(requireSettings(config, ['ADMIN_TOKEN', 'KOMMO_REDIRECT_URI'], 'a test').KOMMO_REDIRECT_URI).toBe(
      widgetAndAdmin.KOMMO_REDIRECT_URI,
    );
  });
});
