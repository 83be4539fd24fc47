import { conversationRegistrationSchema } from '../../functions/chat-conversations/handler';
import { presenceRequestSchema } from '../../functions/chat-presence/handler';
import { msgidSchema, statusRequestSchema } from '../../functions/chat-status/handler';
import { typingRequestSchema } from '../../functions/chat-typing/handler';
import { DELIVERY_ERROR_CODES, ERROR_TEXT_MAX_CHARS } from '../../functions/core/domain/delivery-status';
import { outboundEventSchemas } from '../../functions/core/domain/outbound-event-schemas';
import { liveServerFrameSchemas } from '../../functions/core/domain/live-frame-schemas';
import { identifier } from '../../functions/core/http/fields';
import * as z from '../../functions/core/zod';
import { liveFrameSchema } from '../../functions/live/frames';
import {
  widgetChatPresenceRequestSchema,
  widgetFieldCheckSchema,
  widgetReadRequestSchema,
} from '../../functions/widget/requests';

/**
 * The bridge's OpenAPI 3.1 document (docs/openapi.json), built from the zod schemas the handlers
 * validate with, so the document cannot say one thing while the code checks another. Request bodies
 * use zod's input view (a field with a default is optional); answers and events its output view.
 * `npm run openapi` writes it; test/unit/openapi.test.ts fails when the committed file is not current.
 *
 * What zod cannot express as JSON Schema (refinements: the 901-905 error codes, "not `.` or `..`",
 * well-formed Unicode) is added here by hand or said in a description.
 */

type JsonSchema = Record<string, unknown>;

function jsonSchema(schema: z.ZodMiniType, io: 'input' | 'output'): JsonSchema {
  const { $schema: _, ...rest } = z.toJSONSchema(schema, { io, target: 'draft-2020-12', unrepresentable: 'any' });
  return tidy(rest) as JsonSchema;
}

/**
 * Readable output: `format: date-time` says what zod's 400-character pattern says, `safeint` bounds
 * are JSON's own, and zod's internal format names (`starts_with`, `regex`) are no OpenAPI formats.
 */
function tidy(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(tidy);
  if (!node || typeof node !== 'object') return node;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node)) out[key] = tidy(value);
  if (out.format === 'date-time') delete out.pattern;
  if (out.format === 'starts_with' || out.format === 'regex') delete out.format;
  if (out.minimum === Number.MIN_SAFE_INTEGER) delete out.minimum;
  if (out.maximum === Number.MAX_SAFE_INTEGER) delete out.maximum;
  return out;
}

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });

