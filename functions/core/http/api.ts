import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import type * as z from '../zod';
import { BridgeError, invalid, type FailureKind } from '../domain/errors';

export type ApiEvent = APIGatewayProxyEventV2;
export type ApiResult = APIGatewayProxyStructuredResultV2 & { statusCode: number; body: string };

/** docs/contract.md: bodies over 64 KiB are refused with 413. */
export const MAX_BODY_BYTES = 64 * 1024;

const statusOf: Record<FailureKind, number> = {
  invalid: 400,
  unauthenticated: 401,
  forbidden: 403,
  not_found: 404,
  method_not_allowed: 405,
  conflict: 409,
  gone: 410,
  too_large: 413,
  unavailable: 503,
};

export function json(statusCode: number, body: unknown, headers: Record<string, string> = {}): ApiResult {
  return {
    statusCode,
    headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...headers },
    body: JSON.stringify(body),
  };
}

/** The contract's error body. 5xx answers never carry a stack trace or an internal message. */
export function errorAnswer(error: unknown): ApiResult {
  if (error instanceof BridgeError) {
    return json(statusOf[error.kind], { error: { code: error.code, message: error.message } });
  }
  return json(500, {
    error: {
      code: 'internal_error',
      message: 'The bridge could not finish the request; it may not have been applied. Send the same request again.',
    },
  });
}

/** The request body exactly as sent (API Gateway base64-encodes bodies it does not treat as text). */
export function rawBody(event: ApiEvent): Buffer {
  if (event.body === undefined || event.body === null) return Buffer.alloc(0);
  return event.isBase64Encoded ? Buffer.from(event.body, 'base64') : Buffer.from(event.body, 'utf8');
}

/** Header lookup; API Gateway v2 lower-cases header names, the local runtime does the same. */
export function header(event: ApiEvent, name: string): string | undefined {
  return event.headers?.[name.toLowerCase()] ?? undefined;
}

export function pathParameter(event: ApiEvent, name: string): string | undefined {
  const value = event.pathParameters?.[name];
  return value === undefined ? undefined : value;
}

/**
 * JSON text is UTF-8 (RFC 8259): a body that is not is refused, not decoded lossily, which would turn
 * every invalid byte into U+FFFD and make `"u-\xff"` and `"u-\xfe"` the same id. A BOM is kept, so
 * JSON.parse refuses it as before.
 */
const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Parses a JSON body and validates it; every failure is a 400 naming the field or rule. */
export function parseJsonBody<S extends z.ZodMiniType>(body: Buffer, schema: S): z.output<S> {
  let value: unknown;
  try {
    value = JSON.parse(strictUtf8.decode(body));
  } catch {
    throw invalid('invalid_json', 'The body must be valid JSON (UTF-8)');
  }
  return validate(value, schema);
}

export function validate<S extends z.ZodMiniType>(value: unknown, schema: S): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  throw invalid('invalid_field', describeIssue(result.error.issues[0]));
}

function describeIssue(issue: z.core.$ZodIssue | undefined): string {
  if (!issue) return 'The body is not valid';
  const field = issue.path.map(String).join('.');
  if (issue.code === 'unrecognized_keys') {
    const keys = issue.keys.map((key) => (field ? `${field}.${key}` : key));
    return `Unknown field${keys.length > 1 ? 's' : ''}: ${keys.join(', ')}`;
  }
  if (!field) return issue.message.startsWith('Invalid input') ? 'The body must be a JSON object' : issue.message;
  return issue.message.startsWith(field) ? issue.message : `${field}: ${issue.message}`;
}
