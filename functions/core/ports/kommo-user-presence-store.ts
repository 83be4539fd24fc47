/** A Kommo user in one conversation: the widget reports it, the chat service hears of transitions. */
export interface KommoUserPresenceKey {
  scopeId: string;
  /** The scope's account (amojo id), for the events. */
  accountId: string;
  /** The chat service's conversation id. */
  conversationId: string;
  /** Kommo's numeric user id, as a string. */
  userId: string;
}

/**
 * What a window's events say about the chat and the user besides the key: Kommo's chat id (known when
 * the widget named the chat by it) and the Kommo user's amojo id (when the widget sent it). The
 * heartbeat that opens a window sets them; the window's offline event repeats them.
 */
export interface KommoUserPresenceLabels {
  kommoConversationId?: string;
  userAmojoId?: string;
}

/** An online window: opened by a heartbeat after silence, extended by each heartbeat after that. */
export interface KommoUserWindow extends KommoUserPresenceLabels {
  /** Names this window in its timer and its events, so neither can be confused with a later window. */
  windowId: string;
  openedAtMs: number;
  onlineUntilMs: number;
  lastSeenAtMs: number;
  /**
   * The window's timer chain: the one end-of-window timer that may queue the next (absent on windows
   * written before windows named their timer).
   */
  timerId?: string;
}

export interface StoredKommoUserWindow extends KommoUserWindow {
  /** Whether its online event and its timer were queued; until then no heartbeat merely extends it. */
  announced: boolean;
}

/**
 * Presence of Kommo users in conversations. One item per (scope, user, conversation); only a
 * transition (open, close) changes more than the window's end, and conditional writes decide them.
 */
export interface KommoUserPresenceStore {
  /** Extends the open, announced window to `onlineUntilMs`: one conditional write. False otherwise. */
  extend(key: KommoUserPresenceKey, nowMs: number, onlineUntilMs: number): Promise<boolean>;
  /**
   * Opens `window`, not yet announced, unless one is open at `nowMs`; exactly one of racing openers
   * wins. Returns the window it replaced, which had ended without its timer having closed it yet.
   */
  open(
    key: KommoUserPresenceKey,
    window: KommoUserWindow,
    nowMs: number,
  ): Promise<{ opened: false } | { opened: true; lapsed?: KommoUserWindow }>;
  /** Records that window `windowId`'s online event and timer are queued. */
  markAnnounced(key: KommoUserPresenceKey, windowId: string): Promise<void>;
  read(key: KommoUserPresenceKey): Promise<StoredKommoUserWindow | undefined>;
  /**
   * Hands window `windowId`'s timer chain from `fromTimerId` (the timer it named when read; `undefined`
   * when it named none) to `toTimerId`, already queued. False when the window is gone or no longer
   * names `fromTimerId`: another timer took the chain.
   */
  passTimerOn(
    key: KommoUserPresenceKey,
    windowId: string,
    fromTimerId: string | undefined,
    toTimerId: string,
  ): Promise<boolean>;
  /** Removes window `windowId` if it is still the current one; false when it was not. */
  close(key: KommoUserPresenceKey, windowId: string): Promise<boolean>;
}
