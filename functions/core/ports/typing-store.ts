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
    /**
     * This attempt's own id (never the webhook-id: a repeat of a request is another start, not the
     * claimant). The SDK's retry of a claim whose answer was lost finds the window claimed by it.
     */
    attemptId: string,
  ): Promise<{ claimed: boolean }>;
  /** Gives back a window `attemptId` claimed, when the attempt failed before its Kommo call: the request's retry claims it again. */
  release(key: ClientTypingKey, attemptId: string, nowMs: number): Promise<void>;
  /** Ends typing now: no refresh claims succeed after it. */
  stop(key: ClientTypingKey, nowMs: number): Promise<void>;
  /** Claims the refresh window up to `nextCallAtMs` if typing is still active and the current window is over. */
  claimRefresh(key: ClientTypingKey, nowMs: number, nextCallAtMs: number): Promise<boolean>;
}

export interface KommoUserTypingKey {
  scopeId: string;
  kommoConversationId: string;
  userId: string;
}

export interface KommoUserTyping extends KommoUserTypingKey {
  accountId: string;
  /** The chat service's conversation id; null for chats started with Kommo's "write first". */
  conversationId: string | null;
  deadlineMs: number;
}

/** Kommo users' typing (Kommo → chat service): the latest deadline per user and conversation. */
export interface KommoUserTypingStore {
  /** Moves the deadline forward (never back); `moved` is false for a hook older than what is stored. */
  renew(typing: KommoUserTyping, nowMs: number): Promise<{ moved: boolean }>;
  get(key: KommoUserTypingKey): Promise<KommoUserTyping | undefined>;
  /**
   * Claims the one `typing.stopped` for `deadlineMs`: succeeds only if that is still the deadline and
   * no stop was claimed for it. Returns the typing item when claimed.
   */
  claimStop(key: KommoUserTypingKey, deadlineMs: number): Promise<KommoUserTyping | undefined>;
  /** Gives a claim back when the stop event could not be queued, so the timer's retry can claim it. */
  releaseStop(key: KommoUserTypingKey, deadlineMs: number): Promise<void>;
}
