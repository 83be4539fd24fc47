import { z } from 'zod';

/** Request fields every route spells the same way; messages name the field (CONTRACT.md error rule). */

/** The chat service's own ids and Kommo's msgid: strings of 1-128 characters. */
export function identifier(field: string) {
  const rule = `${field} must be 1-128 characters`;
  return z.string({ error: `${field} is required and must be a string` }).min(1, { message: rule }).max(128, { message: rule });
}

/** Whole seconds within a range, with a default when absent. */
export function seconds(field: string, range: { min: number; max: number; default: number }) {
  const rule = `${field} must be ${range.min}-${range.max}`;
  return z
    .number({ error: `${field} must be a number` })
    .int({ message: `${field} must be a whole number` })
    .min(range.min, { message: rule })
    .max(range.max, { message: rule })
    .default(range.default);
}
