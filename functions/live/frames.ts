import * as z from '../core/zod';
import { BridgeError } from '../core/domain/errors';
import { MAX_BODY_BYTES, parseJsonBody } from '../core/http/api';
import { identifier } from '../core/http/fields';
import type { LiveRequest } from '../core/use-cases/live-channel';

const kommoConversationId = identifier('kommo_conversation_id');

/** The frames a client may send (docs/contract.md, "Live channel for the widget"). */
export const liveFrameSchema = z.discriminatedUnion(
  'action',
  [
    z.strictObject({
      action: z.literal('watch'),
      kommo_conversation_id: kommoConversationId,
      user_amojo_id: z.optional(identifier('user_amojo_id')),
    }),
    z.strictObject({ action: z.literal('unwatch'), kommo_conversation_id: kommoConversationId }),
    z.strictObject({
      action: z.literal('visibility'),
      visible: z.boolean(),
      user_amojo_id: z.optional(identifier('user_amojo_id')),
    }),
    z.strictObject({ action: z.literal('ping'), pong: z.optional(z.boolean()) }),
  ],
  { error: 'action must be "watch", "unwatch", "visibility" or "ping"' },
);

/** The frame's request, or a `BridgeError` (413, 400) for what is no frame the contract names. */
export function requestIn(event: { body?: string; isBase64Encoded: boolean }): LiveRequest {
  const body = Buffer.from(event.body ?? '', event.isBase64Encoded ? 'base64' : 'utf8');
  if (body.length > MAX_BODY_BYTES)
    throw new BridgeError('too_large', 'frame_too_large', `A frame is at most ${MAX_BODY_BYTES} bytes`);
  const frame = parseJsonBody(body, liveFrameSchema);
  switch (frame.action) {
    case 'watch':
      return {
        action: 'watch',
        kommoConversationId: frame.kommo_conversation_id,
        ...(frame.user_amojo_id === undefined ? {} : { userAmojoId: frame.user_amojo_id }),
      };
    case 'unwatch':
      return { action: 'unwatch', kommoConversationId: frame.kommo_conversation_id };
    case 'visibility':
      return {
        action: 'visibility',
        visible: frame.visible,
        ...(frame.user_amojo_id === undefined ? {} : { userAmojoId: frame.user_amojo_id }),
      };
    case 'ping':
      return { action: 'ping', pong: frame.pong !== false };
  }
}
