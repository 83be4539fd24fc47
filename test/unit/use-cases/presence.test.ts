import { describe, expect, it } from 'vitest';
import {
  clientOffline,
  clientOnline,
  presenceDeadline,
  readPresence,
} from '../../../functions/core/use-cases/presence';
import { TEST_START } from '../../support/manual-clock';
import { FakeLiveConnections, InMemoryLiveChannelStore } from '../../support/fakes/live-channel';
import { InMemoryPresenceStore } from '../../support/fakes/presence-store';
import { baseDeps, UNIT_ACCOUNT_ID, UNIT_SCOPE_ID } from '../../support/fakes/unit-deps';

const key = { scopeId: UNIT_SCOPE_ID, clientId: 'client-1' };
const iso = (ms: number) => new Date(ms).toISOString();

function givenPresence() {
  return {
    ...baseDeps(),
    presence: new InMemoryPresenceStore(),
    live: new InMemoryLiveChannelStore(),
    liveConnections: new FakeLiveConnections(),
  };
}

const expiryTimer = (deadlineMs: number, timerId: string) => ({ kind: 'presence-expiry', ...key, deadlineMs, timerId });

describe('a heartbeat', () => {
  it("brings an offline client online, with a timer at the window's end", async () => {
    // Prepare
    const deps = givenPresence();

    // Act
    const outcome = await clientOnline(deps, key, 60);

    // Assess
    expect(outcome).toBe('went-online');
    expect(deps.queues.timers.sent).toEqual([{ body: expiryTimer(TEST_START + 60_000, 'id-1'), delaySeconds: 60 }]);
    expect(await readPresence(deps, key)).toEqual({
      client_id: 'client-1',
      online: true,
      last_seen_at: iso(TEST_START),
      expires_at: iso(TEST_START + 60_000),
    });
    expect(deps.metrics.get('PresenceTransition')).toBe(1);
  });

  it('only extends the window of a client already online: no timer, no transition', async () => {
    // Prepare
    const deps = givenPresence();
    await clientOnline(deps, key, 60);
    deps.clock.advanceBy(30_000);

    // Act
    const outcome = await clientOnline(deps, key, 60);

    // Assess
    expect(outcome).toBe('extended');
    expect(deps.queues.timers.sent).toHaveLength(1);
    expect((await readPresence(deps, key)).expires_at).toBe(iso(TEST_START + 90_000));
    expect(deps.metrics.get('PresenceTransition')).toBe(1);
  });

  it('reopens a window that ended before its timer ran, announcing the offline first', async () => {
    // Prepare
    const deps = givenPresence();
    await clientOnline(deps, key, 60);
    deps.clock.advanceBy(61_000);

    // Act
    const outcome = await clientOnline(deps, key, 60);

    // Assess
    expect(outcome).toBe('went-online');
    expect(deps.metrics.get('PresenceTransition')).toBe(3);
    expect(
      deps.log.lines.filter((line) => line.message === 'presence changed').map((line) => line.attributes?.state),
    ).toEqual(['online', 'offline', 'online']);
  });

  it("checks a window longer than SQS's longest delay in steps of 900 s", async () => {
    // Prepare
    const deps = givenPresence();
    await clientOnline(deps, key, 3_600);
    deps.clock.advanceBy(900_000);

    // Act
    const outcome = await presenceDeadline(deps, key, TEST_START + 3_600_000, 'id-1');

    // Assess
    expect(outcome).toBe('extended');
    expect(deps.queues.timers.sent.map((message) => message.delaySeconds)).toEqual([900, 900]);
  });
});

describe('an explicit offline', () => {
  it('closes the window at once, and a second one changes nothing', async () => {
    // Prepare
    const deps = givenPresence();
    await clientOnline(deps, key, 60);
    deps.clock.advanceBy(10_000);

    // Act
    const outcomes = [await clientOffline(deps, key), await clientOffline(deps, key)];

    // Assess
    expect(outcomes).toEqual(['went-offline', 'already-offline']);
    expect(await readPresence(deps, key)).toEqual({
      client_id: 'client-1',
      online: false,
      last_seen_at: iso(TEST_START + 10_000),
      expires_at: null,
    });
    expect(deps.metrics.get('PresenceTransition')).toBe(2);
  });
});

