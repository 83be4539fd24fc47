import type { QueueName } from '../manifest';
import type { BridgeConfig } from './config';
import type { Clock } from './ports/clock';
import type { ChatServiceClient, ChatServiceStatusSource, HookForwarder, KommoChatApi } from './ports/outbound';
import type { WorkQueue } from './ports/queue';
import type { AccountBindingStore } from './ports/account-binding-store';
import type { ConversationDirectory } from './ports/conversation-directory';
import type { InstallLimitStore } from './ports/install-limit-store';
import type { KommoAccountApi } from './ports/kommo-account-api';
import type { LiveChannelStore, LiveConnections } from './ports/live-channel';
import type { KommoUserPresenceStore } from './ports/kommo-user-presence-store';
import type { PresenceStore } from './ports/presence-store';
import type { ReplayStore } from './ports/replay-store';
import type { StatusStore } from './ports/status-store';
import type { StatusPollStore } from './ports/status-poll-store';
import type { ClientTypingStore, KommoUserTypingStore } from './ports/typing-store';
import type { UserPresenceStore } from './ports/user-presence-store';
import type { Log, Metrics } from './ports/telemetry';
import type { EventJob, KommoHookJob, StatusSyncJob, TimerJob } from './queue-messages';

/** The manifest's queue behind each key a use case knows a queue by. */
export const bridgeQueueNames = {
  hooks: 'hooks',
  events: 'events',
  kommoStatus: 'kommo-status',
  timers: 'timers',
} as const satisfies Record<keyof BridgeQueues, QueueName>;

/** The queues a use case sends to, named one by one: `QueuesOf<'timers' | 'events'>`. */
export type QueuesOf<Name extends keyof BridgeQueues> = { queues: Pick<BridgeQueues, Name> };

/** The dependencies a use case takes (its first parameter): handlers' dependency types are unions of these. */
// `never` parameters: every function is assignable to this, whatever it takes (parameters are contravariant).
export type DepsOf<UseCase extends (deps: never, ...rest: never[]) => unknown> = Parameters<UseCase>[0];

/** What every Lambda entry builds before a function's own parts: settings, time, telemetry and ids. */
export type BaseDeps = Pick<BridgeDeps, 'config' | 'clock' | 'log' | 'metrics' | 'random' | 'newId'>;

export interface BridgeQueues {
  hooks: WorkQueue<KommoHookJob>;
  events: WorkQueue<EventJob>;
  kommoStatus: WorkQueue<StatusSyncJob>;
  timers: WorkQueue<TimerJob>;
}

/**
 * Everything a use case may touch, as ports. Lambda entries build it from the environment
 * (`wiring.ts`); the local runtime and tests build it with in-process queues and a controllable clock.
 */
export interface BridgeDeps {
  config: BridgeConfig;
  clock: Clock;
  /** Uniform in [0, 1); jitter for retries. */
  random: () => number;
  /** A new unique id (event ids). */
  newId: () => string;
  log: Log;
  metrics: Metrics;
  replays: ReplayStore;
  clientTyping: ClientTypingStore;
  kommoUserTyping: KommoUserTypingStore;
  presence: PresenceStore;
  statuses: StatusStore;
  /** Messages whose delivery status is polled from the chat service, each naming its one poll timer. */
  statusPolls: StatusPollStore;
  /** Kommo accounts connected by `/admin/connect`, for widget requests. */
  accountBindings: AccountBindingStore;
  /** Install code exchanges counted per account host and per caller, so their number is bounded. */
  installLimits: InstallLimitStore;
  /** Kommo users' presence in conversations, reported by the widget. */
  kommoUserPresence: KommoUserPresenceStore;
  /** Kommo users' presence in the interface: their visible live connections (`user.presence.changed`). */
  userPresence: UserPresenceStore;
  /** Which Kommo chat is which chat-service conversation and client, per scope (learned from hooks and registrations). */
  conversations: ConversationDirectory;
  /** Live-channel tickets, connections and the chats they watch. */
  live: LiveChannelStore;
  /** The live channel's connections: where clients connect, and pushes to them. */
  liveConnections: LiveConnections;
  queues: BridgeQueues;
  kommoChatApi: KommoChatApi;
  /** Kommo accounts' own API (OAuth code exchange, account details), for installs. */
  kommoAccounts: KommoAccountApi;
  chatService: ChatServiceClient;
  hookForwarder: HookForwarder;
  /** Delivery statuses asked of the chat service (`CHAT_SERVICE_STATUS_URL`); disabled when unset. */
  chatServiceStatuses: ChatServiceStatusSource;
}
