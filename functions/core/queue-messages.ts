import * as z from './zod';

/** The bodies carried by each queue (functions/manifest.ts). Consumers validate them: a queue is an input too. */

const id = z.string().check(z.minLength(1), z.maxLength(256));
const attempt = z.number().check(z.int(), z.gte(1));

/** A Kommo hook accepted by the intake: the raw bytes (base64) so that forwarding is byte-exact. */
export const kommoHookJobSchema = z.object({
  scopeId: id,
  accountId: id,
  receivedAtMs: z.number(),
  signature: z.string().check(z.minLength(1)),
  rawBody: z.base64(),
  attempt,
});
export type KommoHookJob = z.infer<typeof kommoHookJobSchema>;

export const outboundEventSchema = z.object({
  type: z.enum(['typing.started', 'typing.stopped', 'presence.changed', 'conversation.read', 'user.presence.changed']),
  id: id,
  timestamp: z.string(),
  data: z.looseObject({ scope_id: z.string(), account_id: z.string() }),
});

export const eventJobSchema = z.object({ event: outboundEventSchema, attempt });
export type EventJob = z.infer<typeof eventJobSchema>;

/** "Bring Kommo up to date with this message's status record" (the record holds what to send). */
export const statusSyncJobSchema = z.object({ scopeId: id, msgid: id, attempt });
export type StatusSyncJob = z.infer<typeof statusSyncJobSchema>;

export const clientTypingRefreshSchema = z.object({
  kind: z.literal('client-typing-refresh'),
  scopeId: id,
  conversationId: id,
  senderId: id,
});

export const kommoUserTypingExpirySchema = z.object({
  // The kind predates the name "Kommo user"; queued timers carry it, so it stays.
  kind: z.literal('manager-typing-expiry'),
  scopeId: id,
  kommoConversationId: id,
  userId: id,
  /** The deadline this timer was set for; a renewal moves the item's deadline and sets its own timer. */
  expiresAtMs: z.number(),
});

export const presenceExpirySchema = z.object({
  kind: z.literal('presence-expiry'),
  scopeId: id,
  clientId: id,
  deadlineMs: z.number(),
  /** Which timer chain this is: only the window's current chain re-arms, so duplicates die out. */
  timerId: z.optional(id),
});

/** The end of a Kommo user's online window in a conversation (widget presence). */
export const kommoUserPresenceExpirySchema = z.object({
  kind: z.literal('kommo-user-presence-expiry'),
  scopeId: id,
  accountId: id,
  conversationId: id,
  userId: id,
  /** The window this timer belongs to; a later window sets its own timer, so this one then does nothing. */
  windowId: id,
  deadlineMs: z.number(),
  /** Which timer chain this is: only the one the window names queues the next, so copies die out. */
  timerId: z.optional(id),
});

/** A check of a Kommo user's presence in the interface (`user.presence.changed`): offline yet? */
export const userPresenceCheckSchema = z.object({
  kind: z.literal('user-presence-check'),
  scopeId: id,
  accountId: id,
  kommoUserId: z.number().check(z.int(), z.gte(1)),
  /** The online period this check belongs to; a later period has its own checks. */
  periodId: id,
  /** The time this check was set for: only the check the item names acts, so copies die out. */
  dueAtMs: z.number(),
});

/** The next poll of a message's delivery status at `CHAT_SERVICE_STATUS_URL`. */
export const statusPollSchema = z.object({
  kind: z.literal('status-poll'),
  scopeId: id,
  msgid: id,
  /** Which timer chain this is: only the one the message's poll item names polls and queues the next. */
  timerId: id,
  /** When the poll is due; a wait longer than SQS allows is covered in steps, each queueing the next. */
  dueAtMs: z.number(),
});

export const timerJobSchema = z.discriminatedUnion('kind', [
  clientTypingRefreshSchema,
  kommoUserTypingExpirySchema,
  presenceExpirySchema,
  kommoUserPresenceExpirySchema,
  userPresenceCheckSchema,
  statusPollSchema,
]);
export type TimerJob = z.infer<typeof timerJobSchema>;
