import * as z from '../zod';

/**
 * The rules every id and free-text field follows, wherever it comes from: a request (http/fields.ts
 * names them per field, docs/contract.md "General rules"), a Kommo hook, or a stored item.
 */

/**
 * True when `text` holds an unpaired UTF-16 surrogate. JSON's `\uXXXX` escapes can carry one, but it is
 * not a character: DynamoDB and every UTF-8 encoder store it as U+FFFD, so `"\ud800"` and `"\udc00"`
 * would become the same id. (With the `u` flag a well-formed pair is one code point, never `Cs`.)
 */
export function hasUnpairedSurrogate(text: string): boolean {
  return /\p{Cs}/u.test(text);
}

/** Refuses a string field holding an unpaired surrogate; add it to every free-text field. */
export function wellFormed<S extends z.ZodMiniString<string>>(schema: S, field: string): S {
  return schema.check(
    z.refine((text: string) => !hasUnpairedSurrogate(text), {
      message: `${field} must be valid Unicode text: it holds an unpaired UTF-16 surrogate (\\ud800-\\udfff)`,
    }),
  );
}

/**
 * The chat service's own ids and Kommo's msgid: strings of 1-128 characters. They name resources in
 * paths (`/chat/…/presence/{client_id}`, Kommo's `…/{msgid}/delivery_status`), where `.` and `..` are
 * "this" and "the parent" segment that URL normalisation removes: they could never be addressed.
 */
export function identifier(field: string) {
  const rule = `${field} must be 1-128 characters`;
  const text = z
    .string({ error: `${field} is required and must be a string` })
    .check(z.minLength(1, { message: rule }), z.maxLength(128, { message: rule }));
  return wellFormed(text, field).check(
    z.refine((id) => id !== '.' && id !== '..', {
      message: `${field} must not be "." or "..": in a URL path they mean the current and the parent segment`,
    }),
  );
}

/**
 * An id that goes into one segment of Kommo's path (msgid in `…/{msgid}/delivery_status`): besides the
 * identifier rules, no `/`. Servers commonly decode `%2F` before routing, so even percent-encoded it
 * could reach another Kommo path; the Kommo client refuses to send it.
 */
export function pathSegmentIdentifier(field: string) {
  return identifier(field).check(
    z.refine((id) => !id.includes('/'), {
      message: `${field} must not contain "/": it is one segment of Kommo's path`,
    }),
  );
}
