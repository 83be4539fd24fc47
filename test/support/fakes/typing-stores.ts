import type {
  ClientTypingKey,
  ClientTypingStore,
  KommoUserTyping,
  KommoUserTypingKey,
  KommoUserTypingStore,
} from '../../../functions/core/ports/typing-store';

const clientKey = (key: ClientTypingKey) => JSON.stringify([key.scopeId, key.conversationId, key.senderId]);
const kommoUserKey = (key: KommoUserTypingKey) => JSON.stringify([key.scopeId, key.kommoConversationId, key.userId]);

interface ClientTypingItem {
  activeUntilMs: number;
  nextCallAtMs?: number;
  claimedBy?: string;
}

/** Client typing sessions in memory, with the port's rules: one claimant per window, typing never shortened by a start. */
export class InMemoryClientTypingStore implements ClientTypingStore {
  private readonly items = new Map<string, ClientTypingItem>();

  async start(
    key: ClientTypingKey,
    window: { nowMs: number; activeUntilMs: number; nextCallAtMs: number },
    attemptId: string,
  ): Promise<{ claimed: boolean }> {
    const item = this.items.get(clientKey(key));
    if (item?.nextCallAtMs !== undefined && item.nextCallAtMs > window.nowMs) {
      item.activeUntilMs = Math.max(item.activeUntilMs, window.activeUntilMs);
      return { claimed: false };
    }
    this.items.set(clientKey(key), {
      activeUntilMs: window.activeUntilMs,
      nextCallAtMs: window.nextCallAtMs,
      claimedBy: attemptId,
    });
    return { claimed: true };
  }

  async release(key: ClientTypingKey, attemptId: string, nowMs: number): Promise<void> {
    const item = this.items.get(clientKey(key));
    if (item?.claimedBy === attemptId) item.nextCallAtMs = nowMs;
  }

  async stop(key: ClientTypingKey, nowMs: number): Promise<void> {
    const item = this.items.get(clientKey(key));
    if (item) item.activeUntilMs = nowMs;
  }

  async claimRefresh(key: ClientTypingKey, nowMs: number, nextCallAtMs: number): Promise<boolean> {
    const item = this.items.get(clientKey(key));
    if (!item || !(item.activeUntilMs > nowMs) || !(item.nextCallAtMs !== undefined && item.nextCallAtMs <= nowMs))
      return false;
    item.nextCallAtMs = nextCallAtMs;
    return true;
  }
}

/** Kommo users' typing in memory: the deadline only moves forward, and one stop is claimed per deadline. */
export class InMemoryKommoUserTypingStore implements KommoUserTypingStore {
  private readonly items = new Map<string, KommoUserTyping & { stoppedForMs?: number }>();

  async renew(typing: KommoUserTyping, _nowMs: number): Promise<{ moved: boolean }> {
    const item = this.items.get(kommoUserKey(typing));
    if (item && item.deadlineMs > typing.deadlineMs) return { moved: false };
    this.items.set(kommoUserKey(typing), {
      ...typing,
      ...(item?.stoppedForMs !== undefined ? { stoppedForMs: item.stoppedForMs } : {}),
    });
    return { moved: true };
  }

  async get(key: KommoUserTypingKey): Promise<KommoUserTyping | undefined> {
    const item = this.items.get(kommoUserKey(key));
    return item ? typingOf(item) : undefined;
  }

  async claimStop(key: KommoUserTypingKey, deadlineMs: number): Promise<KommoUserTyping | undefined> {
    const item = this.items.get(kommoUserKey(key));
    if (!item || item.deadlineMs !== deadlineMs || item.stoppedForMs === deadlineMs) return undefined;
    item.stoppedForMs = deadlineMs;
    return typingOf(item);
  }

  async releaseStop(key: KommoUserTypingKey, deadlineMs: number): Promise<void> {
    const item = this.items.get(kommoUserKey(key));
    if (item?.stoppedForMs === deadlineMs) delete item.stoppedForMs;
  }
}

function typingOf({ stoppedForMs: _, ...typing }: KommoUserTyping & { stoppedForMs?: number }): KommoUserTyping {
  return { ...typing };
}