// Answers: the handlers build them from domain types (PresenceView, StatusView …); these say the same.
const isoTime = z.iso.datetime();
const presenceAnswer = z.object({
  client_id: z.string(),
  online: z.boolean(),
  last_seen_at: z.nullable(isoTime),
  expires_at: z.nullable(isoTime),
});
const clientPresence = z.object({
  online: z.boolean(),
  last_seen_at: z.nullable(isoTime),
  expires_at: z.nullable(isoTime),
});
const statusAnswer = z.object({
  msgid: z.string(),
  status: z.enum(['delivered', 'read', 'error']),
  error_code: z.optional(z.number()),
  error: z.optional(z.string()),
  updated_at: isoTime,
  kommo: z.object({ delivered: z.boolean(), attempts: z.number(), last_error: z.optional(z.string()) }),
});
const schemas: Record<string, JsonSchema> = {
  TypingRequest: jsonSchema(typingRequestSchema, 'input'),
  PresenceRequest: jsonSchema(presenceRequestSchema, 'input'),
  StatusRequest: withErrorCodes(jsonSchema(statusRequestSchema, 'input')),
  ConversationRegistration: jsonSchema(conversationRegistrationSchema, 'input'),
  WidgetChatPresenceRequest: jsonSchema(widgetChatPresenceRequestSchema, 'input'),
  WidgetReadRequest: jsonSchema(widgetReadRequestSchema, 'input'),
  WidgetFieldCheck: jsonSchema(widgetFieldCheckSchema, 'input'),
  WidgetFieldCheckAccepted: jsonSchema(
    z.object({ ok: z.literal(true), token_fingerprint: z.string().check(z.length(16)) }),
    'output',
  ),
  Ok: jsonSchema(z.object({ ok: z.literal(true) }), 'output'),
  StatusAccepted: jsonSchema(
    z.object({ ok: z.literal(true), applied: z.boolean(), status: z.enum(['delivered', 'read', 'error']) }),
    'output',
  ),
  Presence: jsonSchema(presenceAnswer, 'output'),
  Status: withErrorCodes(jsonSchema(statusAnswer, 'output')),
  WidgetChat: jsonSchema(
    z.object({
      kommo_conversation_id: z.string(),
      conversation_id: z.nullable(z.string()),
      client_id: z.nullable(z.string()),
      client_presence: z.nullable(clientPresence),
    }),
    'output',
  ),
  WidgetChatPresenceAccepted: jsonSchema(
    z.object({ ok: z.literal(true), client_presence: z.nullable(clientPresence) }),
    'output',
  ),
  LiveTicket: jsonSchema(z.object({ url: z.string(), expires_at: isoTime, ping_seconds: z.int() }), 'output'),
  StatusPullAnswer: withErrorCodes(
    jsonSchema(z.union([z.strictObject({ status: z.literal('sent') }), statusRequestSchema]), 'input'),
  ),
  Error: jsonSchema(z.object({ error: z.object({ code: z.string(), message: z.string() }) }), 'output'),
  ...Object.fromEntries(
    Object.entries(outboundEventSchemas).map(([type, schema]) => [eventSchemaName(type), jsonSchema(schema, 'output')]),
  ),
  LiveClientFrame: jsonSchema(liveFrameSchema, 'input'),
  ...Object.fromEntries(
    Object.entries(liveServerFrameSchemas).map(([name, schema]) => [name, jsonSchema(schema, 'output')]),
  ),
};

/** `typing.started` → `TypingStartedEvent`. */
export function eventSchemaName(type: string): string {
  return `${type
    .split('.')
    .map((word) => word.charAt(0).toUpperCase() + word.slice(1))
    .join('')}Event`;
}

/** Kommo's error codes are a refinement (zod's JSON Schema cannot see it): spelled out wherever `error_code` appears. */
function withErrorCodes(schema: JsonSchema): JsonSchema {
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) node.forEach(visit);
    else if (node && typeof node === 'object') {
      const properties = (node as { properties?: Record<string, JsonSchema> }).properties;
      if (properties?.error_code) properties.error_code = { type: 'integer', enum: [...DELIVERY_ERROR_CODES] };
      if (properties?.error && properties.error.type === 'string')
        properties.error = { ...properties.error, minLength: 1, maxLength: ERROR_TEXT_MAX_CHARS };
      Object.values(node).forEach(visit);
    }
  };
  visit(schema);
  return schema;
}

const errorAnswer = (description: string) => ({
  description,
  content: { 'application/json': { schema: ref('Error') } },
});
const jsonAnswer = (description: string, schema: string) => ({
  description,
  content: { 'application/json': { schema: ref(schema) } },
});
const jsonBody = (schema: string, required = true) => ({
  required,
  content: { 'application/json': { schema: ref(schema) } },
});

const chatErrors = {
  '400': errorAnswer('`invalid_json`, `invalid_field` (the message names the field and its rule), `invalid_path`'),
  '401': errorAnswer(
    '`missing_signature`, `invalid_signature`, `stale_timestamp` (more than 5 min away): Standard Webhooks checks',
  ),
  '404': errorAnswer('`unknown_scope`: the path names no scope of this bridge'),
  '409': errorAnswer(
    '`webhook_id_used` (a claimed webhook-id reused for another request), `request_in_progress` (the same request still running: retry)',
  ),
  '413': errorAnswer('`body_too_large`: bodies are at most 64 KiB'),
  '500': errorAnswer('`internal_error`: send the same request again (same webhook-id)'),
  '503': errorAnswer('`queue_unavailable`: nothing was lost; send the same request again (same webhook-id)'),
};

