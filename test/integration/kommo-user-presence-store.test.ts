import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { DynamoKommoUserPresenceStore } from '../../functions/core/adapters/dynamodb/kommo-user-presence-store';
import { partitionKey } from '../../functions/core/adapters/dynamodb/table';
import { KOMMO_USER_WINDOW_RETENTION_MS } from '../../functions/core/domain/kommo-user-presence';
import type { KommoUserPresenceKey, KommoUserWindow } from '../../functions/core/ports/kommo-user-presence-store';
import { TEST_START } from '../support/manual-clock';
import { storeTable } from '../support/store-table';

const { table, item } = storeTable('kommo-user-presence');
const store = new DynamoKommoUserPresenceStore(table);
const scopeId = 'c0ffee00-0000-4000-8000-000000000001_52e591f7-c98f-4255-8495-827210138c81';

/** Every test watches its own conversation, so tests share one table without seeing each other. */
const aUserInAConversation = (): KommoUserPresenceKey => ({
  scopeId,
  accountId: 'account-1',
  conversationId: `conv-${randomUUID()}`,
  userId: '7001',
});
const windowItem = (key: KommoUserPresenceKey) =>
  item(partitionKey('kommoUserPresence', key.scopeId, key.userId, key.conversationId), 'WINDOW');

/** A window opened at `openedAtMs` for 90 s, labelled as the widget labels it. */
const aWindow = (windowId: string, openedAtMs = TEST_START, extra: Partial<KommoUserWindow> = {}): KommoUserWindow => ({
  windowId,
  openedAtMs,
  onlineUntilMs: openedAtMs + 90_000,
  lastSeenAtMs: openedAtMs,
  kommoConversationId: 'kommo-chat-1',
  userAmojoId: 'amojo-user-1',
  ...extra,
});

describe('Kommo user presence windows', () => {
  it('opens a window not yet announced, kept a day past its end (the TTL attribute)', async () => {
    // Prepare
    const key = aUserInAConversation();

    // Act
    const outcome = await store.open(key, aWindow('window-1'), TEST_START);

    // Assess
    expect(outcome).toEqual({ opened: true });
    expect(await store.read(key)).toEqual({ ...aWindow('window-1'), announced: false });
    expect((await windowItem(key))?.expiresAt).toBe(
      Math.floor((TEST_START + 90_000 + KOMMO_USER_WINDOW_RETENTION_MS) / 1000),
    );
  });

  it('opens exactly one window of 10 concurrent heartbeats', async () => {
    // Prepare
    const key = aUserInAConversation();

    // Act
    const outcomes = await Promise.all(
      Array.from({ length: 10 }, (_, i) => store.open(key, aWindow(`window-${i}`), TEST_START)),
    );

    // Assess
    expect(outcomes.filter((outcome) => outcome.opened)).toHaveLength(1);
  });

  it('refuses to open over an open window and leaves it as it was', async () => {
    // Prepare
    const key = aUserInAConversation();
    await store.open(key, aWindow('window-1'), TEST_START);
    const before = await windowItem(key);

    // Act
    const outcome = await store.open(key, aWindow('window-2', TEST_START + 89_999), TEST_START + 89_999);

    // Assess
    expect(outcome).toEqual({ opened: false });
    expect(await windowItem(key)).toEqual(before);
  });

  it('opens over a window that ended unnoticed, and returns it as lapsed', async () => {
    // Prepare
    const key = aUserInAConversation();
    await store.open(key, aWindow('window-1', TEST_START, { timerId: 'timer-1' }), TEST_START);
    await store.markAnnounced(key, 'window-1');

    // Act
    const outcome = await store.open(key, aWindow('window-2', TEST_START + 90_000), TEST_START + 90_000);

    // Assess
    expect(outcome).toEqual({ opened: true, lapsed: aWindow('window-1', TEST_START, { timerId: 'timer-1' }) });
    expect((await store.read(key))?.windowId).toBe('window-2');
  });

  it('extends only an open, announced window', async () => {
    // Prepare
    const key = aUserInAConversation();
    await store.open(key, aWindow('window-1'), TEST_START);

    // Act
    const beforeAnnounced = await store.extend(key, TEST_START + 30_000, TEST_START + 120_000);
    await store.markAnnounced(key, 'window-1');
    const announced = await store.extend(key, TEST_START + 30_000, TEST_START + 120_000);
    const afterItsEnd = await store.extend(key, TEST_START + 120_000, TEST_START + 210_000);

    // Assess
    expect([beforeAnnounced, announced, afterItsEnd]).toEqual([false, true, false]);
    expect(await store.read(key)).toMatchObject({
      onlineUntilMs: TEST_START + 120_000,
      lastSeenAtMs: TEST_START + 30_000,
      announced: true,
    });
    expect((await windowItem(key))?.expiresAt).toBe(
      Math.floor((TEST_START + 120_000 + KOMMO_USER_WINDOW_RETENTION_MS) / 1000),
    );
  });

  it('marks only the named window announced', async () => {
    // Prepare
    const key = aUserInAConversation();
    await store.open(key, aWindow('window-1'), TEST_START);

    // Act
    await store.markAnnounced(key, 'window-other');

    // Assess
    expect((await store.read(key))?.announced).toBe(false);
  });

  it('lets a window that names no timer be adopted once, then hands it on only from the named timer', async () => {
    // Prepare
    const key = aUserInAConversation();
    await store.open(key, aWindow('window-1'), TEST_START);

    // Act
    const adopted = await store.passTimerOn(key, 'window-1', undefined, 'timer-1');
    const adoptedAgain = await store.passTimerOn(key, 'window-1', undefined, 'timer-x');
    const otherWindow = await store.passTimerOn(key, 'window-other', 'timer-1', 'timer-y');
    const handedOn = await store.passTimerOn(key, 'window-1', 'timer-1', 'timer-2');

    // Assess
    expect([adopted, adoptedAgain, otherWindow, handedOn]).toEqual([true, false, false, true]);
    expect((await store.read(key))?.timerId).toBe('timer-2');
  });

  it('closes only the current window', async () => {
    // Prepare
    const key = aUserInAConversation();
    await store.open(key, aWindow('window-1'), TEST_START);

    // Act
    const other = await store.close(key, 'window-other');
    const stillThere = await store.read(key);
    const current = await store.close(key, 'window-1');

    // Assess
    expect([other, current]).toEqual([false, true]);
    expect(stillThere?.windowId).toBe('window-1');
    expect(await windowItem(key)).toBeUndefined();
  });
});
