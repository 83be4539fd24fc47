import { GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { LAST_SEEN_RETENTION_MS, type PresenceRecord } from '../../domain/presence-window';
import type { PresenceKey, PresenceStore, PresenceTransition } from '../../ports/presence-store';
import { epochSeconds, isConditionFailure, partitionKey, type TableRef, writeIf } from './table';

const pk = (key: PresenceKey) => partitionKey('presence', key.scopeId, key.clientId);
/**
 * A client's one item: its last sign of life and last transition, and its window while one is open
 * (`onlineUntilMs`, `timerId`). One item, so that every change of state is one conditional write.
 * The sort key is the one the last-seen item had when the window was an item of its own, so
 * `last_seen_at` written before reads on.
 */
const CLIENT = 'STATE#SEEN';

/** The TTL attribute: kept 30 days after the last sign of life, far beyond any window's end. */
const keepUntil = (lastSeenAtMs: number) => epochSeconds(lastSeenAtMs + LAST_SEEN_RETENTION_MS);

interface StoredWindow {
  onlineUntilMs: number;
  lastSeenAtMs: number;
  /** The window's timer chain: the one expiry timer that may queue the next. */
  timerId: string | undefined;
}

export class DynamoPresenceStore implements PresenceStore {
  constructor(private readonly table: TableRef) {}

  async extend(key: PresenceKey, nowMs: number, onlineUntilMs: number): Promise<boolean> {
    return writeIf(
      this.table,
      new UpdateCommand({
        TableName: this.table.tableName,
        Key: { pk: pk(key), sk: CLIENT },
        UpdateExpression: 'SET onlineUntilMs = :until, lastSeenAtMs = :now, expiresAt = :keep',
        // Only an open window is extended; a lapsed one (its timer not run yet) needs a transition.
        ConditionExpression: 'onlineUntilMs > :now',
        ExpressionAttributeValues: { ':until': onlineUntilMs, ':now': nowMs, ':keep': keepUntil(nowMs) },
      }),
    );
  }

  async open(key: PresenceKey, nowMs: number, onlineUntilMs: number, timerId: string) {
    let previous: Record<string, unknown> | undefined;
    try {
      ({ Attributes: previous } = await this.table.doc.send(
        new UpdateCommand({
          TableName: this.table.tableName,
          Key: { pk: pk(key), sk: CLIENT },
          UpdateExpression:
            'SET onlineUntilMs = :until, lastSeenAtMs = :now, timerId = :timer, #state = :online, changedAtMs = :now, expiresAt = :keep',
          // No window, or one that has ended: a racing opener or heartbeat that got there first makes this one lose.
          ConditionExpression: 'attribute_not_exists(onlineUntilMs) OR onlineUntilMs <= :now',
          ExpressionAttributeNames: { '#state': 'state' },
          ExpressionAttributeValues: {
            ':until': onlineUntilMs,
            ':now': nowMs,
            ':timer': timerId,
            ':online': 'online',
            ':keep': keepUntil(nowMs),
          },
          ReturnValues: 'ALL_OLD',
        }),
      ));
    } catch (error) {
      if (isConditionFailure(error)) return { opened: false, transitions: [] };
      throw error;
    }
    const transitions: PresenceTransition[] = [];
    // The window ended before its timer ran (the timer is due, not lost): its offline comes first.
    if (typeof previous?.onlineUntilMs === 'number') {
      transitions.push({ state: 'offline', atMs: previous.onlineUntilMs, lastSeenAtMs: Number(previous.lastSeenAtMs) });
    }
    transitions.push({ state: 'online', atMs: nowMs, lastSeenAtMs: nowMs });
    return { opened: true, transitions };
  }

  async passTimerOn(key: PresenceKey, fromTimerId: string | undefined, toTimerId: string): Promise<boolean> {
    return writeIf(
      this.table,
      new UpdateCommand({
        TableName: this.table.tableName,
        Key: { pk: pk(key), sk: CLIENT },
        UpdateExpression: 'SET timerId = :to',
        // A window that names no timer is adopted once; `attribute_exists(onlineUntilMs)` keeps a closed one from coming back.
        ConditionExpression:
          fromTimerId === undefined
            ? 'attribute_exists(onlineUntilMs) AND attribute_not_exists(timerId)'
            : 'timerId = :from',
        ExpressionAttributeValues: { ':to': toTimerId, ...(fromTimerId === undefined ? {} : { ':from': fromTimerId }) },
      }),
    );
  }

  async closeNow(key: PresenceKey, nowMs: number): Promise<PresenceTransition | undefined> {
    const offline: PresenceTransition = { state: 'offline', atMs: nowMs, lastSeenAtMs: nowMs };
    // Only an open window closes now; a lapsed one is its timer's to close, at its end.
    return (await this.close(key, offline, 'onlineUntilMs > :now', { ':now': nowMs })) ? offline : undefined;
  }

  async closeExpired(key: PresenceKey, nowMs: number) {
    const window = await this.window(key);
    if (!window) return { gone: true as const };
    if (window.onlineUntilMs > nowMs) return { stillOpenUntilMs: window.onlineUntilMs, timerId: window.timerId };
    const offline: PresenceTransition = {
      state: 'offline',
      atMs: window.onlineUntilMs,
      lastSeenAtMs: window.lastSeenAtMs,
    };
    // Exactly the window read: a heartbeat that extended or reopened it meanwhile makes this one lose.
    if (await this.close(key, offline, 'onlineUntilMs = :until', { ':until': window.onlineUntilMs }))
      return { closed: offline };
    // Extended or reopened meanwhile: whoever did that owns the window now.
    const now = await this.window(key);
    return now ? { stillOpenUntilMs: now.onlineUntilMs, timerId: now.timerId } : { gone: true as const };
  }

  async read(key: PresenceKey): Promise<PresenceRecord> {
    const { Item } = await this.table.doc.send(
      new GetCommand({ TableName: this.table.tableName, Key: { pk: pk(key), sk: CLIENT }, ConsistentRead: true }),
    );
    return {
      ...(typeof Item?.onlineUntilMs === 'number' ? { onlineUntilMs: Item.onlineUntilMs } : {}),
      ...(typeof Item?.lastSeenAtMs === 'number' ? { lastSeenAtMs: Item.lastSeenAtMs } : {}),
    };
  }

  private async window(key: PresenceKey): Promise<StoredWindow | undefined> {
    const { Item } = await this.table.doc.send(
      new GetCommand({ TableName: this.table.tableName, Key: { pk: pk(key), sk: CLIENT }, ConsistentRead: true }),
    );
    if (typeof Item?.onlineUntilMs !== 'number') return undefined;
    return {
      onlineUntilMs: Item.onlineUntilMs,
      lastSeenAtMs: Number(Item.lastSeenAtMs),
      timerId: typeof Item.timerId === 'string' ? Item.timerId : undefined,
    };
  }

  /** Ends the window (if `condition` holds) and records the offline as the client's last transition, in one write. */
  private close(
    key: PresenceKey,
    offline: PresenceTransition,
    condition: string,
    values: Record<string, number>,
  ): Promise<boolean> {
    return writeIf(
      this.table,
      new UpdateCommand({
        TableName: this.table.tableName,
        Key: { pk: pk(key), sk: CLIENT },
        UpdateExpression:
          'REMOVE onlineUntilMs, timerId SET lastSeenAtMs = :seen, #state = :offline, changedAtMs = :at, expiresAt = :keep',
        ConditionExpression: condition,
        ExpressionAttributeNames: { '#state': 'state' },
        ExpressionAttributeValues: {
          ...values,
          ':seen': offline.lastSeenAtMs,
          ':offline': 'offline',
          ':at': offline.atMs,
          ':keep': keepUntil(offline.lastSeenAtMs),
        },
      }),
    );
  }
}
