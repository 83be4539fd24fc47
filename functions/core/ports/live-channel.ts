import type { LiveFrame } from '../domain/live-channel';

/**
 * The live channel (docs/contract.md, "Live channel for the widget"): WebSocket connections that the Kommo
 * widget opens with a single-use ticket, the chats each one watches, and the frames the bridge pushes.
 */

/** What a ticket binds its one connection to: the widget caller that asked for it. */
export interface LiveCaller {
  scopeId: string;
  /** The scope's account (amojo id), for the events. */
  accountId: string;
  kommoAccountId: number;
  kommoUserId: number;
}

export interface LiveTicket extends LiveCaller {
  ticketId: string;
  validUntilMs: number;
}

export interface LiveConnection extends LiveCaller {
  connectionId: string;
  connectedAtMs: number;
  /** Present once the widget said its tab is visible (the `visibility` frame), gone when it said hidden. */
  visible?: true;
}

/** A chat a connection watches, with the ids the directory gave for it when the watch began. */
export interface LiveWatch {
  connectionId: string;
  kommoConversationId: string;
  /** The chat service's conversation id. */
  conversationId?: string;
  /** The chat's client, whose presence the connection hears; absent while the directory does not know it. */
  clientId?: string;
  /** The Kommo user's amojo id, when the widget sent it: events then carry it as `user_id`. */
  userAmojoId?: string;
}

/** A connection to push a client's presence transitions to, for one chat of that client. */
export interface LiveWatcher {
  connectionId: string;
  kommoConversationId: string;
  conversationId?: string;
}

/** What asking for a watch came to: recorded (or renewed), or refused because the connection is closed or watches its most. */
export type WatchOutcome = 'watching' | 'closed' | 'too_many';

/**
 * Tickets, connections and watches, each item living no longer than API Gateway keeps a connection.
 * A watch is kept twice: per Kommo user (what a connection watches, and whether another connection of
 * the same user watches that chat too) and per client (who hears the client's presence, in one Query).
 */
export interface LiveChannelStore {
  issueTicket(ticket: LiveTicket): Promise<void>;
  /** Uses a ticket up: its binding, once and only while it is valid; undefined otherwise. One conditional write. */
  claimTicket(ticketId: string, nowMs: number): Promise<LiveTicket | undefined>;
  openConnection(connection: LiveConnection): Promise<void>;
  /** The open connection, or undefined when it never opened, closed, or outlived API Gateway's limit. */
  connection(connectionId: string, nowMs: number): Promise<LiveConnection | undefined>;
  /**
   * Records whether the connection's tab is visible, so that its pings renew the Kommo user's online
   * state only when it is (and a hidden tab's ping writes nothing). False when the connection is not open.
   */
  setConnectionVisible(connectionId: string, visible: boolean): Promise<boolean>;
  /** Forgets the connection (not its watches); returns what it was, if it was there. */
  closeConnection(connectionId: string): Promise<LiveConnection | undefined>;
  /** The open connections of an account (the scope's amojo id): what its disconnect closes. */
  connectionsOfAccount(accountId: string, nowMs: number): Promise<string[]>;
  /**
   * Records (or renews) a watch of the connection, in one conditional write: only while the connection
   * is open (`closed` otherwise) and, for a new watch, watches fewer than `maxWatches` (`too_many`).
   */
  watch(connection: LiveConnection, watch: LiveWatch, maxWatches: number): Promise<WatchOutcome>;
  /** Ends a watch of the connection; returns it, or undefined when the connection did not watch that chat. */
  unwatch(connection: LiveConnection, kommoConversationId: string): Promise<LiveWatch | undefined>;
  /** Every chat the connection watches. */
  watchesOf(connection: LiveConnection, nowMs: number): Promise<LiveWatch[]>;
  /** Whether another connection of the same Kommo user watches the chat. */
  watchedElsewhere(connection: LiveConnection, kommoConversationId: string, nowMs: number): Promise<boolean>;
  /** The connections watching the chats of a client: one Query. */
  watchersOf(scopeId: string, clientId: string, nowMs: number): Promise<LiveWatcher[]>;
  /** Removes a watcher whose connection is gone. */
  forgetWatcher(scopeId: string, clientId: string, watcher: LiveWatcher): Promise<void>;
}

/**
 * The connections themselves: API Gateway's Management API in AWS, the local server's sockets locally.
 */
export interface LiveConnections {
  /** Where clients connect (the ticket is added as `?ticket=`); undefined when this function does not hand it out. */
  address(): string | undefined;
  /** Pushes one frame; `gone` when the connection no longer exists (API Gateway answers 410). */
  send(connectionId: string, frame: LiveFrame): Promise<'sent' | 'gone'>;
  /**
   * Closes a connection from the bridge's side (`DELETE @connections/{id}`); its `$disconnect` then runs
   * as for a close by the client. `gone` when it was closed already.
   */
  close(connectionId: string): Promise<'closed' | 'gone'>;
}
