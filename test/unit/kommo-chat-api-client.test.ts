import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  KommoChatApiClient,
  customChannelPath,
} from '../../functions/core/adapters/kommo-chat-api/kommo-chat-api-client';
import { KommoSandbox } from '../../local/sandbox/kommo-sandbox';
import { ManualClock, TEST_START } from '../support/manual-clock';

/**
 * How the Kommo client builds the paths it signs and sends: every id is one percent-encoded segment,
 * and a segment URL normalisation would rewrite (`.`, `..`, one holding `/`) is refused before anything
 * is signed or sent. The Kommo sandbox checks the signature over the path it received.
 */

const CHANNEL_ID = 'c0ffee00-0000-4000-8000-000000000001';
const SCOPE_ID = `${CHANNEL_ID}_52e591f7-c98f-4255-8495-827210138c81`;

let clock: ManualClock;
let kommo: KommoSandbox;
let client: KommoChatApiClient;
beforeEach(async () => {
  clock = new ManualClock(TEST_START);
  const channelSecret = randomBytes(20).toString('hex');
  kommo = new KommoSandbox({ channelId: CHANNEL_ID, channelSecret, clock });
  const baseUrl = await kommo.start();
  client = new KommoChatApiClient({ baseUrl, channelId: CHANNEL_ID, channelSecret, timeoutMs: 5000, clock });
});
afterEach(async () => {
  await kommo.close();
});

describe('customChannelPath', () => {
  it('percent-encodes each segment', () => {
    // Act
    const path = customChannelPath(SCOPE_ID, 'm 1?x#y%z&é', 'delivery_status');

    // Assess
    expect(path).toBe(`/v2/origin/custom/${SCOPE_ID}/m%201%3Fx%23y%25z%26%C3%A9/delivery_status`);
  });

  it.each(['.', '..', '', 'a/b', '/', '../typing'])('refuses the segment %j', (segment) => {
    // Act
    const build = () => customChannelPath(SCOPE_ID, segment, 'delivery_status');

    // Assess
    expect(build).toThrow(/Refusing to build a Kommo path/);
  });
});

describe('KommoChatApiClient', () => {
  it('delivers a status for a msgid holding URL syntax to that msgid, with a signature Kommo accepts', async () => {
    // Act
    await client.deliveryStatus(SCOPE_ID, { msgid: 'm 1?x#y%2E%2E', deliveryStatus: 2 });

    // Assess
    expect(kommo.rejected).toEqual([]);
    expect(kommo.deliveryStatusCalls().map((call) => [call.scopeId, call.msgid, call.body])).toEqual([
      [SCOPE_ID, 'm 1?x#y%2E%2E', { msgid: 'm 1?x#y%2E%2E', delivery_status: 2 }],
    ]);
  });

  it.each(['.', '..', 'a/../b'])('refuses to send a status for msgid %j: Kommo hears nothing', async (msgid) => {
    // Act
    const attempt = client.deliveryStatus(SCOPE_ID, { msgid, deliveryStatus: 2 });

    // Assess
    await expect(attempt).rejects.toThrow(/Refusing to build a Kommo path/);
    expect(kommo.calls).toEqual([]);
    expect(kommo.rejected).toEqual([]);
  });

  it.each([`${CHANNEL_ID}_a/..`, '..', '.'])(
    'refuses to send typing for scope %j: Kommo hears nothing',
    async (scopeId) => {
      // Act
      const attempt = client.typing(scopeId, { conversationId: 'c-1', senderId: 'u-1' });

      // Assess
      await expect(attempt).rejects.toThrow(/Refusing to build a Kommo path/);
      expect(kommo.calls).toEqual([]);
      expect(kommo.rejected).toEqual([]);
    },
  );
});
