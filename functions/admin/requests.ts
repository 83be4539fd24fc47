import * as z from '../core/zod';

/** An amojo id as it appears in a scope (functions/core/domain/scope.ts). */
const amojoAccountId = z.string({ error: 'amojo_account_id is required and must be a string' }).check(
  z.regex(/^[A-Za-z0-9-]{1,64}$/, {
    message: "amojo_account_id must be the account's amojo id (1-64 letters, digits, dashes)",
  }),
);

const kommoAccountId = z
  .number({ error: "kommo_account_id must be Kommo's numeric account id" })
  .check(
    z.int({ message: 'kommo_account_id must be a whole number' }),
    z.positive({ message: 'kommo_account_id must be positive' }),
    z.lte(Number.MAX_SAFE_INTEGER, { message: 'kommo_account_id is too large' }),
  );

export const connectRequestSchema = z.strictObject({
  amojo_account_id: amojoAccountId,
  kommo_account_id: kommoAccountId,
  title: z
    .string({ error: 'title is required and must be a string' })
    .check(
      z.trim(),
      z.minLength(1, { message: 'title must be 1-255 characters' }),
      z.maxLength(255, { message: 'title must be 1-255 characters' }),
    ),
});

export const disconnectRequestSchema = z.union(
  [z.strictObject({ kommo_account_id: kommoAccountId }), z.strictObject({ amojo_account_id: amojoAccountId })],
  { error: 'The body must be {"kommo_account_id": <number>} or {"amojo_account_id": "<amojo id>"}' },
);
