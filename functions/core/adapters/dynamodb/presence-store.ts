import { GetCommand, QueryCommand, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { TransactWriteCommandInput } from '@aws-sdk/lib-dynamodb';
import { LAST_SEEN_RETENTION_MS, type PresenceRecord } from '../../domain/presence-window';
import type { PresenceKey, PresenceStore, PresenceTransition } from '../../ports/presence-store';
import { epochSeconds, partitionKey, type TableRef, writeIf } from './table';

type TransactItem = NonNullable<TransactWriteCommandInput['TransactItems']>[number];

const pk = (key: PresenceKey) => partitionKey('presence', key.scopeId, key.clientId);
/** `STATE#…` items sort together, so one query reads both and none of the transition log. */
const WINDOW = 'STATE#WINDOW';
const SEEN = 'STATE#SEEN';
const TRANSITION = 'TRANSITION#';

/** Sorts transitions in time order; the state breaks ties (offline before online at the same ms). */
const transitionSk = (transition: PresenceTransition) =>
  `${TRANSITION}${String(transition.atMs).padStart(15, '0')}#${transition.state === 'offline' ? 0 : 1}`;

interface StoredWindow {
  onlineUntilMs: number;
  lastSeenAtMs: number;
  /** The window's timer chain: the one expiry timer that may queue the next (absent on windows written before). */
  timerId: string | undefined;
}

export class DynamoPresenceStore implements PresenceStore {
  constructor(private readonly table: TableRef) {}

  async extend(key: PresenceKey, nowMs: number, onlineUntilMs: number): Promise<boolean> {
    return writeIf(
      this.table,
      new UpdateCommand({
        TableName: this.table.tableName,
        Key: { pk: pk(key), sk: WINDOW },
        UpdateExpression: 'SET onlineUntilMs = :until, lastSeenAtMs = :now, expiresAt = :exp',
        // Only an open window is extended; a lapsed one (even if TTL has not deleted it) needs a transition.
        ConditionExpression: 'onlineUntilMs > :now',
        ExpressionAttributeValues: { ':until': onlineUntilMs, ':now': nowMs, ':exp': Math.ceil(onlineUntilMs / 1000) },
      }),
    );
  }

  async open(key: PresenceKey, nowMs: number, onlineUntilMs: number, timerId: string) {
    const previous = await this.window(key);
    if (previous && previous.onlineUntilMs > nowMs) return { opened: false, transitions: [] };
    const transitions: PresenceTransition[] = [];
    // The window ended before its timer ran (the timer is due, not lost): its offline comes first.
    if (previous) transitions.push({ state: 'offline', atMs: previous.onlineUntilMs, lastSeenAtMs: previous.lastSeenAtMs });
    transitions.push({ state: 'online', atMs: nowMs, lastSeenAtMs: nowMs });
    const opened = await this.transact([
      {
        Put: {
          TableName: this.table.tableName,
          Item: { pk: pk(key), sk: WINDOW, onlineUntilMs, lastSeenAtMs: nowMs, openedAtMs: nowMs, timerId, expiresAt: Math.ceil(onlineUntilMs / 1000) },
          // Exactly the state read above: a racing opener or heartbeat makes this one lose.
          ConditionExpression: previous ? 'onlineUntilMs = :previous' : 'attribute_not_exists(pk)',
          ...(previous ? { ExpressionAttributeValues: { ':previous': previous.onlineUntilMs } } : {}),
        },
      },
      ...this.logItems(key, transitions),
    ]);
    return { opened, transitions: opened ? transitions : [] };
  }

  async passTimerOn(key: PresenceKey, fromTimerId: string | undefined, toTimerId: string): Promise<boolean> {
    return writeIf(
      this.table,
      new UpdateCommand({
        TableName: this.table.tableName,
        Key: { pk: pk(key), sk: WINDOW },
        UpdateExpression: 'SET timerId = :to',
        // A window that names no timer yet is adopted once; `attribute_exists(pk)` keeps a closed one from coming back.
        ConditionExpression: fromTimerId === undefined ? 'attribute_exists(pk) AND attribute_not_exists(timerId)' : 'timerId = :from',
        ExpressionAttributeValues: { ':to': toTimerId, ...(fromTimerId === undefined ? {} : { ':from': fromTimerId }) },
      }),
    );
  }

  async closeNow(key: PresenceKey, nowMs: number): Promise<PresenceTransition | undefined> {
    const window = await this.window(key);
    if (!window || window.onlineUntilMs <= nowMs) return undefined;
    const offline: PresenceTransition = { state: 'offline', atMs: nowMs, lastSeenAtMs: nowMs };
    return (await this.close(key, window, offline)) ? offline : undefined;
  }

  async closeExpired(key: PresenceKey, nowMs: number) {
    const window = await this.window(key);
    if (!window) return { gone: true as const };
    if (window.onlineUntilMs > nowMs) return { stillOpenUntilMs: window.onlineUntilMs, timerId: window.timerId };
    const offline: PresenceTransition = { state: 'offline', atMs: window.onlineUntilMs, lastSeenAtMs: window.lastSeenAtMs };
    if (await this.close(key, window, offline)) return { closed: offline };
    // Extended or reopened meanwhile: whoever did that owns the window now.
    const now = await this.window(key);
    return now ? { stillOpenUntilMs: now.onlineUntilMs, timerId: now.timerId } : { gone: true as const };
  }

  async read(key: PresenceKey): Promise<PresenceRecord> {
    const { Items = [] } = await this.table.doc.send(
      new QueryCommand({
        TableName: this.table.tableName,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :state)',
        ExpressionAttributeValues: { ':pk': pk(key), ':state': 'STATE#' },
        ConsistentRead: true,
      }),
    );
    const record: PresenceRecord = {};
    for (const item of Items) {
      if (item.sk === WINDOW) {
        record.onlineUntilMs = Number(item.onlineUntilMs);
        record.windowLastSeenAtMs = Number(item.lastSeenAtMs);
      } else if (item.sk === SEEN) {
        record.lastSeenAtMs = Number(item.lastSeenAtMs);
      }
    }
    return record;
  }

  async transitions(key: PresenceKey): Promise<PresenceTransition[]> {
    const { Items = [] } = await this.table.doc.send(
      new QueryCommand({
        TableName: this.table.tableName,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
        ExpressionAttributeValues: { ':pk': pk(key), ':prefix': TRANSITION },
        ConsistentRead: true,
      }),
    );
    return Items.map((item) => ({ state: item.state as PresenceTransition['state'], atMs: Number(item.atMs), lastSeenAtMs: Number(item.lastSeenAtMs) }));
  }

  private async window(key: PresenceKey): Promise<StoredWindow | undefined> {
    const { Item } = await this.table.doc.send(
      new GetCommand({ TableName: this.table.tableName, Key: { pk: pk(key), sk: WINDOW }, ConsistentRead: true }),
    );
    if (!Item) return undefined;
    return { onlineUntilMs: Number(Item.onlineUntilMs), lastSeenAtMs: Number(Item.lastSeenAtMs), timerId: typeof Item.timerId === 'string' ? Item.timerId : undefined };
  }

  /** Deletes the window exactly as read and records its offline, in one transaction. */
  private close(key: PresenceKey, window: StoredWindow, offline: PresenceTransition): Promise<boolean> {
    return this.transact([
      {
        Delete: {
          TableName: this.table.tableName,
          Key: { pk: pk(key), sk: WINDOW },
          ConditionExpression: 'onlineUntilMs = :until',
          ExpressionAttributeValues: { ':until': window.onlineUntilMs },
        },
      },
      ...this.logItems(key, [offline]),
    ]);
  }

  /** The transition entries and the last-seen item they leave behind (the latest transition's). */
  private logItems(key: PresenceKey, transitions: PresenceTransition[]): TransactItem[] {
    const latest = transitions[transitions.length - 1]!;
    const keepUntil = epochSeconds(latest.atMs + LAST_SEEN_RETENTION_MS);
    return [
      ...transitions.map(
        (transition): TransactItem => ({
          Put: { TableName: this.table.tableName, Item: { pk: pk(key), sk: transitionSk(transition), ...transition, expiresAt: keepUntil } },
        }),
      ),
      {
        Update: {
          TableName: this.table.tableName,
          Key: { pk: pk(key), sk: SEEN },
          UpdateExpression: 'SET lastSeenAtMs = :seen, #state = :state, changedAtMs = :at, expiresAt = :exp',
          ExpressionAttributeNames: { '#state': 'state' },
          ExpressionAttributeValues: { ':seen': latest.lastSeenAtMs, ':state': latest.state, ':at': latest.atMs, ':exp': keepUntil },
        },
      },
    ];
  }

  /** False when a condition in the transaction failed (someone else changed the window first). */
  private async transact(items: TransactItem[]): Promise<boolean> {
    try {
      await this.table.doc.send(new TransactWriteCommand({ TransactItems: items }));
      return true;
    } catch (error) {
      if (error instanceof Error && error.name === 'TransactionCanceledException') {
        const reasons = (error as { CancellationReasons?: { Code?: string }[] }).CancellationReasons ?? [];
        if (reasons.some((reason) => reason.Code === 'ConditionalCheckFailed')) return false;
      }
      throw error;
    }
  }
}
