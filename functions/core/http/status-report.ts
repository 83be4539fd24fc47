import * as z from '../zod';
import {
  DELIVERY_ERROR_CODES,
  DELIVERY_STATUSES,
  ERROR_CODE_WITH_TEXT,
  ERROR_TEXT_MAX_CHARS,
  type DeliveryErrorCode,
  type StatusUpdate,
} from '../domain/delivery-status';
import type { PolledStatus } from '../domain/status-poll';
import { wellFormed } from './fields';

/**
 * A delivery status as the chat service reports it: the body it POSTs to
 * `/chat/{scope_id}/messages/{msgid}/status`, and (with `sent` besides) its answer when the bridge
 * asks `CHAT_SERVICE_STATUS_URL`. One set of rules for both, so a pulled status is held to exactly
 * what a pushed one is, Kommo's rules for the error fields included.
 */

const errorCodeRange = `${DELIVERY_ERROR_CODES[0]}-${DELIVERY_ERROR_CODES.at(-1)}`;

const errorCodeRule = `error_code must be one of ${DELIVERY_ERROR_CODES.join(', ')}`;
const errorCode = z
  .number({ error: errorCodeRule })
  .check(z.refine((code) => (DELIVERY_ERROR_CODES as number[]).includes(code), { message: errorCodeRule }));

/** Kommo shows the text to its user; characters are counted as code points, so an emoji is one. */
const errorText = wellFormed(z.string({ error: 'error must be a string' }), 'error').check(
  z.refine((text) => /\S/.test(text), {
    message: `error must be 1-${ERROR_TEXT_MAX_CHARS} characters of text, not blank`,
  }),
  z.refine((text) => [...text].length <= ERROR_TEXT_MAX_CHARS, {
    message: `error must be 1-${ERROR_TEXT_MAX_CHARS} characters`,
  }),
);

/** docs/contract.md, `POST /chat/{scope_id}/messages/{msgid}/status`, with Kommo's rules for the error fields. */
const statusBodySchema = z
  .strictObject({
    status: z.enum(DELIVERY_STATUSES, { error: 'status must be "delivered", "read" or "error"' }),
    error_code: z.optional(errorCode),
    error: z.optional(errorText),
  })
  .check(
    z.superRefine((body, ctx) => {
      if (body.status !== 'error') {
        for (const field of ['error_code', 'error'] as const) {
          if (body[field] !== undefined)
            ctx.addIssue({ code: 'custom', path: [field], message: `${field} is only allowed with status "error"` });
        }
        return;
      }
      if (body.error_code === undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['error_code'],
          message: `error_code (${errorCodeRange}) is required with status "error"`,
        });
      } else if (body.error_code === ERROR_CODE_WITH_TEXT && body.error === undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['error'],
          message: `error is required with error_code ${ERROR_CODE_WITH_TEXT}: Kommo shows it to the user`,
        });
      }
    }),
  );

export const statusRequestSchema = z.pipe(
  statusBodySchema,
  z.transform((body: z.output<typeof statusBodySchema>): StatusUpdate => {
    if (body.status !== 'error') return { status: body.status };
    // The refinement above admits only Kommo's codes.
    return {
      status: 'error',
      errorCode: body.error_code as DeliveryErrorCode,
      ...(body.error !== undefined ? { error: body.error } : {}),
    };
  }),
);

/** `sent`: the chat service has the message and nothing more to report (nothing is sent to Kommo for it). */
const sentAnswerSchema = z.strictObject({ status: z.literal('sent') });

/**
 * The chat service's 200 answer to a status query, strictly: anything but the contract's shape is
 * `malformed`, with the first rule it broke (for the log line).
 */
export function parseStatusAnswer(text: string): Exclude<PolledStatus, { outcome: 'unknown' }> {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return { outcome: 'malformed', reason: 'the answer is not JSON' };
  }
  const isSent = typeof body === 'object' && body !== null && (body as { status?: unknown }).status === 'sent';
  const parsed = isSent ? sentAnswerSchema.safeParse(body) : statusRequestSchema.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const rule = issue?.message ?? 'invalid';
    const reason = isSent
      ? rule
      : rule.replace(
          'status must be "delivered", "read" or "error"',
          'status must be "sent", "delivered", "read" or "error"',
        );
    return { outcome: 'malformed', reason: `${issue?.path.map(String).join('.') || 'body'}: ${reason}` };
  }
  return parsed.data.status === 'sent'
    ? { outcome: 'sent' }
    : { outcome: 'update', update: parsed.data as StatusUpdate };
}
