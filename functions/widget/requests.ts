import * as z from '../core/zod';
import { parseJsonBody, rawBody, type ApiEvent } from '../core/http/api';
import { identifier } from '../core/http/fields';

export const kommoConversationId = identifier('kommo_conversation_id');
const state = z.enum(['online', 'offline'], { error: 'state must be "online" or "offline"' });
/** `APP.constant('user').amojo_id`: the Kommo user's amojo id, which events carry as `user_id`. */
const userAmojoId = z.optional(identifier('user_amojo_id'));

export const widgetChatPresenceRequestSchema = z.strictObject({ state, user_amojo_id: userAmojoId });
export const widgetReadRequestSchema = z.strictObject({ user_amojo_id: userAmojoId });

const fingerprint = z.string().check(z.regex(/^[0-9a-f]{16}$/, 'must be a token fingerprint (16 hex digits)'));
const shortText = (max: number) => z.string().check(z.maxLength(max));
/**
 * The settings page's self-test (docs/kommo.md, "A field check on a first real install"): what the
 * real Kommo page did, for what no document settles. Bounded in every field: it goes into a log line.
 */
export const widgetFieldCheckSchema = z.strictObject({
  widget_version: shortText(32),
  previous_token_fingerprint: z.optional(fingerprint),
  is_card: z.nullable(z.boolean()),
  entity: z.nullable(shortText(32)),
  address: shortText(256),
  talk_event_types: z.array(z.number().check(z.int())).check(z.maxLength(20)),
  crm_forms: z
    .array(z.strictObject({ form: shortText(200), status: z.number().check(z.int(), z.gte(0), z.lte(599)) }))
    .check(z.maxLength(10)),
});

/** A read's body is optional (`$authorizedAjax` may post nothing); when there is one, it is strict JSON. */
export function readRequest(event: ApiEvent): z.output<typeof widgetReadRequestSchema> {
  const body = rawBody(event);
  return body.length === 0 ? {} : parseJsonBody(body, widgetReadRequestSchema);
}
