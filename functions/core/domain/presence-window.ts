/**
 * Client presence. A client is online while its window (`ttl_seconds` from the last heartbeat) is
 * open; DynamoDB TTL deletes expired items late, so "online" is always `onlineUntil > now`, computed.
 */
export const PRESENCE_TTL = { default: 60, min: 10, max: 3600 } as const;

/** How long `last_seen_at` and the transition log are kept after the last sign of life. */
export const LAST_SEEN_RETENTION_MS = 30 * 24 * 60 * 60 * 1000;

export interface PresenceRecord {
  /** Open online window, if any (the `ONLINE` item, TTL = window end). */
  onlineUntilMs?: number;
  /** Last heartbeat in the open window. */
  windowLastSeenAtMs?: number;
  /** Last sign of life kept after the window closed. */
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
  const online = record.onlineUntilMs !== undefined && record.onlineUntilMs > nowMs;
  const lastSeen = Math.max(record.windowLastSeenAtMs ?? -Infinity, record.lastSeenAtMs ?? -Infinity);
  return {
    client_id: clientId,
    online,
    last_seen_at: Number.isFinite(lastSeen) ? new Date(lastSeen).toISOString() : null,
    expires_at: online ? new Date(record.onlineUntilMs!).toISOString() : null,
  };
}
