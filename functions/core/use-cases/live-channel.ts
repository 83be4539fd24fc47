import { randomBytes } from 'node:crypto';
import { BridgeError, conflict, forbidden, unauthenticated } from '../domain/errors';
import {
  clientPresenceFrame,
  LIVE_TICKET_SECONDS,
  MAX_WATCHES_PER_CONNECTION,
  type LiveFrame,
} from '../domain/live-channel';
import { presenceView } from '../domain/presence-window';
import type { BridgeDeps, QueuesOf } from '../deps';
import type { KommoUserPresenceKey } from '../ports/kommo-user-presence-store';
import type { LiveCaller, LiveConnection, LiveWatch } from '../ports/live-channel';
import { knownKommoChat, registeredConversationId } from './conversation-directory';
import { kommoUserHeartbeat, kommoUserLeft } from './kommo-user-presence';
import { userTabHidden, userTabSeen, userTabVisible } from './user-presence';
import type { WidgetCaller } from './widget-caller';

export type LiveChannelDeps = Pick<
  BridgeDeps,
  | 'config'
  | 'clock'
  | 'newId'
  | 'log'
  | 'metrics'
  | 'presence'
  | 'kommoUserPresence'
  | 'userPresence'
  | 'conversations'
  | 'live'
  | 'liveConnections'
  | 'accountBindings'
> &
  QueuesOf<'timers' | 'events'>;

/**
 * `POST /widget/live`: a ticket for one connect, bound to the caller (scope, Kommo account and user),
 * valid for 60 s. 256 random bits: the ticket is the connection's only credential, and it travels in
 * the URL because browsers cannot set headers on a WebSocket handshake.
 */
export async function issueLiveTicket(
  deps: Pick<BridgeDeps, 'config' | 'clock' | 'live' | 'liveConnections'>,
  caller: WidgetCaller,
): Promise<{ url: string; expires_at: string; ping_seconds: number }> {
  const address = deps.liveConnections.address();
  if (address === undefined)
    throw new BridgeError(
      'unavailable',
      'not_configured',
      'This bridge serves no live channel (LIVE_CHANNEL_URL is not set)',
    );
  const ticketId = randomBytes(32).toString('base64url');
  const validUntilMs = deps.clock.now() + LIVE_TICKET_SECONDS * 1000;
  await deps.live.issueTicket({
    ticketId,
    validUntilMs,
    scopeId: caller.scope.scopeId,
    accountId: caller.scope.accountId,
    kommoAccountId: caller.kommoAccountId,
    kommoUserId: caller.kommoUserId,
  });
  const url = new URL(address);
  url.searchParams.set('ticket', ticketId);
  // The deployment chooses the ping interval (and the window it keeps); the widget follows what it is told here.
  return {
    url: url.toString(),
    expires_at: new Date(validUntilMs).toISOString(),
    ping_seconds: deps.config.KOMMO_USER_PING_SECONDS,
  };
}

/**
 * `$connect`: the ticket is used up (once, while valid) and the connection takes over its binding, as
 * long as the account is still connected as it was when the ticket was issued. The binding is checked
 * after the connection is written: an account's disconnect removes the binding first and then closes
 * the account's connections, so a connect racing it is either refused here or found and closed there.
 */
export async function openLiveConnection(
  deps: Pick<BridgeDeps, 'clock' | 'live' | 'log' | 'accountBindings'>,
  connectionId: string,
  ticketId: string | undefined,
): Promise<LiveConnection> {
  if (ticketId === undefined || ticketId === '')
    throw unauthenticated('ticket_required', 'Connect with the URL POST /widget/live answered: it carries the ticket');
  const now = deps.clock.now();
  const ticket = await deps.live.claimTicket(ticketId, now);
  if (!ticket) {
    throw unauthenticated(
      'invalid_ticket',
      `The ticket is unknown, used or older than ${LIVE_TICKET_SECONDS} s: ask POST /widget/live for a new one`,
    );
  }
  const { ticketId: _, validUntilMs, ...caller } = ticket;
  const connection: LiveConnection = { ...caller, connectionId, connectedAtMs: now };
  await deps.live.openConnection(connection);
  if (!(await stillConnected(deps, caller, validUntilMs - LIVE_TICKET_SECONDS * 1000))) {
    await deps.live.closeConnection(connectionId);
    deps.log.info('live connect refused: the account was disconnected after the ticket was issued', {
      scopeId: caller.scopeId,
    });
    throw accountDisconnected(caller);
  }
  deps.log.info('live connection opened', { scopeId: connection.scopeId, kommoUserId: connection.kommoUserId });
  return connection;
}

