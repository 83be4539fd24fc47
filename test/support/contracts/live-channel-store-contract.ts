import { randomUUID } from 'node:crypto';
import { expect, it } from 'vitest';
import { LIVE_ITEM_RETENTION_MS } from '../../../functions/core/domain/live-channel';
import type {
  LiveCaller,
  LiveChannelStore,
  LiveConnection,
  LiveTicket,
  LiveWatch,
} from '../../../functions/core/ports/live-channel';
import { TEST_START } from '../manual-clock';

/**
 * What every LiveChannelStore must do, seen only through the port: run against the DynamoDB adapter
 * (test/integration) and the in-memory fake (test/unit/fakes). Each test speaks for its own Kommo
 * user, client and tickets, so one store (one table) serves them all.
 */

export const liveScopeId = 'c0ffee00-0000-4000-8000-000000000001_52e591f7-c98f-4255-8495-827210138c81';
let nextUserId = 900_000;
export const aLiveCaller = (): LiveCaller => ({
  scopeId: liveScopeId,
  accountId: 'account-1',
  kommoAccountId: 31_000_001,
  kommoUserId: (nextUserId += 1),
});
export const aLiveTicket = (validUntilMs = TEST_START + 60_000): LiveTicket => ({
  ticketId: `ticket-${randomUUID()}`,
  validUntilMs,
  ...aLiveCaller(),
});
/** The `=` is there because API Gateway's connection ids end with one. */
export const aLiveConnection = (caller: LiveCaller = aLiveCaller(), connectedAtMs = TEST_START): LiveConnection => ({
  connectionId: `conn-${randomUUID()}=`,
  connectedAtMs,
  ...caller,
});

/** The widget's limit on one connection's watches. */
const WATCH_LIMIT = 20;

/** `connection` watches `kommoConversationId` (with whatever else the watch carries), under the widget's limit. */
export const watchChat = (
  store: LiveChannelStore,
  connection: LiveConnection,
  kommoConversationId: string,
  more: Omit<LiveWatch, 'connectionId' | 'kommoConversationId'> = {},
) => store.watch(connection, { connectionId: connection.connectionId, kommoConversationId, ...more }, WATCH_LIMIT);

