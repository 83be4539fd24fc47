import { beforeEach, describe, expect, it } from 'vitest';
import { givenConnectedBridge } from '../support/connected-bridge';
import { DynamoWriteMeter } from '../support/dynamo-writes';
import { TEST_KOMMO_CHAT as KOMMO_CHAT } from '../support/test-bridge';

/**
 * What a live-channel ping costs in DynamoDB writes (docs/cost-model.md, "The widget on the live
 * channel"): a ping renews the Kommo user's 90-s window in each chat the connection watches, one
 * conditional write per chat, and writes nothing else; a ping that renews nothing writes nothing.
 * Writes are counted as AWS charges them (test/support/dynamo-writes.ts).
 */

const bridge = givenConnectedBridge();
let meter: DynamoWriteMeter;
beforeEach(() => {
  meter = new DynamoWriteMeter(bridge.dynamo);
});

const connect = () => bridge.openLiveConnection();

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
    await bridge.registerChat({ conversationId: 'c-1', kommoConversationId: KOMMO_CHAT, clientId: 'u-1' });
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
