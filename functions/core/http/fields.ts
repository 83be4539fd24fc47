import * as z from '../zod';

/** Request fields every route spells the same way; messages name the field (docs/contract.md, "General rules"). */

// The id rules are the domain's (the directory and the status poll apply them too); requests spell them here.
export { hasUnpairedSurrogate, identifier, pathSegmentIdentifier, wellFormed } from '../domain/identifiers';

/** Whole seconds within a range, with a default when absent. */
export function seconds(field: string, range: { min: number; max: number; default: number }) {
  const rule = `${field} must be ${range.min}-${range.max}`;
  return z._default(
    z
      .number({ error: `${field} must be a number` })
      .check(
        z.int({ message: `${field} must be a whole number` }),
        z.gte(range.min, { message: rule }),
        z.lte(range.max, { message: rule }),
      ),
    range.default,
  );
}
