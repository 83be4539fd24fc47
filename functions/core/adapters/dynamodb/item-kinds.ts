/**
 * What each item of the single table is, by the first part of its partition key (`<KIND>#…`). Every
 * store writes only its own kinds, and each function is granted only the kinds its manifest entry
 * names: in AWS through IAM's `dynamodb:LeadingKeys` condition (infra/constructs/bridge-table.ts), locally by the
 * same check in the local runtime, so a function that touches a kind it was not granted fails in tests.
 */
export const itemKinds = {
  /** A claimed chat-service `webhook-id`, or a Kommo install's authorization code (by its hash), and its first answer. */
  replay: 'WEBHOOK',
  /** A client's typing window in a conversation. */
  clientTyping: 'TYPING',
  /** A Kommo user's typing in a chat, from Kommo's typing hooks. */
  kommoUserTyping: 'MTYPING',
  /** A client's online window and last-seen time. */
  presence: 'PRESENCE',
  /** A message's delivery status and its progress towards Kommo. */
  status: 'STATUS',
  /** A message whose delivery status the bridge polls from the chat service, naming its one poll timer. */
  statusPoll: 'STATUS_POLL',
  /** A Kommo user's presence in a conversation, from the widget. */
  kommoUserPresence: 'KOMMO_USER_PRESENCE',
  /** A Kommo user's presence in the interface: their visible live connections (`user.presence.changed`). */
  userPresence: 'USER_PRESENCE',
  /** The binding of a Kommo (numeric) account to its scope. */
  accountByKommo: 'ACCOUNT',
  /** The same binding, by the account's amojo id. */
  accountByAmojo: 'AMOJO_ACCOUNT',
  /** How many install code exchanges one account host, or one caller, made in a window. */
  installLimit: 'INSTALL_LIMIT',
  /** A Kommo chat of a scope and the chat service's ids for it: the conversation directory. */
  conversation: 'CHAT',
  /** A ticket for one connect to the live channel (WebSocket): single use, valid 60 s. */
  liveTicket: 'LIVE_TICKET',
  /** A live-channel connection and the Kommo user who opened it. */
  liveConnection: 'LIVE_CONNECTION',
  /** An open live-channel connection listed under its account, so that the account's disconnect closes it. */
  liveAccount: 'LIVE_ACCOUNT',
  /** A chat a Kommo user's connection watches, kept per user: what to end when the connection closes. */
  liveWatch: 'LIVE_WATCH',
  /** The same watch kept per client of the chat: who hears that client's presence transitions. */
  liveWatcher: 'LIVE_WATCHER',
} as const;

export type ItemKind = keyof typeof itemKinds;

/** The kind of a partition key, or undefined for a key no store writes. */
export function itemKindOf(partitionKey: string): ItemKind | undefined {
  const prefix = partitionKey.slice(0, partitionKey.indexOf('#'));
  return (Object.keys(itemKinds) as ItemKind[]).find((kind) => itemKinds[kind] === prefix);
}
