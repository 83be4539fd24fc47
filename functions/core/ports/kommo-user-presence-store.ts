import type { KommoUserPresenceKey, KommoUserWindow } from '../domain/kommo-user-presence';

// The values the store keeps are the domain's; named here too for the store's callers.
export type { KommoUserPresenceKey, KommoUserPresenceLabels, KommoUserWindow } from '../domain/kommo-user-presence';

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
