import { identifier } from './identifiers';

const DAY_MS = 24 * 60 * 60 * 1000;

/** One Kommo chat as the directory knows it (ports/conversation-directory.ts stores them). */
export interface ConversationEntry {
  scopeId: string;
  /** Kommo's (amojo) chat id: `conversation.id` in hooks. */
  kommoConversationId: string;
  /** The chat service's conversation id: `conversation.client_id` in hooks; absent for chats Kommo started ("write first") until the chat service registers it. */
  conversationId?: string;
  /** The chat service's id of the client in that conversation, when known. */
  clientId?: string;
}

/**
 * How long the directory keeps a Kommo chat after it last saw it (a hook, or the chat service's
 * registration). Long enough that any chat in use stays known (every hook and every registration
 * renews it); bounded, so the ids of chats nobody uses any more, and of accounts disconnected long
 * ago, do not stay forever.
 */
export const CONVERSATION_RETENTION_MS = 90 * DAY_MS;

/**
 * An entry is renewed at most this often. A Kommo user typing sends a hook every few seconds; each
 * renewal is a write, and one a day is all a 90-day retention needs.
 */
export const CONVERSATION_RENEWAL_MS = DAY_MS;

/** The ids the directory stores are the chat service's ids: the same rules as in its requests. */
const directoryId = identifier('id');

function usableId(value: unknown): string | undefined {
  return directoryId.safeParse(value).success ? (value as string) : undefined;
}

function record(value: unknown): Record<string, unknown> | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

/**
 * What a Kommo hook teaches about its chat (docs/kommo.md, "Webhooks Kommo sends us"): the
 * Kommo-user typing hook and the outgoing-message hook both carry `conversation.id` (Kommo's chat id)
 * and, unless a Kommo user started the chat ("write first"), `conversation.client_id` (the chat
 * service's conversation id); the message hook's `receiver.client_id` is the chat service's id of
 * the client it goes to. An id that breaks the chat service's id rules is left out, not stored.
 * Undefined for hooks about no chat (reactions, anything else).
 */
export function conversationTaughtBy(scopeId: string, hook: unknown): ConversationEntry | undefined {
  const body = record(hook);
  const typing = record(record(body?.action)?.typing);
  const message = typing ? undefined : record(body?.message);
  const conversation = record((typing ?? message)?.conversation);
  const kommoConversationId = usableId(conversation?.id);
  if (kommoConversationId === undefined) return undefined;
  const conversationId = usableId(conversation?.client_id);
  const clientId = usableId(record(message?.receiver)?.client_id);
  return {
    scopeId,
    kommoConversationId,
    ...(conversationId === undefined ? {} : { conversationId }),
    ...(clientId === undefined ? {} : { clientId }),
  };
}

/** The field of `known` that `taught` contradicts, if any: a known id is never replaced by another. */
export function contradictedField(
  known: ConversationEntry,
  taught: ConversationEntry,
): 'conversationId' | 'clientId' | undefined {
  if (
    taught.conversationId !== undefined &&
    known.conversationId !== undefined &&
    known.conversationId !== taught.conversationId
  )
    return 'conversationId';
  if (taught.clientId !== undefined && known.clientId !== undefined && known.clientId !== taught.clientId)
    return 'clientId';
  return undefined;
}