const widgetErrors = {
  '400': errorAnswer('`invalid_json`, `invalid_field`'),
  '401': errorAnswer(
    '`missing_token`, `invalid_token`, `token_expired`, `token_not_yet_valid`, `invalid_token_audience`, `invalid_token_claims`, `invalid_token_issuer`',
  ),
  '403': errorAnswer('`account_not_connected` (the Kommo account is bound to no scope), `origin_not_allowed`'),
  '413': errorAnswer('`body_too_large`'),
  '500': errorAnswer('`internal_error`'),
};

const scopeParameter = {
  name: 'scope_id',
  in: 'path',
  required: true,
  description: '`<channel id>_<amojo account id>`: the Kommo account connected through this bridge',
  schema: { type: 'string' },
};
const pathParameter = (name: string, schema: z.ZodMiniType, description: string) => ({
  name,
  in: 'path',
  required: true,
  description,
  schema: jsonSchema(schema, 'input'),
});

const chatSecurity = [{ standardWebhooks: [] }];
const widgetSecurity = [{ kommoToken: [] }];
const chat = (operation: Record<string, unknown>) => ({
  tags: ['chat service'],
  security: chatSecurity,
  parameters: [scopeParameter, ...((operation.parameters as unknown[]) ?? [])],
  ...Object.fromEntries(Object.entries(operation).filter(([key]) => key !== 'parameters')),
  responses: { ...(operation.responses as object), ...chatErrors },
});
const widget = (operation: Record<string, unknown>) => ({
  tags: ['Kommo widget'],
  security: widgetSecurity,
  ...operation,
  responses: { ...(operation.responses as object), ...widgetErrors },
});

/** A v1 widget route kept only to answer 410 (after the token check) with the v2 route that replaces it. */
const retiredWidget = (operation: Record<string, unknown>) =>
  widget({
    ...operation,
    deprecated: true,
    description: "Retired: it named a chat by the chat service's id, which the token's account could not vouch for.",
    responses: { '410': errorAnswer('`route_retired`: the message names the v2 route to use') },
  });

const msgidParameter = pathParameter('msgid', msgidSchema, "Kommo's message id (from the outgoing-message hook)");
const idParameter = (name: string, description: string) => pathParameter(name, identifier(name), description);

