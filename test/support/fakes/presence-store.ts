import type { PresenceRecord } from '../../../functions/core/domain/presence-window';
import type { PresenceKey, PresenceStore, PresenceTransition } from '../../../functions/core/ports/presence-store';

const clientKey = (key: PresenceKey) => JSON.stringify([key.scopeId, key.clientId]);

interface ClientState {
  onlineUntilMs?: number;
  lastSeenAtMs?: number;
  timerId?: string;
}

/**
 * Client presence in memory, with the port's rules: only an open window is extended, one of racing
 * openers wins, a window names its one timer chain, and a lapsed window is closed at its end.
 */
export class InMemoryPresenceStore implements PresenceStore {
  private readonly clients = new Map<string, ClientState>();

  private state(key: PresenceKey): ClientState {
    const existing = this.clients.get(clientKey(key));
    if (existing) return existing;
    const fresh: ClientState = {};
    this.clients.set(clientKey(key), fresh);
    return fresh;
  }

  async extend(key: PresenceKey, nowMs: number, onlineUntilMs: number): Promise<boolean> {
    const client = this.state(key);
    if (!(client.onlineUntilMs !== undefined && client.onlineUntilMs > nowMs)) return false;
    Object.assign(client, { onlineUntilMs, lastSeenAtMs: nowMs });
    return true;
  }

  async open(
    key: PresenceKey,
    nowMs: number,
    onlineUntilMs: number,
    timerId: string,
  ): Promise<{ opened: boolean; transitions: PresenceTransition[] }> {
    const client = this.state(key);
    if (client.onlineUntilMs !== undefined && client.onlineUntilMs > nowMs) return { opened: false, transitions: [] };
    const transitions: PresenceTransition[] = [];
    if (client.onlineUntilMs !== undefined)
      transitions.push({
        state: 'offline',
        atMs: client.onlineUntilMs,
        lastSeenAtMs: client.lastSeenAtMs ?? client.onlineUntilMs,
      });
    transitions.push({ state: 'online', atMs: nowMs, lastSeenAtMs: nowMs });
    Object.assign(client, { onlineUntilMs, lastSeenAtMs: nowMs, timerId });
    return { opened: true, transitions };
  }

  async passTimerOn(key: PresenceKey, fromTimerId: string | undefined, toTimerId: string): Promise<boolean> {
    const client = this.state(key);
    if (client.onlineUntilMs === undefined || client.timerId !== fromTimerId) return false;
    client.timerId = toTimerId;
    return true;
  }

  async closeNow(key: PresenceKey, nowMs: number): Promise<PresenceTransition | undefined> {
    const client = this.state(key);
    if (!(client.onlineUntilMs !== undefined && client.onlineUntilMs > nowMs)) return undefined;
    this.clients.set(clientKey(key), { lastSeenAtMs: nowMs });
    return { state: 'offline', atMs: nowMs, lastSeenAtMs: nowMs };
  }

  async closeExpired(
    key: PresenceKey,
    nowMs: number,
  ): Promise<
    { closed: PresenceTransition } | { stillOpenUntilMs: number; timerId: string | undefined } | { gone: true }
  > {
    const client = this.state(key);
    if (client.onlineUntilMs === undefined) return { gone: true };
    if (client.onlineUntilMs > nowMs) return { stillOpenUntilMs: client.onlineUntilMs, timerId: client.timerId };
    const closed: PresenceTransition = {
      state: 'offline',
      atMs: client.onlineUntilMs,
      lastSeenAtMs: client.lastSeenAtMs ?? client.onlineUntilMs,
    };
    this.clients.set(clientKey(key), { lastSeenAtMs: closed.lastSeenAtMs });
    return { closed };
  }

  async read(key: PresenceKey): Promise<PresenceRecord> {
    const { onlineUntilMs, lastSeenAtMs } = this.state(key);
    return {
      ...(onlineUntilMs !== undefined ? { onlineUntilMs } : {}),
      ...(lastSeenAtMs !== undefined ? { lastSeenAtMs } : {}),
    };
  }
}