/**
 * Whether the caller's Kommo account is still bound to the caller's scope, by a binding made no later
 * than `sinceMs` (a ticket's issue, a connection's open): a disconnect, and a connect after it, both
 * end what was handed out before them.
 */
async function stillConnected(
  deps: Pick<BridgeDeps, 'accountBindings'>,
  caller: LiveCaller,
  sinceMs: number,
): Promise<boolean> {
  const binding = await deps.accountBindings.byKommoAccount(caller.kommoAccountId);
  return binding !== undefined && binding.scopeId === caller.scopeId && binding.boundAtMs <= sinceMs;
}

const accountDisconnected = (caller: LiveCaller) =>
  forbidden(
    'account_not_connected',
    `Kommo account ${caller.kommoAccountId} is no longer connected to this bridge as it was when this connection was made`,
  );

/**
 * An account's disconnect (uninstall, operator, admin) ends its live channel: each of its open
 * connections is closed through the Management API, and each one's `$disconnect` then ends its
 * watches as a close by the client does. Runs after the binding is gone, so no connection the
 * disconnect misses can do anything: every frame and `$connect` checks the binding first.
 */
export async function endAccountLiveChannel(
  deps: Pick<BridgeDeps, 'clock' | 'log' | 'live' | 'liveConnections'>,
  accountId: string,
): Promise<number> {
  const connectionIds = await deps.live.connectionsOfAccount(accountId, deps.clock.now());
  let closed = 0;
  for (const connectionId of connectionIds) {
    try {
      if ((await deps.liveConnections.close(connectionId)) === 'closed') closed += 1;
    } catch (error) {
      // The disconnect has happened: a connection left open can do nothing (its next frame finds no binding and closes it).
      deps.log.warn('could not close a live connection of a disconnected account', {
        error: error instanceof Error ? error.message : String(error),
      });
    }
  }
  if (connectionIds.length > 0) deps.log.info('live connections of a disconnected account closed', { closed });
  return closed;
}

/**
 * `$disconnect`: the connection's watches end, and with each the Kommo user's presence in that chat,
 * unless another connection of the same user still watches it (a second tab).
 */
export async function closeLiveConnection(deps: LiveChannelDeps, connectionId: string): Promise<void> {
  const connection = await deps.live.closeConnection(connectionId);
  if (!connection) return;
  await userTabHidden(deps, userOf(connection), connectionId);
  for (const watch of await deps.live.watchesOf(connection, deps.clock.now())) {
    await endWatch(deps, connection, watch.kommoConversationId);
  }
}

/** What a frame of an open connection asks for. */
export type LiveRequest =
  | { action: 'watch'; kommoConversationId: string; userAmojoId?: string }
  | { action: 'unwatch'; kommoConversationId: string }
  | { action: 'visibility'; visible: boolean; userAmojoId?: string }
  | { action: 'ping'; pong: boolean };

/**
 * A frame from the widget. Every frame that names what the user is doing is a heartbeat of the Kommo
 * user's presence, the same one `POST /widget/chats/{id}/presence` makes (a 90-s window renewed
 * by each): `watch` for its chat, `ping` for every chat the connection watches. So a socket that
 * vanishes without closing stops renewing, and the window's own timer says offline at its end.
 */
export async function handleLiveRequest(
  deps: LiveChannelDeps,
  connectionId: string,
  request: LiveRequest,
): Promise<void> {
  const connection = await deps.live.connection(connectionId, deps.clock.now());
  if (!connection)
    throw unauthenticated(
      'unknown_connection',
      'This connection is not open any more: connect again with a new ticket',
    );
  if (!(await stillConnected(deps, connection, connection.connectedAtMs))) {
    // The account's disconnect closes its connections; this one slipped through (or that close failed): it ends now.
    await refuseLiveFrame(deps, connectionId, accountDisconnected(connection));
    await deps.liveConnections.close(connectionId);
    return;
  }
  switch (request.action) {
    case 'watch':
      return watchChat(deps, connection, request.kommoConversationId, request.userAmojoId);
    case 'unwatch':
      await endWatch(deps, connection, request.kommoConversationId);
      return;
    case 'visibility':
      // The connection remembers its tab's visibility (one write per change), so a hidden tab's pings write nothing.
      if ((connection.visible === true) !== request.visible)
        await deps.live.setConnectionVisible(connectionId, request.visible);
      if (request.visible) await userTabVisible(deps, userOf(connection), connectionId, request.userAmojoId);
      else await userTabHidden(deps, userOf(connection), connectionId);
      return;
    case 'ping':
      if (connection.visible) await userTabSeen(deps, userOf(connection), connectionId);
      await Promise.all(
        (await deps.live.watchesOf(connection, deps.clock.now())).map((watch) =>
          kommoUserHeartbeat(deps, kommoUserIn(connection, watch), labelsOf(watch)),
        ),
      );
      // A widget that told the bridge it ignores pongs (`"pong": false`) gets none: a message and a log line less.
      if (request.pong) await send(deps, connection.connectionId, { type: 'pong' });
      return;
  }
}

