import { describe, expect, it } from 'vitest';
import {
  accessLogLine,
  HTTP_ACCESS_BYTES,
  HTTP_ACCESS_LINE,
  WEBSOCKET_ACCESS_BYTES,
  WEBSOCKET_ACCESS_LINE,
} from '../../bench/log-bytes';
import {
  accessLogFormat,
  HTTP_ACCESS_LOG_FIELDS,
  WEBSOCKET_ACCESS_LOG_FIELDS,
} from '../../infra/constructs/access-log-formats';

/**
 * The bench prices API Gateway's access log lines from the formats the stack deploys
 * (infra/constructs/access-log-formats.ts), not from a copy: each field of the format is in the line,
 * with a typical value, and a variable the bench cannot value stops it.
 */
describe("the bench's access log lines", () => {
  it.each([
    ['HTTP API', HTTP_ACCESS_LOG_FIELDS, HTTP_ACCESS_LINE, HTTP_ACCESS_BYTES],
    ['WebSocket API', WEBSOCKET_ACCESS_LOG_FIELDS, WEBSOCKET_ACCESS_LINE, WEBSOCKET_ACCESS_BYTES],
  ])(
    '%s: one JSON line with exactly the fields of the stack’s format, each valued, counted in bytes',
    (_, fields, line, bytes) => {
      const parsed = JSON.parse(line) as Record<string, string>;

      expect(Object.keys(parsed)).toEqual(Object.keys(fields));
      expect(Object.values(parsed).every((value) => value !== '' && !value.includes('$context'))).toBe(true);
      expect(line.endsWith('\n')).toBe(true);
      expect(bytes).toBe(Buffer.byteLength(line));
    },
  );

  it('a format with a context variable the bench has no value for fails, naming it', () => {
    expect(() =>
      accessLogLine(accessLogFormat({ ...HTTP_ACCESS_LOG_FIELDS, agent: '$context.customDomain.basePathMatched' })),
    ).toThrow('$context.customDomain.basePathMatched');
  });
});
