import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { documentClient } from '../../functions/core/adapters/dynamodb/table';
import type { InProcessLiveClient } from '../../local/live-gateway';
import { TEST_START } from '../support/manual-clock';
import {
  givenBridge,
  givenConnectedAccount,
  TEST_KOMMO_USER_ID,
  widgetRequest,
  type TestBridge,
} from '../support/test-bridge';

/**
 * `user.presence.changed` (docs/contract.md, "v3 changes"): a Kommo user is online while a tab of
 * theirs with Kommo open is visible, any page; the widget's live connection says so with
 * `visibility` frames and keeps it with its pings. Offline 15 s after the last visible tab hides or
 * closes, 90 s after a visible one falls silent. Transitions only, signed like every event (the
 * sink refuses anything else). Connections are in process, through the local gateway.
 */

let bridge: TestBridge;
beforeEach(async () => {
  bridge = await givenBridge();
  await givenConnectedAccount(bridge);
});
afterEach(async () => {
  await bridge.close();
});

const USER_AMOJO_ID = 'b0bc49f0-ec21-4463-965f-1fe1d4cd5b89';

/** A tab of the Kommo user with a live connection (a ticket asked for and used). */
async function givenTab(): Promise<InProcessLiveClient> {
  const answer = await widgetRequest(bridge, 'POST', '/widget/live', undefined, {});
  expect(answer.status).toBe(200);
  const client = await bridge.bridge.live.connectInProcess(answer.body.url);
  expect(client.status).toBe(200);
  return client;
}

const visible = (tab: InProcessLiveClient, isVisible: boolean) =>
  tab.sendFrame({ action: 'visibility', visible: isVisible, user_amojo_id: USER_AMOJO_ID });

/** The user's interface presence events: `[state, at (seconds after TEST_START)]`. */
const transitions = () =>
  bridge.sink
    .eventsOfType('user.presence.changed')
    .map((event) => [event.data.state, Number(event.data.at) - TEST_START / 1000]);

/** Pings every 30 s for `ms`, as the widget does. */
async function pingFor(tabs: InProcessLiveClient[], ms: number): Promise<void> {
  for (let spent = 0; spent < ms; spent += 30_000) {
    await bridge.advance(Math.min(30_000, ms - spent));
    for (const tab of tabs) await tab.sendFrame({ action: 'ping' });
  }
}

describe('user.presence.changed', () => {
  it('a visible tab: online at once, with the user, the Kommo user id and the time; the event is signed and carries the scope', async () => {
    // Prepare
    const tab = await givenTab();

    // Act
    await visible(tab, true);
    await bridge.advance(0);

    // Assess
    const [event] = bridge.sink.eventsOfType('user.presence.changed');
    expect(event).toMatchObject({
      type: 'user.presence.changed',
      id: expect.stringMatching(/^evt_/),
      data: {
        scope_id: bridge.scopeId,
        account_id: expect.any(String),
        user_id: USER_AMOJO_ID,
        kommo_user_id: TEST_KOMMO_USER_ID,
        state: 'online',
        at: TEST_START / 1000,
      },
    });
    expect(transitions()).toEqual([['online', 0]]);
  });

  it('transitions only: two visible tabs and an hour of pings make one online, and the timers queue holds one check', async () => {
    const tabs = [await givenTab(), await givenTab()];
    for (const tab of tabs) await visible(tab, true);

    await pingFor(tabs, 60 * 60_000);

    expect(transitions()).toEqual([['online', 0]]);
    expect(bridge.bridge.queues.timers.depth).toBeLessThanOrEqual(1);
  });

  it('the last visible tab hidden: offline 15 s later, not before; another tab still visible keeps the user online', async () => {
    // Prepare
    const [first, second] = [await givenTab(), await givenTab()];
    await visible(first, true);
    await visible(second, true);

    // Act: one tab hidden, then the other.
    await visible(first, false);
    await pingFor([first, second], 60_000);
    expect(transitions()).toEqual([['online', 0]]);
    await visible(second, false);
    await bridge.advance(14_000);
    expect(transitions()).toEqual([['online', 0]]);
    await bridge.advance(1_000);

    // Assess
    expect(transitions()).toEqual([
      ['online', 0],
      ['offline', 75],
    ]);
  });

  it('the last visible tab closed: offline within 15 s', async () => {
    const tab = await givenTab();
    await visible(tab, true);

    await bridge.advance(5_000);
    await tab.close();
    await bridge.advance(15_000);

    expect(transitions()).toEqual([
      ['online', 0],
      ['offline', 20],
    ]);
  });

  it('hidden and visible again within 15 s (a tab switch, a reload): no event', async () => {
    const tab = await givenTab();
    await visible(tab, true);

    await visible(tab, false);
    await bridge.advance(10_000);
    await visible(tab, true);
    await pingFor([tab], 5 * 60_000);

    expect(transitions()).toEqual([['online', 0]]);
  });

  it('a browser that vanishes (no close, no more pings): offline 90 s after its last frame, not before', async () => {
    const tab = await givenTab();
    await visible(tab, true);
    await pingFor([tab], 60_000);

    tab.vanish();
    await bridge.advance(89_000);
    expect(transitions()).toEqual([['online', 0]]);
    await bridge.advance(1_000);

    expect(transitions()).toEqual([
      ['online', 0],
      ['offline', 150],
    ]);
  });

  it('online, offline, online again: three events, each with its own id', async () => {
    const tab = await givenTab();
    await visible(tab, true);
    await visible(tab, false);
    await bridge.advance(20_000);

    await visible(tab, true);
    await bridge.advance(0);

    expect(transitions()).toEqual([
      ['online', 0],
      ['offline', 15],
      ['online', 20],
    ]);
    expect(new Set(bridge.sink.eventsOfType('user.presence.changed').map((event) => event.id)).size).toBe(3);
  });

  it('a connection whose tab never became visible: no event, and its pings write nothing of the user', async () => {
    const tab = await givenTab();

    await pingFor([tab], 5 * 60_000);
    await tab.close();
    await bridge.advance(60_000);

    expect(transitions()).toEqual([]);
    const { Items = [] } = await documentClient(bridge.dynamo).send(
      new ScanCommand({ TableName: bridge.tableName, ConsistentRead: true }),
    );
    expect(Items.filter((item) => String(item.pk).startsWith('USER_PRESENCE#'))).toEqual([]);
  });

  it.each([
    ['visible that is not a boolean', { action: 'visibility', visible: 'yes' }],
    ['no visible', { action: 'visibility' }],
    ['an unknown field', { action: 'visibility', visible: true, extra: 1 }],
    ['an empty user_amojo_id', { action: 'visibility', visible: true, user_amojo_id: '' }],
  ])('a visibility frame with %s: an error frame, the connection stays, nothing changes', async (_, frame) => {
    const tab = await givenTab();

    await tab.sendFrame(frame);
    await bridge.advance(30_000);

    expect(tab.frames).toEqual([{ type: 'error', code: expect.any(String), message: expect.any(String) }]);
    expect(transitions()).toEqual([]);
    await tab.sendFrame({ action: 'ping' });
    expect(tab.frames.at(-1)).toEqual({ type: 'pong' });
  });
});
