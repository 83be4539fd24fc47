export interface ClientTypingKey {
  scopeId: string;
  conversationId: string;
  senderId: string;
}

/** Client typing sessions (chat service → Kommo). Conditional writes decide who makes each Kommo call. */
export interface ClientTypingStore {
  /**
   * Extends typing to `activeUntilMs` and, when no Kommo call covers `nowMs` any more, claims the
   * window up to `nextCallAtMs`. Exactly one of any number of concurrent callers claims a window.
   */
  start(
    key: ClientTypingKey,
    window: { nowMs: number; activeUntilMs: number; nextCallAtMs: number },
    /** The request's id: its retry (same id) after a lost answer finds the window claimed by itself. */
    requestId: string,
  ): Promise<{ claimed: boolean }>;
  /** Ends typing now: no refresh claims succeed after it. */
  stop(key: ClientTypingKey, nowMs: number): Promise<void>;
  /** Claims the refresh window up to `nextCallAtMs` if typing is still active and the current window is over. */
  claimRefresh(key: ClientTypingKey, nowMs: number, nextCallAtMs: number): Promise<boolean>;
}

export interface ManagerTypingKey {
  scopeId: string;
  kommoConversationId: string;
  userId: string;
}

export interface ManagerTyping extends ManagerTypingKey {
  accountId: string;
  /** The chat service's conversation id; null for chats started with Kommo's "write first". */
  conversationId: string | null;
  deadlineMs: number;
}

/** Kommo users' typing (Kommo → chat service): the latest deadline per user and conversation. */
export interface ManagerTypingStore {
  /** Moves the deadline forward (never back); `moved` is false for a hook older than what is stored. */
  renew(typing: ManagerTyping, nowMs: number): Promise<{ moved: boolean }>;
  get(key: ManagerTypingKey): Promise<ManagerTyping | undefined>;
  /**
   * Claims the one `typing.stopped` for `deadlineMs`: succeeds only if that is still the deadline and
   * no stop was claimed for it. Returns the typing item when claimed.
   */
  claimStop(key: ManagerTypingKey, deadlineMs: number): Promise<ManagerTyping | undefined>;
  /** Gives a claim back when the stop event could not be queued, so the timer's retry can claim it. */
  releaseStop(key: ManagerTypingKey, deadlineMs: number): Promise<void>;
}
