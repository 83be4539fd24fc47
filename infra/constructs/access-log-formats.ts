/**
 * The access log lines of the two APIs: field name → API Gateway context variable. Kept to what only
 * the gateway sees, since every function already writes one INFO line per invocation with the route,
 * the answer, the ids and the duration (and the HTTP API's request id, `api_gateway_request_id`, to
 * join the two): requests the gateway answered itself (throttled, no route, payload too large), the
 * integration's own failures (a crash or timeout of the function), and who sent them. Method, path,
 * route, user agent, times and lengths are left out: the function's line has them, or nobody reads them.
 * The bench counts the bytes of these very formats (bench/log-bytes.ts).
 */

/** HTTP API context variables; headers are left out on purpose (they carry signatures and tokens). */
export const HTTP_ACCESS_LOG_FIELDS = {
  requestId: '$context.requestId',
  sourceIp: '$context.identity.sourceIp',
  status: '$context.status',
  integrationStatus: '$context.integrationStatus',
  integrationError: '$context.integrationErrorMessage',
  error: '$context.error.message',
} as const;

/** WebSocket API context variables; never the query string, which carries the ticket. */
export const WEBSOCKET_ACCESS_LOG_FIELDS = {
  requestId: '$context.requestId',
  connectionId: '$context.connectionId',
  sourceIp: '$context.identity.sourceIp',
  status: '$context.status',
  error: '$context.error.message',
} as const;

/** The format string API Gateway takes: one JSON object per line. */
export const accessLogFormat = (fields: Readonly<Record<string, string>>): string => JSON.stringify(fields);
