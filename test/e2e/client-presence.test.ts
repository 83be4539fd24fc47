import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LAST_SEEN_RETENTION_MS } from '../../functions/core/domain/presence-window';
import { announcedPresence, storedPresence } from '../support/client-presence';
import { TEST_START } from '../support/manual-clock';
import { givenBridge, type TestBridge } from '../support/test-bridge';

let bridge: TestBridge;
beforeEach(async () => {
  bridge = await givenBridge();
});
afterEach(async () => {
  await bridge.close();
});

const heartbeat = (clientId: string, state: 'online' | 'offline' = 'online', extra: Record<string, unknown> = {}) =>
  bridge.chat('POST', `/chat/${bridge.scopeId}/presence`, { client_id: clientId, state, ...extra });
const query = async (clientId: string) =>
  (await bridge.chat('GET', `/chat/${bridge.scopeId}/presence/${encodeURIComponent(clientId)}`)).body;
const iso = (offsetMs: number) => new Date(TEST_START + offsetMs).toISOString();
const announced = (clientId: string) => announcedPresence(bridge, clientId);

describe('client presence', () => {
  it('a heartbeat makes the client online until ttl_seconds from now', async () => {
    const response = await heartbeat('u-7', 'online', { ttl_seconds: 30 });

    expect(response).toMatchObject({ status: 202, body: { ok: true } });
    expect(await query('u-7')).toEqual({
      client_id: 'u-7',
      online: true,
      last_seen_at: iso(0),
      expires_at: iso(30_000),
    });
  });

  it('no heartbeat for ttl: offline, with last_seen_at at the last heartbeat', async () => {
    await heartbeat('u-7', 'online', { ttl_seconds: 10 });
    await bridge.advance(4000);
    await heartbeat('u-7', 'online', { ttl_seconds: 10 });
    await bridge.advance(30_000);

    expect(await query('u-7')).toEqual({ client_id: 'u-7', online: false, last_seen_at: iso(4000), expires_at: null });
    expect(announced('u-7')).toEqual([
      ['online', 0],
      ['offline', 14_000],
    ]);
    expect(await storedPresence(bridge, 'u-7')).toMatchObject({
      state: 'offline',
      changedAtMs: TEST_START + 14_000,
      lastSeenAtMs: TEST_START + 4000,
    });
  });

  it('an explicit offline ends it at once', async () => {
    await heartbeat('u-7');
    await bridge.advance(2000);

    await heartbeat('u-7', 'offline');

    expect(await query('u-7')).toEqual({ client_id: 'u-7', online: false, last_seen_at: iso(2000), expires_at: null });
    expect(announced('u-7')).toEqual([
      ['online', 0],
      ['offline', 2000],
    ]);
    expect(await storedPresence(bridge, 'u-7')).not.toHaveProperty('onlineUntilMs');
  });

  it('a window whose end has passed reads as offline before its timer closes it', async () => {
    await heartbeat('u-7', 'online', { ttl_seconds: 10 });
    bridge.clock.advanceBy(10_000);

    expect(await storedPresence(bridge, 'u-7')).toMatchObject({ onlineUntilMs: TEST_START + 10_000, state: 'online' });
    expect(await query('u-7')).toMatchObject({ online: false, last_seen_at: iso(0), expires_at: null });
  });

  it('the client is kept 30 days after its last sign of life: one item, whose TTL moves with every heartbeat', async () => {
    await heartbeat('u-7', 'online', { ttl_seconds: 60 });
    await bridge.advance(20_000);
    await heartbeat('u-7', 'online', { ttl_seconds: 60 });

    expect((await storedPresence(bridge, 'u-7'))?.expiresAt).toBe(
      Math.floor((TEST_START + 20_000 + LAST_SEEN_RETENTION_MS) / 1000),
    );
    await bridge.advance(120_000);
    expect((await storedPresence(bridge, 'u-7'))?.expiresAt).toBe(
      Math.floor((TEST_START + 20_000 + LAST_SEEN_RETENTION_MS) / 1000),
    );
    expect(await query('u-7')).toMatchObject({ online: false, last_seen_at: iso(20_000) });
  });

  it('1,000 heartbeats for one client make one online transition', async () => {
    for (let batch = 0; batch < 10; batch += 1) {
      await Promise.all(Array.from({ length: 100 }, () => heartbeat('u-7')));
      bridge.clock.advanceBy(100);
    }
    await bridge.advance(0);

    expect(announced('u-7')).toEqual([['online', 0]]);
    expect(bridge.metrics.get('PresenceTransition')).toBe(1);
    expect(await query('u-7')).toMatchObject({ online: true, last_seen_at: iso(900) });
  });

  it('heartbeats that extend an open window queue nothing', async () => {
    await heartbeat('u-7');
    await bridge.advance(0);
    const timersAfterFirst = bridge.bridge.queues.timers.depth;

    for (let i = 0; i < 20; i += 1) await heartbeat('u-7');

    expect(bridge.bridge.queues.timers.depth).toBe(timersAfterFirst);
  });

  it('racing first heartbeats leave one timer chain, however many timers they armed', async () => {
    await Promise.all(Array.from({ length: 20 }, () => heartbeat('u-7', 'online', { ttl_seconds: 10 })));

    for (let window = 0; window < 3; window += 1) {
      await heartbeat('u-7', 'online', { ttl_seconds: 10 });
      await bridge.advance(10_000);
    }
    await heartbeat('u-7', 'online', { ttl_seconds: 10 });

    expect(bridge.bridge.queues.timers.depth).toBe(1);
  });

  it('keeps a client online across many windows while heartbeats continue, then goes offline once', async () => {
    for (let second = 0; second < 600; second += 30) {
      await heartbeat('u-7', 'online', { ttl_seconds: 60 });
      await bridge.advance(30_000);
    }
    expect((await query('u-7')).online).toBe(true);

    await bridge.advance(120_000);

    expect(announced('u-7')).toEqual([
      ['online', 0],
      ['offline', 630_000],
    ]);
    expect(await query('u-7')).toMatchObject({ online: false, last_seen_at: iso(570_000) });
  });

  it('windows longer than the 900 s queue delay still end on time', async () => {
    await heartbeat('u-7', 'online', { ttl_seconds: 3600 });

    await bridge.advance(3_599_000);
    expect((await query('u-7')).online).toBe(true);
    await bridge.advance(2000);

    expect(await query('u-7')).toMatchObject({ online: false });
    expect(announced('u-7')).toEqual([
      ['online', 0],
      ['offline', 3_600_000],
    ]);
  });

  it('a heartbeat after a window lapsed unnoticed announces the offline before the new online', async () => {
    await heartbeat('u-7', 'online', { ttl_seconds: 10 });
    bridge.clock.advanceBy(20_000);

    await heartbeat('u-7', 'online', { ttl_seconds: 10 });

    expect(announced('u-7')).toEqual([
      ['online', 0],
      ['offline', 10_000],
      ['online', 20_000],
    ]);
    expect(await storedPresence(bridge, 'u-7')).toMatchObject({
      state: 'online',
      changedAtMs: TEST_START + 20_000,
      onlineUntilMs: TEST_START + 30_000,
    });
  });

  it('an offline for a client that is not online changes nothing', async () => {
    const response = await heartbeat('u-9', 'offline');

    expect(response.status).toBe(202);
    expect(announced('u-9')).toEqual([]);
    expect(await storedPresence(bridge, 'u-9')).toBeUndefined();
    expect(await query('u-9')).toEqual({ client_id: 'u-9', online: false, last_seen_at: null, expires_at: null });
  });

  it('keeps clients apart', async () => {
    await heartbeat('u-1');

    expect((await query('u-1')).online).toBe(true);
    expect((await query('u-2')).online).toBe(false);
  });

  it.each([
    ['ttl_seconds below 10', { ttl_seconds: 9 }, 'ttl_seconds'],
    ['ttl_seconds above 3600', { ttl_seconds: 3601 }, 'ttl_seconds'],
    ['an unknown state', { state: 'away' }, 'state'],
    ['a missing client_id', { client_id: undefined }, 'client_id'],
  ])('refuses %s with a 400 naming the field, and stores nothing', async (_, change, field) => {
    const response = await bridge.chat('POST', `/chat/${bridge.scopeId}/presence`, {
      client_id: 'u-7',
      state: 'online',
      ...change,
    });

    expect(response.status).toBe(400);
    expect(response.body.error.message).toContain(field);
    expect(await query('u-7')).toMatchObject({ online: false, last_seen_at: null });
  });
});
