import fc from 'fast-check';

/**
 * fast-check arbitraries for hostile input: values of the wrong type, oversized and blank strings,
 * numbers out of range or beyond what JSON and doubles hold, and "near-valid" objects that differ from
 * a valid body in one to three fields. Every near-valid object is invalid by construction: each
 * mutation breaks one rule, and no later mutation can repair it.
 */

/** The run seed for every hostile property: a failure prints its counterexample and reproduces. */
export const HOSTILE_SEED = 20_261_121;

export const propertyRuns = (numRuns: number) => ({ numRuns, seed: HOSTILE_SEED });

export const jsonJunk = fc.jsonValue({ maxDepth: 3 });

export const notAString = fc.oneof(
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.boolean(),
  fc.constant(null),
  fc.array(jsonJunk, { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 1 }), { maxKeys: 3 }),
);

export const notANumber = fc.oneof(
  fc.string({ maxLength: 10 }),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.integer(), { maxLength: 2 }),
  fc.dictionary(fc.string({ maxLength: 4 }), fc.integer(), { maxKeys: 2 }),
);

/** Over the contract's 128 characters, ASCII or anywhere in Unicode. */
export const oversizedString = fc.oneof(
  fc.string({ minLength: 129, maxLength: 600 }),
  fc.string({ unit: 'binary', minLength: 129, maxLength: 300 }),
);

/** Not a valid chat-service id (a string of 1-128 characters). */
export const badChatId = fc.oneof(notAString, fc.constant(''), oversizedString);

/** Only whitespace (or nothing). */
export const blankText = fc
  .array(fc.constantFrom(' ', '\t', '\r', '\n', '\u00a0', '\u2003'), { maxLength: 12 })
  .map((chars) => chars.join(''));

/** A whole number outside `[min, max]`, a fraction, a number past 2^53 or near the double's limits, or not a number. */
export const badWholeNumber = (min: number, max: number) =>
  fc.oneof(
    notANumber,
    fc.integer({ max: min - 1 }),
    fc.integer({ min: max + 1 }),
    fc.double({ noNaN: true, noDefaultInfinity: true }).filter((value) => !Number.isInteger(value)),
    fc.constantFrom(2 ** 53, -(2 ** 53), 1e21, 1e308, -1e308, Number.MIN_VALUE),
  );

/** JSON number literals that `JSON.parse` turns into Infinity, or that no field of the contract accepts. */
export const hugeNumberLiteral = fc.constantFrom(
  '1e400',
  '-1e400',
  '123456789012345678901234567890',
  '1.5',
  '0',
  '-0',
  '-1',
  '1e-400',
);

export interface FieldRule {
  /** Values this field never accepts. */
  invalid: fc.Arbitrary<unknown>;
  /** Whether removing the field breaks the body (only required fields are removed). */
  required: boolean;
}

type Mutation = { field: string; remove: true } | { field: string; value: unknown };

/** Sets an own property, even one named `__proto__`. */
function setOwn(target: Record<string, unknown>, field: string, value: unknown): void {
  Object.defineProperty(target, field, { value, enumerable: true, writable: true, configurable: true });
}

/**
 * A valid body with one to three fields broken: set to a value the field refuses, removed (required
 * fields only), or an unknown field added (strict bodies only).
 */
export function nearValid(
  valid: fc.Arbitrary<Record<string, unknown>>,
  rules: Record<string, FieldRule>,
  options: { strict: boolean } = { strict: true },
): fc.Arbitrary<Record<string, unknown>> {
  const known = Object.keys(rules);
  const mutations: fc.Arbitrary<Mutation>[] = [];
  for (const [field, rule] of Object.entries(rules)) {
    mutations.push(rule.invalid.map((value) => ({ field, value })));
    if (rule.required) mutations.push(fc.constant({ field, remove: true as const }));
  }
  if (options.strict) {
    const unknownField = fc
      .oneof(fc.string({ maxLength: 12 }), fc.constantFrom('__proto__', 'constructor', 'toString', 'STATE', ' state'))
      .filter((field) => !known.includes(field));
    mutations.push(fc.tuple(unknownField, jsonJunk).map(([field, value]) => ({ field, value })));
  }
  return fc.tuple(valid, fc.array(fc.oneof(...mutations), { minLength: 1, maxLength: 3 })).map(([body, changes]) => {
    const copy: Record<string, unknown> = { ...body };
    for (const change of changes) {
      if ('remove' in change) delete copy[change.field];
      else setOwn(copy, change.field, change.value);
    }
    return copy;
  });
}

/** Sets `value` at `path` in a deep copy of `target`. */
export function setPath(target: unknown, path: readonly string[], value: unknown): unknown {
  const copy = structuredClone(target) as Record<string, unknown>;
  let node = copy;
  for (const key of path.slice(0, -1)) node = node[key] as Record<string, unknown>;
  setOwn(node, path.at(-1)!, value);
  return copy;
}

/** JSON text from a value, sometimes with whitespace around it. */
export const asJsonText = (value: fc.Arbitrary<unknown>) =>
  fc
    .tuple(value, fc.constantFrom('', ' ', '\n', '\t\r\n'))
    .map(([body, space]) => Buffer.from(`${space}${JSON.stringify(body)}${space}`));

/** Bytes that are not JSON at all: random bytes, truncated JSON, JSON with a BOM, deep nesting. */
export const notJsonBytes = fc
  .oneof(
    fc.uint8Array({ maxLength: 512 }).map((bytes) => Buffer.from(bytes)),
    jsonJunk
      .map((value) => JSON.stringify(value))
      .filter((text) => text.length > 1)
      .map((text) => Buffer.from(text.slice(0, -1))),
    fc
      .constantFrom('\ufeff{}', '{', '}', '{"a":1,}', "{'a':1}", 'NaN', 'undefined', '{"a":01}', '\u0000')
      .map((text) => Buffer.from(text)),
  )
  .filter((bytes) => {
    try {
      JSON.parse(bytes.toString('utf8'));
      return false;
    } catch {
      return true;
    }
  });

/** JSON that is valid but nested deeper than any body of the contract. */
export const deeplyNested = fc
  .integer({ min: 500, max: 20_000 })
  .map((depth) => Buffer.from(`${'['.repeat(depth)}${']'.repeat(depth)}`));

/** A body over the contract's 64 KiB. */
export const oversizedBody = fc
  .integer({ min: 64 * 1024 + 1, max: 80 * 1024 })
  .map((size) => Buffer.from(`{"padding":"${'x'.repeat(size)}"}`));

/** A path segment written with every byte percent-encoded, or with `encodeURIComponent`. */
export const asPathSegment = (value: string, style: 'component' | 'every-byte') =>
  style === 'component'
    ? encodeURIComponent(value)
    : [...Buffer.from(value, 'utf8')].map((byte) => `%${byte.toString(16).toUpperCase().padStart(2, '0')}`).join('');

export const segmentStyle = fc.constantFrom<'component' | 'every-byte'>('component', 'every-byte');
