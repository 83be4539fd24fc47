import { LIVE_ITEM_RETENTION_MS, type LiveFrame } from '../../../functions/core/domain/live-channel';
import type {
  LiveCaller,
  LiveChannelStore,
  LiveConnection,
  LiveConnections,
  LiveTicket,
  LiveWatch,
  LiveWatcher,
  WatchOutcome,
} from '../../../functions/core/ports/live-channel';

/**
 * Live-channel tickets, connections and watches in memory, with the port's rules: a ticket is used up
 * once and only while valid, and nothing outlives API Gateway's limit on a connection.
 */
export class InMemoryLiveChannelStore implements LiveChannelStore {
  private readonly tickets = new Map<string, LiveTicket>();
  private readonly connections = new Map<string, LiveConnection>();
  /** Watches with the connection they belong to (its caller and when it connected). */
  private watches: { connection: LiveConnection; watch: LiveWatch }[] = [];

  async issueTicket(ticket: LiveTicket): Promise<void> {
    if (this.tickets.has(ticket.ticketId)) throw new Error(`ticket ${ticket.ticketId} was issued before`);
    this.tickets.set(ticket.ticketId, { ...ticket });
  }

  async claimTicket(ticketId: string, nowMs: number): Promise<LiveTicket | undefined> {
    const ticket = this.tickets.get(ticketId);
    if (!ticket || ticket.validUntilMs <= nowMs) return undefined;
    this.tickets.delete(ticketId);
    return ticket;
  }

  async openConnection(connection: LiveConnection): Promise<void> {
    this.connections.set(connection.connectionId, { ...connection });
  }

  async connectionsOfAccount(accountId: string, nowMs: number): Promise<string[]> {
    return [...this.connections.values()]
      .filter((connection) => connection.accountId === accountId && live(connection, nowMs))
      .map((connection) => connection.connectionId);
  }

  async connection(connectionId: string, nowMs: number): Promise<LiveConnection | undefined> {
    const connection = this.connections.get(connectionId);
    return connection && live(connection, nowMs) ? { ...connection } : undefined;
  }

  async setConnectionVisible(connectionId: string, visible: boolean): Promise<boolean> {
    const connection = this.connections.get(connectionId);
    if (!connection) return false;
    const { visible: _was, ...rest } = connection;
    this.connections.set(connectionId, visible ? { ...rest, visible: true } : rest);
    return true;
  }

  async closeConnection(connectionId: string): Promise<LiveConnection | undefined> {
    const connection = this.connections.get(connectionId);
    this.connections.delete(connectionId);
    return connection;
  }

  async watch(connection: LiveConnection, watch: LiveWatch, maxWatches: number): Promise<WatchOutcome> {
    if (!this.connections.has(connection.connectionId)) return 'closed';
    const renewal = this.watches.some((entry) => sameWatch(entry, connection, watch.kommoConversationId));
    const count = this.watches.filter((entry) => entry.connection.connectionId === connection.connectionId).length;
    if (!renewal && count >= maxWatches) return 'too_many';
    this.watches = this.watches.filter((entry) => !sameWatch(entry, connection, watch.kommoConversationId));
    this.watches.push({ connection: { ...connection }, watch: { ...watch } });
    return 'watching';
  }

  async unwatch(connection: LiveConnection, kommoConversationId: string): Promise<LiveWatch | undefined> {
    const found = this.watches.find((entry) => sameWatch(entry, connection, kommoConversationId));
    this.watches = this.watches.filter((entry) => entry !== found);
    return found?.watch;
  }

  async watchesOf(connection: LiveConnection, nowMs: number): Promise<LiveWatch[]> {
    return this.watches
      .filter((entry) => entry.connection.connectionId === connection.connectionId && live(entry.connection, nowMs))
      .map((entry) => ({ ...entry.watch }));
  }

  async watchedElsewhere(connection: LiveConnection, kommoConversationId: string, nowMs: number): Promise<boolean> {
    return this.watches.some(
      (entry) =>
        sameUser(entry.connection, connection) &&
        entry.connection.connectionId !== connection.connectionId &&
        entry.watch.kommoConversationId === kommoConversationId &&
        live(entry.connection, nowMs),
    );
  }

  async watchersOf(scopeId: string, clientId: string, nowMs: number): Promise<LiveWatcher[]> {
    return this.watches
      .filter(
        (entry) =>
          entry.connection.scopeId === scopeId && entry.watch.clientId === clientId && live(entry.connection, nowMs),
      )
      .map(({ watch }) => ({
        connectionId: watch.connectionId,
        kommoConversationId: watch.kommoConversationId,
        ...(watch.conversationId !== undefined ? { conversationId: watch.conversationId } : {}),
      }));
  }

  async forgetWatcher(scopeId: string, clientId: string, watcher: LiveWatcher): Promise<void> {
    // The per-client copy only: the user's watch ends with its connection.
    for (const entry of this.watches) {
      if (
        entry.connection.scopeId === scopeId &&
        entry.watch.clientId === clientId &&
        entry.watch.connectionId === watcher.connectionId &&
        entry.watch.kommoConversationId === watcher.kommoConversationId
      ) {
        const { clientId: _, ...withoutClient } = entry.watch;
        entry.watch = withoutClient;
      }
    }
  }
}

const live = (connection: LiveConnection, nowMs: number) => connection.connectedAtMs + LIVE_ITEM_RETENTION_MS > nowMs;
const sameUser = (a: LiveCaller, b: LiveCaller) => a.scopeId === b.scopeId && a.kommoUserId === b.kommoUserId;
const sameWatch = (
  entry: { connection: LiveConnection; watch: LiveWatch },
  connection: LiveConnection,
  kommoConversationId: string,
) =>
  entry.connection.connectionId === connection.connectionId && entry.watch.kommoConversationId === kommoConversationId;

/** The connections themselves: the frames each received, and the ones that are gone (API Gateway's 410). */
export class FakeLiveConnections implements LiveConnections {
  readonly frames: { connectionId: string; frame: LiveFrame }[] = [];
  readonly gone = new Set<string>();

  address(): string | undefined {
    return 'wss://live.example.com';
  }

  async send(connectionId: string, frame: LiveFrame): Promise<'sent' | 'gone'> {
    if (this.gone.has(connectionId)) return 'gone';
    this.frames.push({ connectionId, frame: structuredClone(frame) });
    return 'sent';
  }

  async close(connectionId: string): Promise<'closed' | 'gone'> {
    if (this.gone.has(connectionId)) return 'gone';
    this.gone.add(connectionId);
    return 'closed';
  }
}