describe("the timer at a window's end", () => {
  it("takes the client offline at the window's end, whenever the timer runs", async () => {
    // Prepare
    const deps = givenPresence();
    await clientOnline(deps, key, 60);
    deps.clock.advanceBy(65_000);

    // Act
    const outcome = await presenceDeadline(deps, key, TEST_START + 60_000, 'id-1');

    // Assess
    expect(outcome).toBe('went-offline');
    expect(await readPresence(deps, key)).toMatchObject({ online: false, last_seen_at: iso(TEST_START) });
    expect(deps.log.lines.find((line) => line.attributes?.state === 'offline')?.attributes?.at).toBe(
      iso(TEST_START + 60_000),
    );
  });

  it('waits for the new end of a window heartbeats extended, handing its chain to the next timer', async () => {
    // Prepare
    const deps = givenPresence();
    await clientOnline(deps, key, 60);
    deps.clock.advanceBy(30_000);
    await clientOnline(deps, key, 60);
    deps.clock.advanceBy(30_000);

    // Act
    const named = await presenceDeadline(deps, key, TEST_START + 60_000, 'id-1');
    const copyOfIt = await presenceDeadline(deps, key, TEST_START + 60_000, 'id-1');

    // Assess
    expect([named, copyOfIt]).toEqual(['extended', 'duplicate']);
    expect(deps.queues.timers.sent).toEqual([
      { body: expiryTimer(TEST_START + 60_000, 'id-1'), delaySeconds: 60 },
      { body: expiryTimer(TEST_START + 90_000, 'id-2'), delaySeconds: 30 },
    ]);
  });

  it('ends a stray timer the window does not name, queueing nothing', async () => {
    // Prepare
    const deps = givenPresence();
    await clientOnline(deps, key, 60);

    // Act
    const outcome = await presenceDeadline(deps, key, TEST_START + 60_000, 'timer-of-a-lost-race');

    // Assess
    expect(outcome).toBe('duplicate');
    expect(deps.queues.timers.sent).toHaveLength(1);
  });

  it('does nothing for a client whose window is already closed', async () => {
    // Prepare
    const deps = givenPresence();
    await clientOnline(deps, key, 60);
    await clientOffline(deps, key);
    deps.clock.advanceBy(60_000);

    // Act
    const outcome = await presenceDeadline(deps, key, TEST_START + 60_000, 'id-1');

    // Assess
    expect(outcome).toBe('gone');
    expect(deps.metrics.get('PresenceTransition')).toBe(2);
  });
});

describe('pushing presence to the live channel', () => {
  const caller = { scopeId: UNIT_SCOPE_ID, accountId: UNIT_ACCOUNT_ID, kommoAccountId: 31_000_001, kommoUserId: 7001 };

  async function givenWatched(deps: ReturnType<typeof givenPresence>, connectionId: string) {
    const connection = { ...caller, connectionId, connectedAtMs: TEST_START };
    await deps.live.openConnection(connection);
    await deps.live.watch(
      connection,
      {
        connectionId,
        kommoConversationId: 'kommo-chat-1',
        conversationId: 'conv-1',
        clientId: 'client-1',
      },
      20,
    );
  }

  it("tells every connection watching the client's chat each transition", async () => {
    // Prepare
    const deps = givenPresence();
    await givenWatched(deps, 'conn-1');

    // Act
    await clientOnline(deps, key, 60);
    await clientOnline(deps, key, 60);
    await clientOffline(deps, key);

    // Assess
    expect(deps.liveConnections.frames).toEqual([
      {
        connectionId: 'conn-1',
        frame: {
          type: 'client.presence',
          kommo_conversation_id: 'kommo-chat-1',
          conversation_id: 'conv-1',
          client_id: 'client-1',
          online: true,
          last_seen_at: iso(TEST_START),
          expires_at: iso(TEST_START + 60_000),
        },
      },
      {
        connectionId: 'conn-1',
        frame: {
          type: 'client.presence',
          kommo_conversation_id: 'kommo-chat-1',
          conversation_id: 'conv-1',
          client_id: 'client-1',
          online: false,
          last_seen_at: iso(TEST_START),
          expires_at: null,
        },
      },
    ]);
  });

  it('forgets a watcher whose connection is gone, and the change stands', async () => {
    // Prepare
    const deps = givenPresence();
    await givenWatched(deps, 'conn-gone');
    deps.liveConnections.gone.add('conn-gone');

    // Act
    const outcome = await clientOnline(deps, key, 60);

    // Assess
    expect(outcome).toBe('went-online');
    expect(await deps.live.watchersOf(UNIT_SCOPE_ID, 'client-1', deps.clock.now())).toEqual([]);
    expect(deps.metrics.get('LiveConnectionGone')).toBe(1);
    expect((await readPresence(deps, key)).online).toBe(true);
  });
});
