import { z } from 'zod';
import {
  DELIVERY_ERROR_CODES,
  DELIVERY_STATUSES,
  ERROR_CODE_WITH_TEXT,
  ERROR_TEXT_MAX_CHARS,
  type DeliveryErrorCode,
  type StatusUpdate,
} from '../core/domain/delivery-status';
import { parseScope } from '../core/domain/scope';
import type { BridgeDeps } from '../core/deps';
import { json, parseJsonBody, pathParameter, rawBody, validate } from '../core/http/api';
import { pathSegmentIdentifier, wellFormed } from '../core/http/fields';
import { httpHandler } from '../core/http/route';
import { readDeliveryStatus, updateDeliveryStatus } from '../core/use-cases/delivery-status';

/** Kommo's message id, from the outgoing-message hook. */
export const msgidSchema = pathSegmentIdentifier('msgid');

const errorCodeRange = `${DELIVERY_ERROR_CODES[0]}-${DELIVERY_ERROR_CODES.at(-1)}`;

const errorCodeRule = `error_code must be one of ${DELIVERY_ERROR_CODES.join(', ')}`;
const errorCode = z
  .number({ error: errorCodeRule })
  .refine((code): code is DeliveryErrorCode => (DELIVERY_ERROR_CODES as number[]).includes(code), { message: errorCodeRule });

/** Kommo shows the text to its user; characters are counted as code points, so an emoji is one. */
const errorText = wellFormed(z.string({ error: 'error must be a string' }), 'error')
  .refine((text) => /\S/.test(text), { message: `error must be 1-${ERROR_TEXT_MAX_CHARS} characters of text, not blank` })
  .refine((text) => [...text].length <= ERROR_TEXT_MAX_CHARS, { message: `error must be 1-${ERROR_TEXT_MAX_CHARS} characters` });

/** CONTRACT.md, `POST /chat/{scope_id}/messages/{msgid}/status`, with Kommo's rules for the error fields. */
export const statusRequestSchema = z
  .strictObject({
    status: z.enum(DELIVERY_STATUSES, { error: 'status must be "delivered", "read" or "error"' }),
    error_code: errorCode.optional(),
    error: errorText.optional(),
  })
  .superRefine((body, ctx) => {
    if (body.status !== 'error') {
      for (const field of ['error_code', 'error'] as const) {
        if (body[field] !== undefined) ctx.addIssue({ code: 'custom', path: [field], message: `${field} is only allowed with status "error"` });
      }
      return;
    }
    if (body.error_code === undefined) {
      ctx.addIssue({ code: 'custom', path: ['error_code'], message: `error_code (${errorCodeRange}) is required with status "error"` });
    } else if (body.error_code === ERROR_CODE_WITH_TEXT && body.error === undefined) {
      ctx.addIssue({ code: 'custom', path: ['error'], message: `error is required with error_code ${ERROR_CODE_WITH_TEXT}: Kommo shows it to the user` });
    }
  })
  .transform((body): StatusUpdate => {
    if (body.status !== 'error') return { status: body.status };
    return { status: 'error', errorCode: body.error_code!, ...(body.error !== undefined ? { error: body.error } : {}) };
  });

/** `POST /chat/{scope_id}/messages/{msgid}/status` (a status report) and `GET` of the same path (the record). */
export const createChatStatusHandler = (deps: BridgeDeps) =>
  httpHandler(deps, 'chat-service', async (event) => {
    const scope = parseScope(pathParameter(event, 'scope_id'), deps.config.KOMMO_CHANNEL_ID);
    const key = { scopeId: scope.scopeId, msgid: validate(pathParameter(event, 'msgid'), msgidSchema) };
    if (event.requestContext.http.method === 'GET') return json(200, await readDeliveryStatus(deps, key));
    const update = parseJsonBody(rawBody(event), statusRequestSchema);
    const { applied, status } = await updateDeliveryStatus(deps, key, update);
    return json(202, { ok: true, applied, status });
  });