/** Tells the connection what was wrong with its frame; the connection stays open. */
export async function refuseLiveFrame(
  deps: Pick<BridgeDeps, 'liveConnections'>,
  connectionId: string,
  error: BridgeError,
): Promise<void> {
  await send(deps, connectionId, { type: 'error', code: error.code, message: error.message });
}

async function watchChat(
  deps: LiveChannelDeps,
  connection: LiveConnection,
  kommoConversationId: string,
  userAmojoId: string | undefined,
): Promise<void> {
  const scope = { scopeId: connection.scopeId, accountId: connection.accountId };
  const chat = await knownKommoChat(deps, scope, kommoConversationId);
  const conversationId = registeredConversationId(chat);
  const now = deps.clock.now();
  const watch: LiveWatch = {
    connectionId: connection.connectionId,
    kommoConversationId,
    conversationId,
    ...(chat.clientId === undefined ? {} : { clientId: chat.clientId }),
    ...(userAmojoId === undefined ? {} : { userAmojoId }),
  };
  // The watch first, so a transition from now on finds it; then the presence as it is now. One conditional
  // write decides both the limit and whether the connection is still open.
  const outcome = await deps.live.watch(connection, watch, MAX_WATCHES_PER_CONNECTION);
  if (outcome === 'too_many')
    throw conflict(
      'too_many_watches',
      `A connection watches at most ${MAX_WATCHES_PER_CONNECTION} chats at once: unwatch one first`,
    );
  if (outcome === 'closed')
    throw unauthenticated(
      'unknown_connection',
      'This connection is not open any more: connect again with a new ticket',
    );
  const presence =
    chat.clientId === undefined
      ? undefined
      : presenceView(chat.clientId, await deps.presence.read({ scopeId: scope.scopeId, clientId: chat.clientId }), now);
  await send(deps, connection.connectionId, clientPresenceFrame(watch, presence));
  await kommoUserHeartbeat(deps, kommoUserIn(connection, watch), labelsOf(watch));
  // The socket may have closed while the user went online: its `$disconnect` found the watch but maybe
  // not yet the window. Whoever sees the connection gone last ends the window, so no online outlives it.
  if (!(await deps.live.connection(connection.connectionId, deps.clock.now()))) {
    await deps.live.unwatch(connection, kommoConversationId);
    if (!(await deps.live.watchedElsewhere(connection, kommoConversationId, deps.clock.now())))
      await kommoUserLeft(deps, kommoUserIn(connection, watch));
  }
}

/** Ends a watch (unwatch, or the connection closing); the Kommo user leaves the chat unless another of their connections watches it. */
async function endWatch(deps: LiveChannelDeps, connection: LiveConnection, kommoConversationId: string): Promise<void> {
  const watch = await deps.live.unwatch(connection, kommoConversationId);
  if (!watch || watch.conversationId === undefined) return;
  if (await deps.live.watchedElsewhere(connection, kommoConversationId, deps.clock.now())) return;
  await kommoUserLeft(deps, kommoUserIn(connection, watch));
}

/** The Kommo user a connection speaks for, in the interface (user-presence.ts). */
const userOf = (connection: LiveConnection) => ({
  scopeId: connection.scopeId,
  accountId: connection.accountId,
  kommoUserId: connection.kommoUserId,
});

function kommoUserIn(connection: LiveConnection, watch: LiveWatch): KommoUserPresenceKey {
  // watchChat records a watch only for a chat the chat service registered (registeredConversationId).
  if (watch.conversationId === undefined)
    throw new Error(
      `The watch of ${watch.kommoConversationId} has no conversation id: only registered chats are watched`,
    );
  return {
    scopeId: connection.scopeId,
    accountId: connection.accountId,
    conversationId: watch.conversationId,
    userId: String(connection.kommoUserId),
  };
}

const labelsOf = (watch: LiveWatch) => ({
  kommoConversationId: watch.kommoConversationId,
  ...(watch.userAmojoId === undefined ? {} : { userAmojoId: watch.userAmojoId }),
});

/** A frame to a connection that has since gone is nobody's loss: its `$disconnect` cleans up. */
async function send(deps: Pick<BridgeDeps, 'liveConnections'>, connectionId: string, frame: LiveFrame): Promise<void> {
  await deps.liveConnections.send(connectionId, frame);
}
