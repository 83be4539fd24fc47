/**
 * Client presence. A client is online while its window (`ttl_seconds` from the last heartbeat) is
 * open; DynamoDB TTL deletes expired items late, so "online" is always `onlineUntil > now`, computed.
 */
export const PRESENCE_TTL = { default: 60, min: 10, max: 3600 } as const;

/** How long `last_seen_at` is kept after the last sign of life. */
export const LAST_SEEN_RETENTION_MS = 30 * 24 * 60 * 60 * 1000;

export interface PresenceRecord {
  /** The window's end, while one is open or has lapsed without its timer having run yet. */
  onlineUntilMs?: number;
  /** The last sign of life: the last heartbeat, or the `offline`. */
  lastSeenAtMs?: number;
}

export interface PresenceView {
  client_id: string;
  online: boolean;
  last_seen_at: string | null;
  expires_at: string | null;
}

/** The contract's presence answer, from what one read returned. */
export function presenceView(clientId: string, record: PresenceRecord, nowMs: number): PresenceView {
  const onlineUntilMs =
    record.onlineUntilMs !== undefined && record.onlineUntilMs > nowMs ? record.onlineUntilMs : undefined;
  return {
    client_id: clientId,
    online: onlineUntilMs !== undefined,
    last_seen_at: record.lastSeenAtMs === undefined ? null : new Date(record.lastSeenAtMs).toISOString(),
    expires_at: onlineUntilMs === undefined ? null : new Date(onlineUntilMs).toISOString(),
  };
}
