/**
 * Typed failures that cross the boundary of a use case. Handlers never build HTTP answers from
 * strings: they throw one of these and the error middleware maps `kind` to a status code.
 */
export type FailureKind =
  | 'invalid'
  | 'unauthenticated'
  | 'forbidden'
  | 'not_found'
  | 'method_not_allowed'
  | 'conflict'
  | 'gone'
  | 'too_large'
  | 'unavailable';

export class BridgeError extends Error {
  override readonly name = 'BridgeError';
  constructor(
    readonly kind: FailureKind,
    /** Machine-readable code, e.g. `invalid_signature`; part of the contract's error body. */
    readonly code: string,
    /** A sentence for a person, naming the field or rule. Never carries a secret or a stack. */
    message: string,
  ) {
    super(message);
  }
}

export const invalid = (code: string, message: string) => new BridgeError('invalid', code, message);
export const unauthenticated = (code: string, message: string) => new BridgeError('unauthenticated', code, message);
export const forbidden = (code: string, message: string) => new BridgeError('forbidden', code, message);
export const notFound = (code: string, message: string) => new BridgeError('not_found', code, message);
export const conflict = (code: string, message: string) => new BridgeError('conflict', code, message);
/** A route that existed and was retired: the message names what replaces it. */
export const gone = (code: string, message: string) => new BridgeError('gone', code, message);
