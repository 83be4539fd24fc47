import { notFound } from './errors';

/** A Kommo scope: `<channel id>_<account amojo id>` (docs/contract.md, "Identifiers"). */
export interface Scope {
  scopeId: string;
  /** The account's amojo id, the part after the channel id. */
  accountId: string;
}

const ACCOUNT_ID = /^[A-Za-z0-9-]{1,64}$/;

/** Resolves a scope path parameter; a scope of another channel, or a malformed one, is unknown here (404). */
export function parseScope(scopeId: string | undefined, channelId: string): Scope {
  const prefix = `${channelId}_`;
  const accountId = scopeId?.startsWith(prefix) ? scopeId.slice(prefix.length) : undefined;
  if (scopeId === undefined || accountId === undefined || !ACCOUNT_ID.test(accountId)) {
    throw notFound('unknown_scope', "scope_id does not belong to this bridge's Kommo channel");
  }
  return { scopeId, accountId };
}
