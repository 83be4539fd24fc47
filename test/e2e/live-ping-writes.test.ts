import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DynamoWriteMeter } from '../support/dynamo-writes';
import { givenBridge, givenConnectedAccount, widgetRequest, type TestBridge } from '../support/test-bridge';

/**
 * What a live-channel ping costs in DynamoDB writes (docs/cost-model.md, "The widget on the live
 * channel"): a ping renews the Kommo user's 90-s window in each chat the connection watches, one
 * conditional write per chat, and writes nothing else; a ping that renews nothing writes nothing.
 * Writes are counted as AWS charges them (test/support/dynamo-writes.ts).
 */

const KOMMO_CHAT = '30477717-9f3c-4d3f-8101-60327e14dc48';

let bridge: TestBridge;
let meter: DynamoWriteMeter;
beforeEach(async () => {
  bridge = await givenBridge();
  meter = new DynamoWriteMeter(bridge.dynamo);
  await givenConnectedAccount(bridge);
});
afterEach(async () => {
  await bridge.close();
});

async function connect() {
  const ticket = await widgetRequest(bridge, 'POST', '/widget/live');
  expect(ticket.status).toBe(200);
  const client = await bridge.bridge.live.connectInProcess((ticket.body as { url: string }).url);
  expect(client.status).toBe(200);
  return client;
}

describe('a live-channel ping writes only what it changes', () => {
  it('a ping on a connection that watches no chat writes nothing, and is answered', async () => {
    // Prepare
    const client = await connect();
    meter.reset();

    // Act
    await client.sendFrame({ action: 'ping' });

    // Assess
    expect(client.frames.at(-1)).toEqual({ type: 'pong' });
    expect(meter.writes).toEqual([]);
  });

  it("a ping while watching a chat renews that chat's window with one conditional write, and queues nothing", async () => {
    // Prepare: the chat service registered the chat; the widget watches it.
    const registered = await bridge.chat('PUT', `/chat/${bridge.scopeId}/conversations/c-1`, {
      kommo_conversation_id: KOMMO_CHAT,
      client_id: 'u-1',
    });
    expect(registered.status).toBeLessThan(300);
    const client = await connect();
    await client.sendFrame({ action: 'watch', kommo_conversation_id: KOMMO_CHAT });
    await bridge.advance(0);
    const queued = bridge.bridge.nextDueAt();
    bridge.clock.advanceBy(30_000);
    meter.reset();

    // Act
    await client.sendFrame({ action: 'ping' });

    // Assess: one update of the window, under its condition; no timer or event queued by the ping.
    expect(client.frames.at(-1)).toEqual({ type: 'pong' });
    expect(meter.writes.map((write) => ({ command: write.command, refused: write.refused }))).toEqual([
      { command: 'UpdateItem', refused: false },
    ]);
    expect(bridge.bridge.nextDueAt()).toBe(queued);
  });
});
