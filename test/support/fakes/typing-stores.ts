import type {
  ClientTypingKey,
  ClientTypingStore,
  ManagerTyping,
  ManagerTypingKey,
  ManagerTypingStore,
} from '../../../functions/core/ports/typing-store';

const clientKey = (key: ClientTypingKey) => JSON.stringify([key.scopeId, key.conversationId, key.senderId]);
const managerKey = (key: ManagerTypingKey) => JSON.stringify([key.scopeId, key.kommoConversationId, key.userId]);

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
export class InMemoryManagerTypingStore implements ManagerTypingStore {
  private readonly items = new Map<string, ManagerTyping & { stoppedForMs?: number }>();

  async renew(typing: ManagerTyping, _nowMs: number): Promise<{ moved: boolean }> {
    const item = this.items.get(managerKey(typing));
    if (item && item.deadlineMs > typing.deadlineMs) return { moved: false };
    this.items.set(managerKey(typing), {
      ...typing,
      ...(item?.stoppedForMs !== undefined ? { stoppedForMs: item.stoppedForMs } : {}),
    });
    return { moved: true };
  }

  async get(key: ManagerTypingKey): Promise<ManagerTyping | undefined> {
    const item = this.items.get(managerKey(key));
    return item ? typingOf(item) : undefined;
  }

  async claimStop(key: ManagerTypingKey, deadlineMs: number): Promise<ManagerTyping | undefined> {
    const item = this.items.get(managerKey(key));
    if (!item || item.deadlineMs !== deadlineMs || item.stoppedForMs === deadlineMs) return undefined;
    item.stoppedForMs = deadlineMs;
    return typingOf(item);
  }

  async releaseStop(key: ManagerTypingKey, deadlineMs: number): Promise<void> {
    const item = this.items.get(managerKey(key));
    if (item?.stoppedForMs === deadlineMs) delete item.stoppedForMs;
  }
}

function typingOf({ stoppedForMs: _, ...typing }: ManagerTyping & { stoppedForMs?: number }): ManagerTyping {
  return { ...typing };
}