const paths = {
  '/chat/{scope_id}/typing': {
    post: chat({
      operationId: 'typing',
      summary: 'A client types (or stops) in the messenger: Kommo shows "typing…"',
      description:
        'Not claimed: a repeat only extends the typing window. One `start` per keystroke is fine; the bridge refreshes Kommo every 4 s until `stop` or `ttl_seconds`.',
      requestBody: jsonBody('TypingRequest'),
      responses: { '202': jsonAnswer('Accepted', 'Ok') },
    }),
  },
  '/chat/{scope_id}/presence': {
    post: chat({
      operationId: 'presence',
      summary: 'A client is online for `ttl_seconds` (a heartbeat), or offline',
      description:
        'Send `online` when the client opens the chat and every `ttl_seconds / 3`; `offline` when it closes.',
      requestBody: jsonBody('PresenceRequest'),
      responses: { '202': jsonAnswer('Accepted', 'Ok') },
    }),
  },
  '/chat/{scope_id}/presence/{client_id}': {
    get: chat({
      operationId: 'getPresence',
      summary: "A client's presence as the bridge holds it",
      parameters: [idParameter('client_id', "The chat service's client id")],
      responses: { '200': jsonAnswer('The presence', 'Presence') },
    }),
  },
  '/chat/{scope_id}/messages/{msgid}/status': {
    post: chat({
      operationId: 'reportStatus',
      summary: "Delivery status of a Kommo user's message: delivered, read or error",
      description:
        'Claimed: a repeat of the same request (same webhook-id) gets the first answer (`webhook-replayed: true`). Statuses only move forward; a stale one answers `applied: false`.',
      parameters: [msgidParameter],
      requestBody: jsonBody('StatusRequest'),
      responses: { '202': jsonAnswer('Accepted (and queued for Kommo)', 'StatusAccepted') },
    }),
    get: chat({
      operationId: 'getStatus',
      summary: 'The recorded status of a message, and how far Kommo got with it',
      parameters: [msgidParameter],
      responses: {
        '200': jsonAnswer('The record', 'Status'),
        '404': errorAnswer('`unknown_message` (or `unknown_scope`)'),
      },
    }),
  },
  '/chat/{scope_id}/conversations/{conversation_id}': {
    put: chat({
      operationId: 'registerConversation',
      summary: "Names the Kommo chat (and client) of one of the chat service's conversations",
      description: 'Claimed. Idempotent: PUT whenever Kommo answers with a chat id.',
      parameters: [idParameter('conversation_id', "The chat service's conversation id")],
      requestBody: jsonBody('ConversationRegistration'),
      responses: {
        '200': jsonAnswer('Registered (or already so)', 'Ok'),
        '409': errorAnswer(
          '`conversation_mapped_elsewhere`, `client_mismatch`, `webhook_id_used`, `request_in_progress`',
        ),
      },
    }),
  },
  '/widget/presence': {
    post: retiredWidget({
      operationId: 'widgetPresence',
      summary: 'v1, retired: use `POST /widget/chats/{kommo_conversation_id}/presence`',
    }),
  },
  '/widget/clients/{client_id}/presence': {
    get: retiredWidget({
      operationId: 'widgetClientPresence',
      summary: 'v1, retired: use `GET /widget/chats/{kommo_conversation_id}`',
      parameters: [idParameter('client_id', "The chat service's client id")],
    }),
  },
  '/widget/conversations/{conversation_id}/read': {
    post: retiredWidget({
      operationId: 'widgetRead',
      summary: 'v1, retired: use `POST /widget/chats/{kommo_conversation_id}/read`',
      parameters: [idParameter('conversation_id', "The chat service's conversation id")],
    }),
  },
  '/widget/chats/{kommo_conversation_id}': {
    get: widget({
      operationId: 'widgetChat',
      summary: 'v2: a Kommo chat, its chat-service ids and its client presence',
      parameters: [idParameter('kommo_conversation_id', "Kommo's amojo chat id")],
      responses: {
        '200': jsonAnswer('The chat', 'WidgetChat'),
        '404': errorAnswer('`unknown_conversation`: the scope has never seen that chat'),
      },
    }),
  },
  '/widget/chats/{kommo_conversation_id}/presence': {
    post: widget({
      operationId: 'widgetChatPresence',
      summary: 'v2: a Kommo user is in a chat (heartbeat), or left it; answers the client presence',
      parameters: [idParameter('kommo_conversation_id', "Kommo's amojo chat id")],
      requestBody: jsonBody('WidgetChatPresenceRequest'),
      responses: {
        '202': jsonAnswer('Accepted', 'WidgetChatPresenceAccepted'),
        '404': errorAnswer('`unknown_conversation`'),
        '409': errorAnswer('`conversation_not_registered`: a "write first" chat the chat service has not registered'),
      },
    }),
  },
  '/widget/chats/{kommo_conversation_id}/read': {
    post: widget({
      operationId: 'widgetChatRead',
      summary: 'v2: a Kommo user read the chat (emits `conversation.read`)',
      parameters: [idParameter('kommo_conversation_id', "Kommo's amojo chat id")],
      requestBody: jsonBody('WidgetReadRequest', false),
      responses: {
        '202': jsonAnswer('Accepted', 'Ok'),
        '404': errorAnswer('`unknown_conversation`'),
        '409': errorAnswer('`conversation_not_registered`'),
      },
    }),
  },
  '/widget/field-check': {
    post: widget({
      operationId: 'widgetFieldCheck',
      summary: "The widget's settings-page self-test: what the real Kommo page does, logged as one line",
      description:
        'Sent by the widget\'s `settings` callback (docs/kommo.md, "A field check on a first real install"). The answer carries a fingerprint of the token (a hash prefix), so the next check can say whether Kommo reused it.',
      requestBody: jsonBody('WidgetFieldCheck'),
      responses: { '202': jsonAnswer('Logged', 'WidgetFieldCheckAccepted') },
    }),
  },
  '/widget/live': {
    post: widget({
      operationId: 'widgetLive',
      summary: "The live channel's WebSocket URL, with a ticket for one connect within 60 s",
      description:
        'Frames on the channel (JSON text): the widget sends `LiveClientFrame` (watch, unwatch, ping every `ping_seconds` of this answer, visibility: whether its tab is visible, which drives `user.presence.changed`); the bridge sends `LiveClientPresenceFrame` (at once on watch, then on every transition), `LivePongFrame` (unless the ping says `"pong": false`) and `LiveErrorFrame` (a bad frame; the connection stays open). See components.schemas.',
      responses: { '200': jsonAnswer('The URL', 'LiveTicket') },
    }),
  },
};