export function liveChannelStoreContract(store: LiveChannelStore): void {
  it('never issues one ticket id twice', async () => {
    // Prepare
    const ticket = aLiveTicket();
    await store.issueTicket(ticket);

    // Act
    const clash = store.issueTicket({ ...ticket, kommoUserId: 1 });

    // Assess
    await expect(clash).rejects.toThrow();
    expect(await store.claimTicket(ticket.ticketId, TEST_START)).toEqual(ticket);
  });

  it('uses a ticket up once: the first claim gets its binding, the next gets nothing', async () => {
    // Prepare
    const ticket = aLiveTicket();
    await store.issueTicket(ticket);

    // Act
    const claims = [
      await store.claimTicket(ticket.ticketId, TEST_START),
      await store.claimTicket(ticket.ticketId, TEST_START),
    ];

    // Assess
    expect(claims).toEqual([ticket, undefined]);
  });

  it("gives a ticket's binding to exactly one of 10 concurrent connects", async () => {
    // Prepare
    const ticket = aLiveTicket();
    await store.issueTicket(ticket);

    // Act
    const claims = await Promise.all(Array.from({ length: 10 }, () => store.claimTicket(ticket.ticketId, TEST_START)));

    // Assess
    expect(claims.filter((claim) => claim !== undefined)).toEqual([ticket]);
  });

  it('refuses an expired ticket, and an unknown one', async () => {
    // Prepare
    const ticket = aLiveTicket(TEST_START + 60_000);
    await store.issueTicket(ticket);

    // Act
    const claims = [
      await store.claimTicket(ticket.ticketId, TEST_START + 60_000),
      await store.claimTicket(`ticket-${randomUUID()}`, TEST_START),
    ];

    // Assess
    expect(claims).toEqual([undefined, undefined]);
  });

  it('keeps a connection open until it closes, and never longer than API Gateway keeps one', async () => {
    // Prepare
    const connection = aLiveConnection();
    await store.openConnection(connection);

    // Act
    const open = await store.connection(connection.connectionId, TEST_START + 1_000);
    const pastLimit = await store.connection(connection.connectionId, TEST_START + LIVE_ITEM_RETENTION_MS);
    const closed = await store.closeConnection(connection.connectionId);
    const afterClose = [
      await store.connection(connection.connectionId, TEST_START + 1_000),
      await store.closeConnection(connection.connectionId),
    ];

    // Assess
    expect(open).toEqual(connection);
    expect(pastLimit).toBeUndefined();
    expect(closed).toEqual(connection);
    expect(afterClose).toEqual([undefined, undefined]);
  });

  it("remembers whether a connection's tab is visible, and refuses to for a connection that is not open", async () => {
    // Prepare
    const connection = aLiveConnection();
    await store.openConnection(connection);

    // Act
    const shown = await store.setConnectionVisible(connection.connectionId, true);
    const whileVisible = await store.connection(connection.connectionId, TEST_START + 1_000);
    const hidden = await store.setConnectionVisible(connection.connectionId, false);
    const whileHidden = await store.connection(connection.connectionId, TEST_START + 1_000);
    await store.setConnectionVisible(connection.connectionId, true);
    const closed = await store.closeConnection(connection.connectionId);
    const afterClose = await store.setConnectionVisible(connection.connectionId, true);
    const neverOpened = await store.setConnectionVisible(randomUUID(), true);

    // Assess
    expect([shown, hidden]).toEqual([true, true]);
    expect(whileVisible).toEqual({ ...connection, visible: true });
    expect(whileHidden).toEqual(connection);
    expect(closed).toEqual({ ...connection, visible: true });
    expect([afterClose, neverOpened]).toEqual([false, false]);
    expect(await store.connection(connection.connectionId, TEST_START + 1_000)).toBeUndefined();
  });

  it('keeps a watch per user and per client', async () => {
    // Prepare
    const connection = aLiveConnection();
    await store.openConnection(connection);
    const clientId = `client-${randomUUID()}`;

    // Act
    await watchChat(store, connection, 'kommo-chat-1', {
      conversationId: 'conv-1',
      clientId,
      userAmojoId: 'amojo-user-1',
    });

    // Assess
    expect(await store.watchesOf(connection, TEST_START)).toEqual([
      {
        connectionId: connection.connectionId,
        kommoConversationId: 'kommo-chat-1',
        conversationId: 'conv-1',
        clientId,
        userAmojoId: 'amojo-user-1',
      },
    ]);
    expect(await store.watchersOf(liveScopeId, clientId, TEST_START)).toEqual([
      { connectionId: connection.connectionId, kommoConversationId: 'kommo-chat-1', conversationId: 'conv-1' },
    ]);
  });

  it('renews a watch of the same chat instead of keeping two', async () => {
    // Prepare
    const connection = aLiveConnection();
    await store.openConnection(connection);
    const clientId = `client-${randomUUID()}`;
    await watchChat(store, connection, 'kommo-chat-1');

    // Act
    await watchChat(store, connection, 'kommo-chat-1', { clientId });

    // Assess
    expect(await store.watchesOf(connection, TEST_START)).toEqual([
      { connectionId: connection.connectionId, kommoConversationId: 'kommo-chat-1', clientId },
    ]);
    expect(await store.watchersOf(liveScopeId, clientId, TEST_START)).toHaveLength(1);
  });

  it('ends a watch and its watcher; ending one the connection never had returns nothing and ends nothing', async () => {
    // Prepare
    const connection = aLiveConnection();
    await store.openConnection(connection);
    const clientId = `client-${randomUUID()}`;
    await watchChat(store, connection, 'kommo-chat-1', { clientId });
    await watchChat(store, connection, 'kommo-chat-2', { clientId });

    // Act
    const never = await store.unwatch(connection, 'kommo-chat-never');
    const ended = await store.unwatch(connection, 'kommo-chat-1');

    // Assess
    expect(never).toBeUndefined();
    expect(ended).toEqual({ connectionId: connection.connectionId, kommoConversationId: 'kommo-chat-1', clientId });
    expect((await store.watchesOf(connection, TEST_START)).map((watch) => watch.kommoConversationId)).toEqual([
      'kommo-chat-2',
    ]);
    expect(
      (await store.watchersOf(liveScopeId, clientId, TEST_START)).map((watcher) => watcher.kommoConversationId),
    ).toEqual(['kommo-chat-2']);
  });

  it('tells whether another connection (tab) of the same user watches the chat', async () => {
    // Prepare
    const caller = aLiveCaller();
    const firstTab = aLiveConnection(caller);
    await store.openConnection(firstTab);
    const secondTab = aLiveConnection(caller);
    await store.openConnection(secondTab);
    const otherUser = aLiveConnection();
    await store.openConnection(otherUser);
    await watchChat(store, firstTab, 'kommo-chat-1');
    await watchChat(store, otherUser, 'kommo-chat-2');

    // Act
    const seen = [
      await store.watchedElsewhere(secondTab, 'kommo-chat-1', TEST_START),
      await store.watchedElsewhere(firstTab, 'kommo-chat-1', TEST_START),
      await store.watchedElsewhere(secondTab, 'kommo-chat-2', TEST_START),
      await store.watchedElsewhere(secondTab, 'kommo-chat-1', TEST_START + LIVE_ITEM_RETENTION_MS),
    ];

    // Assess
    expect(seen).toEqual([true, false, false, false]);
  });

  it("forgets a watcher whose connection is gone, leaving the user's watch", async () => {
    // Prepare
    const connection = aLiveConnection();
    await store.openConnection(connection);
    const clientId = `client-${randomUUID()}`;
    await watchChat(store, connection, 'kommo-chat-1', { clientId });

    // Act
    await store.forgetWatcher(liveScopeId, clientId, {
      connectionId: connection.connectionId,
      kommoConversationId: 'kommo-chat-1',
    });

    // Assess
    expect(await store.watchersOf(liveScopeId, clientId, TEST_START)).toEqual([]);
    expect(await store.watchesOf(connection, TEST_START)).toHaveLength(1);
  });

  it("hears no watcher and no watch past the connection's limit", async () => {
    // Prepare
    const connection = aLiveConnection();
    await store.openConnection(connection);
    const clientId = `client-${randomUUID()}`;
    await watchChat(store, connection, 'kommo-chat-1', { clientId });

    // Act
    const late = [
      await store.watchersOf(liveScopeId, clientId, TEST_START + LIVE_ITEM_RETENTION_MS),
      await store.watchesOf(connection, TEST_START + LIVE_ITEM_RETENTION_MS),
    ];

    // Assess
    expect(late).toEqual([[], []]);
  });

  it('refuses a watch for a connection that is not open (closed before the watch was written)', async () => {
    // Prepare
    const connection = aLiveConnection();
    await store.openConnection(connection);
    await store.closeConnection(connection.connectionId);

    // Act
    const outcome = await watchChat(store, connection, 'kommo-chat-1', { clientId: 'client-x' });

    // Assess
    expect(outcome).toBe('closed');
    expect(await store.watchesOf(connection, TEST_START)).toEqual([]);
    expect(await store.watchersOf(liveScopeId, 'client-x', TEST_START)).toEqual([]);
  });

  it('counts watches against the limit: a new one past it is refused, a renewal is not, an unwatch frees a place', async () => {
    // Prepare
    const connection = aLiveConnection();
    await store.openConnection(connection);
    const chat = (n: number) => ({ connectionId: connection.connectionId, kommoConversationId: `kommo-chat-${n}` });
    for (const n of [1, 2]) expect(await store.watch(connection, chat(n), 2)).toBe('watching');

    // Act
    const outcomes = [
      await store.watch(connection, chat(3), 2),
      await store.watch(connection, chat(1), 2),
      await store.unwatch(connection, 'kommo-chat-2').then(() => store.watch(connection, chat(3), 2)),
    ];

    // Assess
    expect(outcomes).toEqual(['too_many', 'watching', 'watching']);
    expect((await store.watchesOf(connection, TEST_START)).map((watch) => watch.kommoConversationId).sort()).toEqual([
      'kommo-chat-1',
      'kommo-chat-3',
    ]);
  });

  it("lists an account's open connections, and no longer one that closed", async () => {
    // Prepare
    const caller = { ...aLiveCaller(), accountId: `account-${randomUUID()}` };
    const [first, second] = [aLiveConnection(caller), aLiveConnection(caller)];
    await store.openConnection(first);
    await store.openConnection(second);
    await store.openConnection(aLiveConnection());

    // Act
    await store.closeConnection(first.connectionId);

    // Assess
    expect(await store.connectionsOfAccount(caller.accountId, TEST_START)).toEqual([second.connectionId]);
    expect(await store.connectionsOfAccount(caller.accountId, TEST_START + LIVE_ITEM_RETENTION_MS)).toEqual([]);
  });
}
