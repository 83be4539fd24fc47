import * as z from '../zod';

/**
 * Hooks Kommo sends to `POST /kommo/{scope_id}` (docs/kommo.md, "Webhooks Kommo sends us").
 * Only the fields the bridge relies on are required; everything else passes through untouched, since
 * unconsumed hooks are forwarded byte for byte.
 */

const kommoId = z.string().check(z.minLength(1), z.maxLength(128));

export const typingHookSchema = z.looseObject({
  account_id: kommoId,
  time: z.optional(z.number().check(z.int())),
  action: z.looseObject({
    typing: z.looseObject({
      user: z.looseObject({ id: kommoId }),
      conversation: z.looseObject({
        id: kommoId,
        /** Absent for chats a Kommo user started with "write first". */
        client_id: z.optional(z.string().check(z.minLength(1), z.maxLength(128))),
      }),
      /** Epoch seconds: the start plus 5 s. */
      expired_at: z.number().check(z.int(), z.positive()),
      post_id: z.optional(z.string()),
    }),
  }),
});
export type TypingHook = z.infer<typeof typingHookSchema>;

export const messageHookSchema = z.looseObject({
  account_id: kommoId,
  time: z.optional(z.number().check(z.int())),
  message: z.looseObject({
    receiver: z.optional(z.looseObject({ id: z.string() })),
    sender: z.optional(z.looseObject({ id: z.string() })),
    conversation: z.looseObject({ id: kommoId, client_id: z.optional(z.string()) }),
    timestamp: z.optional(z.number().check(z.int())),
    msec_timestamp: z.optional(z.number().check(z.int())),
    message: z.looseObject({ id: kommoId, type: z.string().check(z.minLength(1)) }),
  }),
});

export const reactionHookSchema = z.looseObject({
  account_id: kommoId,
  time: z.optional(z.number().check(z.int())),
  action: z.looseObject({ reaction: z.looseObject({}) }),
});

/** Every hook names its account; the intake checks it against the scope. */
const envelopeSchema = z.looseObject({ account_id: kommoId });

export type ClassifiedHook =
  | { kind: 'typing'; hook: TypingHook }
  | { kind: 'message' | 'reaction' | 'other'; accountId: string };

/**
 * Sorts a hook into what the bridge consumes (typing) and what it forwards. A hook that claims to be
 * a typing, message or reaction hook must match that schema; a malformed one is refused, not forwarded.
 */
export function classifyHook(body: unknown): z.util.SafeParseResult<ClassifiedHook> {
  const envelope = envelopeSchema.safeParse(body);
  if (!envelope.success) return envelope as z.util.SafeParseResult<never>;
  const value = envelope.data as Record<string, unknown> & { action?: Record<string, unknown> };
  if (value.action && typeof value.action === 'object' && 'typing' in value.action) {
    const typing = typingHookSchema.safeParse(body);
    return typing.success
      ? { success: true, data: { kind: 'typing', hook: typing.data } }
      : (typing as z.util.SafeParseResult<never>);
  }
  if ('message' in value) {
    const message = messageHookSchema.safeParse(body);
    return message.success
      ? { success: true, data: { kind: 'message', accountId: message.data.account_id } }
      : (message as z.util.SafeParseResult<never>);
  }
  if (value.action && typeof value.action === 'object' && 'reaction' in value.action) {
    const reaction = reactionHookSchema.safeParse(body);
    return reaction.success
      ? { success: true, data: { kind: 'reaction', accountId: reaction.data.account_id } }
      : (reaction as z.util.SafeParseResult<never>);
  }
  return { success: true, data: { kind: 'other', accountId: envelope.data.account_id } };
}

export function hookAccountId(hook: ClassifiedHook): string {
  return hook.kind === 'typing' ? hook.hook.account_id : hook.accountId;
}