/** The bridge's calls to the chat service: one POST per event at CHAT_SERVICE_URL, and the status pull. */
function webhooks() {
  const entries: [string, unknown][] = Object.keys(outboundEventSchemas).map((type) => [
    type,
    {
      post: {
        operationId: `event_${type.replaceAll('.', '_')}`,
        summary: `\`${type}\` at CHAT_SERVICE_URL, Standard Webhooks signed (webhook-id = event id)`,
        description:
          'Delivered at least once: de-duplicate on `webhook-id`. Answer 2xx to acknowledge; network errors, 429 and 5xx are retried with backoff; other answers dead-letter the event.',
        security: chatSecurity,
        parameters: standardWebhookHeaders,
        requestBody: jsonBody(eventSchemaName(type)),
        responses: { '2XX': { description: 'Received' } },
      },
    },
  ]);
  entries.push([
    'delivery-status.query',
    {
      get: {
        operationId: 'statusQuery',
        summary: "CHAT_SERVICE_STATUS_URL (`{msgid}` filled in): the bridge asks for a message's delivery status",
        description:
          'Sent after each outgoing-message hook, then with backoff for up to 24 h, until `read` or `error`. Signed with Standard Webhooks over the empty body.',
        security: chatSecurity,
        parameters: standardWebhookHeaders,
        responses: {
          '200': jsonAnswer('The status the chat service knows', 'StatusPullAnswer'),
          '404': { description: 'Not known yet: asked again later' },
        },
      },
    },
  ]);
  return Object.fromEntries(entries);
}

const standardWebhookHeaders = [
  { name: 'webhook-id', in: 'header', required: true, schema: { type: 'string' } },
  { name: 'webhook-timestamp', in: 'header', required: true, schema: { type: 'string', pattern: '^[0-9]{1,12}$' } },
  { name: 'webhook-signature', in: 'header', required: true, schema: { type: 'string' } },
];

export function openApiDocument() {
  return {
    openapi: '3.1.0',
    info: {
      title: 'Kommo Live Bridge',
      version: '3.0.0',
      description:
        "Typing, presence and delivery status between Kommo chats and a messenger. Generated from the handlers' zod schemas by `npm run openapi`; the prose contract is docs/contract.md.",
    },
    servers: [{ url: 'http://127.0.0.1:3000', description: '`npm start` (the local runtime)' }],
    tags: [
      {
        name: 'chat service',
        description: 'Called by the chat service, Standard Webhooks signed with CHAT_SERVICE_SECRET',
      },
      {
        name: 'Kommo widget',
        description: "Called by the Kommo widget with Kommo's token (X-Auth-Token); CORS for Kommo pages",
      },
    ],
    paths,
    webhooks: webhooks(),
    components: {
      schemas,
      securitySchemes: {
        standardWebhooks: {
          type: 'apiKey',
          in: 'header',
          name: 'webhook-signature',
          description:
            'Standard Webhooks (standardwebhooks.com): `webhook-signature` = `v1,` + base64 HMAC-SHA256 of `{webhook-id}.{webhook-timestamp}.{raw body}` with the `whsec_` secret; `webhook-id` and `webhook-timestamp` (unix seconds, within 5 min) travel beside it. Both directions use CHAT_SERVICE_SECRET.',
        },
        kommoToken: {
          type: 'apiKey',
          in: 'header',
          name: 'X-Auth-Token',
          description: "Kommo's token from the widget's `$authorizedAjax` (HS256 with the integration's secret key)",
        },
      },
    },
  };
}
