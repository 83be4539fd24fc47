import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { DynamoLiveChannelStore } from '../../functions/core/adapters/dynamodb/live-channel-store';
import { partitionKey } from '../../functions/core/adapters/dynamodb/table';
import { LIVE_ITEM_RETENTION_MS } from '../../functions/core/domain/live-channel';
import {
  aLiveConnection,
  aLiveTicket,
  liveChannelStoreContract,
  liveScopeId,
  watchChat,
} from '../support/contracts/live-channel-store-contract';
import { TEST_START } from '../support/manual-clock';
import { storeTable } from '../support/store-table';

const { table, item, partition, itemsWhere } = storeTable('live-channel');
const store = new DynamoLiveChannelStore(table);
const seconds = (ms: number) => Math.floor(ms / 1000);
const ticketItem = (ticketId: string) => item(partitionKey('liveTicket', ticketId), 'TICKET');

describe("the live channel (the port's contract)", () => liveChannelStoreContract(store));

describe('live-channel items', () => {
  it('keep a ticket until just past its validity (the TTL attribute); a clashing issue leaves it as it was', async () => {
    // Prepare
    const ticket = aLiveTicket();
    await store.issueTicket(ticket);
    const before = await ticketItem(ticket.ticketId);

    // Act
    const clash = await store.issueTicket({ ...ticket, kommoUserId: 1 }).catch((error: Error) => error);

    // Assess
    expect(clash).toMatchObject({ name: 'ConditionalCheckFailedException' });
    expect(before).toMatchObject({ kommoUserId: ticket.kommoUserId, expiresAt: seconds(ticket.validUntilMs) + 1 });
    expect(await ticketItem(ticket.ticketId)).toEqual(before);
  });

  it('keep a ticket claimed too late: the refusal deletes nothing', async () => {
    // Prepare
    const ticket = aLiveTicket(TEST_START + 60_000);
    await store.issueTicket(ticket);

    // Act
    await store.claimTicket(ticket.ticketId, TEST_START + 60_000);

    // Assess
    expect(await ticketItem(ticket.ticketId)).toMatchObject({ ticketId: ticket.ticketId });
  });

  it('end a watch and its watcher with the connection (the TTL attribute)', async () => {
    // Prepare
    const connection = aLiveConnection();
    const clientId = `client-${randomUUID()}`;

    // Act
    await store.openConnection(connection);
    await watchChat(store, connection, 'kommo-chat-1', { clientId });

    // Assess
    const items = [
      await item(partitionKey('liveConnection', connection.connectionId), 'CONNECTION'),
      ...(await partition(partitionKey('liveWatch', liveScopeId, String(connection.kommoUserId)))),
      ...(await partition(partitionKey('liveWatcher', liveScopeId, clientId))),
    ];
    expect(items.map((stored) => stored?.expiresAt)).toEqual(
      Array.from({ length: 3 }, () => seconds(TEST_START + LIVE_ITEM_RETENTION_MS)),
    );
  });

  it('hold no watcher for a chat whose client the directory does not know', async () => {
    // Prepare
    const connection = aLiveConnection();
    await store.openConnection(connection);

    // Act
    await watchChat(store, connection, 'kommo-chat-1');

    // Assess
    expect(
      (await itemsWhere('connectionId', connection.connectionId))
        .map((stored) => String(stored.pk).split('#')[0])
        .sort(),
    ).toEqual(['LIVE_ACCOUNT', 'LIVE_CONNECTION', 'LIVE_WATCH']);
  });
});
