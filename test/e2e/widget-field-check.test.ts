import { describe, expect, it } from 'vitest';
import { givenConnectedBridge } from '../support/connected-bridge';
import { TEST_KOMMO_USER_ID, widgetRequest, widgetToken } from '../support/test-bridge';

/**
 * `POST /widget/field-check`: the settings page's self-test reports what the real Kommo page did
 * (docs/kommo.md, "A field check on a first real install"); the bridge logs it as one structured line.
 */

const bridge = givenConnectedBridge();

const report = {
  widget_version: '0.3.0',
  is_card: false,
  entity: 'settings',
  address: '/settings/widgets/',
  talk_event_types: [127, 125],
  crm_forms: [{ form: '/api/v4/contacts/chats?contact_id=0', status: 204 }],
};
const checkLines = () => bridge.log.lines.filter((line) => line.message === 'widget field check');

describe('POST /widget/field-check', () => {
  it('logs one structured line per report, and a second report with the same token says the token was reused', async () => {
    // Prepare: one token, as Kommo gives a page.
    const token = await widgetToken(bridge);

    // Act
    const first = await widgetRequest(bridge, 'POST', '/widget/field-check', report, { token });
    const second = await widgetRequest(
      bridge,
      'POST',
      '/widget/field-check',
      { ...report, previous_token_fingerprint: first.body.token_fingerprint },
      { token },
    );
    const fresh = await widgetRequest(bridge, 'POST', '/widget/field-check', {
      ...report,
      previous_token_fingerprint: first.body.token_fingerprint,
    });

    // Assess
    expect([first.status, second.status, fresh.status]).toEqual([202, 202, 202]);
    expect(first.body.token_fingerprint).toMatch(/^[0-9a-f]{16}$/);
    expect(checkLines().map((line) => line.attributes?.tokenReused)).toEqual([null, true, false]);
    expect(checkLines()[0]!.attributes).toMatchObject({
      kommoUserId: TEST_KOMMO_USER_ID,
      isCard: false,
      address: '/settings/widgets/',
      talkEventTypes: [127, 125],
      crmForms: [{ form: '/api/v4/contacts/chats?contact_id=0', status: 204 }],
    });
    expect(JSON.stringify(bridge.log.lines)).not.toContain(token);
  });

  it.each([
    ['an unknown field', { ...report, secret: 'x' }],
    ['an address over 256 characters', { ...report, address: `/${'a'.repeat(256)}` }],
    ['21 talk event types', { ...report, talk_event_types: Array(21).fill(1) }],
    ['a status that is not HTTP', { ...report, crm_forms: [{ form: '/x', status: 999 }] }],
    ['a fingerprint that is not one', { ...report, previous_token_fingerprint: 'abc' }],
    ['no is_card', { ...report, is_card: undefined }],
  ])('refuses a report with %s: 400, and nothing is logged', async (_, body) => {
    const response = await widgetRequest(bridge, 'POST', '/widget/field-check', body);

    expect(response.status).toBe(400);
    expect(checkLines()).toEqual([]);
  });

  it('refuses a report without a token: 401, and nothing is logged', async () => {
    const response = await widgetRequest(bridge, 'POST', '/widget/field-check', report, { token: null });

    expect(response.status).toBe(401);
    expect(checkLines()).toEqual([]);
  });
});
