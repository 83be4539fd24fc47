import * as z from '../zod';

/**
 * The events the bridge sends to the chat service, as schemas (docs/contract.md, "Bridge → chat
 * service"). The bridge builds its events with plain functions (outbound-event.ts and the use cases);
 * these schemas describe what those functions produce, for the OpenAPI document's `webhooks`
 * (docs/openapi.json) and for the chat-service client's `verifyEvent`. A unit test holds the builders
 * to them, so the description cannot drift from what is sent.
 *
 * Not strict: a field added later is an additive change a receiver must tolerate.
 */

const timestamp = z.iso.datetime({ offset: true });
const id = z.string().check(z.minLength(1));

const scope = {
  scope_id: id,
  account_id: id,
};

/** Typing of a Kommo user: `conversation_id` is null for chats Kommo users started ("write first"). */
export const typingEventDataSchema = z.looseObject({
  ...scope,
  conversation_id: z.nullable(id),
  kommo_conversation_id: id,
  user_id: id,
  expires_at: timestamp,
});

/** A Kommo user in one conversation (the widget); `user_id` is the amojo id when the widget sent it. */
export const presenceChangedDataSchema = z.looseObject({
  ...scope,
  conversation_id: id,
  kommo_conversation_id: z.nullable(id),
  user_id: z.nullable(id),
  kommo_user_id: z.number().check(z.int()),
  state: z.enum(['online', 'offline']),
  at: timestamp,
});

/** A Kommo user opened the conversation: every client message in it up to `read_at` is read. */
export const conversationReadDataSchema = z.looseObject({
  ...scope,
  conversation_id: id,
  kommo_conversation_id: z.nullable(id),
  user_id: z.nullable(id),
  kommo_user_id: z.number().check(z.int()),
  read_at: timestamp,
});

/**
 * A Kommo user has Kommo open in a visible tab (any page), or no longer has (contract v3, "Kommo users
 * online in the interface"). `at` is unix seconds here, unlike the ISO times of the other events.
 */
export const userPresenceChangedDataSchema = z.looseObject({
  ...scope,
  user_id: z.nullable(id),
  kommo_user_id: z.number().check(z.int()),
  state: z.enum(['online', 'offline']),
  at: z.number().check(z.int(), z.gte(0)),
});

function envelope<T extends string, D extends z.ZodMiniType>(type: T, data: D) {
  return z.looseObject({
    type: z.literal(type),
    /** `evt_…`; also the Standard Webhooks `webhook-id`: receivers de-duplicate on it. */
    id: id.check(z.startsWith('evt_')),
    timestamp,
    data,
  });
}

export const typingStartedEventSchema = envelope('typing.started', typingEventDataSchema);
export const typingStoppedEventSchema = envelope('typing.stopped', typingEventDataSchema);
export const presenceChangedEventSchema = envelope('presence.changed', presenceChangedDataSchema);
export const conversationReadEventSchema = envelope('conversation.read', conversationReadDataSchema);
export const userPresenceChangedEventSchema = envelope('user.presence.changed', userPresenceChangedDataSchema);

/** Every event, by type: the OpenAPI document lists them as `webhooks` in this order. */
export const outboundEventSchemas = {
  'typing.started': typingStartedEventSchema,
  'typing.stopped': typingStoppedEventSchema,
  'presence.changed': presenceChangedEventSchema,
  'conversation.read': conversationReadEventSchema,
  'user.presence.changed': userPresenceChangedEventSchema,
} as const;

export const outboundEventUnionSchema = z.discriminatedUnion('type', [
  typingStartedEventSchema,
  typingStoppedEventSchema,
  presenceChangedEventSchema,
  conversationReadEventSchema,
  userPresenceChangedEventSchema,
]);

export type OutboundEventUnion = z.output<typeof outboundEventUnionSchema>;
