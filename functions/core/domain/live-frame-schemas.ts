import * as z from '../zod';

/**
 * The frames the bridge sends on the widget's live channel (docs/contract.md, "Live channel for the
 * widget"), as schemas for the OpenAPI document; `clientPresenceFrame` (live-channel.ts) builds the
 * first, and a unit test holds it to this schema. The widget's own frames are `liveFrameSchema`
 * (functions/live/handler.ts), which the handler validates with.
 */
const isoTime = z.iso.datetime();

export const liveClientPresenceFrameSchema = z.object({
  type: z.literal('client.presence'),
  kommo_conversation_id: z.string(),
  conversation_id: z.nullable(z.string()),
  client_id: z.nullable(z.string()),
  online: z.boolean(),
  last_seen_at: z.nullable(isoTime),
  expires_at: z.nullable(isoTime),
});

export const livePongFrameSchema = z.object({ type: z.literal('pong') });

export const liveErrorFrameSchema = z.object({
  type: z.literal('error'),
  code: z.enum([
    'unknown_conversation',
    'conversation_not_registered',
    'too_many_watches',
    'invalid_json',
    'invalid_field',
    'frame_too_large',
  ]),
  message: z.string(),
});

/** By name in the OpenAPI document's components. */
export const liveServerFrameSchemas = {
  LiveClientPresenceFrame: liveClientPresenceFrameSchema,
  LivePongFrame: livePongFrameSchema,
  LiveErrorFrame: liveErrorFrameSchema,
} as const;
