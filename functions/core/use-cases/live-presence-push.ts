import { clientPresenceFrame } from '../domain/live-channel';
import { presenceView } from '../domain/presence-window';
import type { BridgeDeps } from '../deps';
import type { PresenceKey } from '../ports/presence-store';

export type LivePresencePushDeps = Pick<
  BridgeDeps,
  'clock' | 'log' | 'metrics' | 'presence' | 'live' | 'liveConnections'
>;

/**
 * A client's presence changed: every live connection watching one of its chats gets the new
 * presence, from the request or timer that made the change, so it arrives within the second. One
 * Query finds the watchers; a client nobody watches costs that Query and nothing else.
 *
 * The frame carries the presence as read after the change, not the change itself: two pushes racing
 * for the same client both say what is true now, so the later one never undoes the earlier.
 *
 * It never fails the change it reports: the change is recorded and its timers set whatever happens
 * here, a failed push is logged and counted, and the widget's next watch reads the presence afresh.
 */
export async function pushClientPresence(deps: LivePresencePushDeps, key: PresenceKey): Promise<void> {
  try {
    const now = deps.clock.now();
    const watchers = await deps.live.watchersOf(key.scopeId, key.clientId, now);
    if (watchers.length === 0) return;
    const view = presenceView(key.clientId, await deps.presence.read(key), now);
    await Promise.all(
      watchers.map(async (watcher) => {
        const frame = clientPresenceFrame({ ...watcher, clientId: key.clientId }, view);
        try {
          if ((await deps.liveConnections.send(watcher.connectionId, frame)) === 'sent') {
            deps.metrics.count('LiveFramePushed');
            return;
          }
          // API Gateway said 410: the connection closed without its $disconnect having removed this watcher (yet).
          await deps.live.forgetWatcher(key.scopeId, key.clientId, watcher);
          deps.metrics.count('LiveConnectionGone');
        } catch (error) {
          deps.metrics.count('LivePushFailed');
          deps.log.warn('a client presence frame could not be pushed to a live connection', {
            scopeId: key.scopeId,
            error: error instanceof Error ? error.message : String(error),
          });
        }
      }),
    );
  } catch (error) {
    deps.metrics.count('LivePushFailed');
    deps.log.warn('the live connections watching a client could not be read; its presence change was not pushed', {
      scopeId: key.scopeId,
      error: error instanceof Error ? error.message : String(error),
    });
  }
}
