import {
  accessLogFormat,
  HTTP_ACCESS_LOG_FIELDS,
  WEBSOCKET_ACCESS_LOG_FIELDS,
} from '../infra/constructs/access-log-formats';
import { powertoolsLog, powertoolsMetrics } from '../functions/core/adapters/telemetry/powertools';
import type { Log, Metrics } from '../functions/core/ports/telemetry';

/**
 * What the functions write to CloudWatch Logs, counted from the lines themselves: the handlers get the
 * Powertools logger and metrics they get in Lambda, at the production level (INFO), and every line
 * they print (JSON log lines and EMF metric lines alike) is taken off stdout/stderr and counted here
 * instead of being printed. The Lambda context of the local runtime has short stand-in names; each line
 * is counted with the lengths a deployed function has (its CDK-generated name and ARN, a UUID request
 * id, an X-Ray trace id), so the bytes are the bytes Lambda would ingest.
 */

/** A deployed function's name as CDK makes it (stack, construct path, hash, random suffix): 56 characters. */
const DEPLOYED_FUNCTION_NAME = 'KommoLiveBridge-HookWorkerFunction5A3B2C1D-Xy7zAbCdEf12';
const DEPLOYED_FUNCTION_ARN = `arn:aws:lambda:us-east-1:123456789012:function:${DEPLOYED_FUNCTION_NAME}`;
const REQUEST_ID = '8f5d1b2c-1234-4a5b-9c8d-0123456789ab';
const TRACE_ID = '1-675a1b2c-0123456789abcdef01234567';

/**
 * Lambda's own lines for every invocation: START, END and REPORT, as Lambda writes them in its text
 * format; three log events. X-Ray is off by default (the stack's `tracing` prop).
 */
export const PLATFORM_LINES = [
  `START RequestId: ${REQUEST_ID} Version: $LATEST\n`,
  `END RequestId: ${REQUEST_ID}\n`,
  `REPORT RequestId: ${REQUEST_ID}\tDuration: 48.52 ms\tBilled Duration: 49 ms\tMemory Size: 512 MB\tMax Memory Used: 98 MB\t\n`,
];

/** What active tracing adds to every REPORT line. */
export const XRAY_REPORT_LINE = `XRAY TraceId: ${TRACE_ID}\tSegmentId: 0123456789abcdef\tSampled: true\t\n`;

/**
 * Typical values of the context variables the stack's access log formats use
 * (infra/constructs/access-log-formats.ts): a delivery status from the chat service, a frame of the
 * widget. The lines are built from the stack's formats themselves, so the count follows any change to
 * them; a variable with no typical value here fails the bench rather than count as nothing.
 */
const TYPICAL_CONTEXT_VALUES: Readonly<Record<string, string>> = {
  '$context.requestId': 'ZyXwVuTsIAMEJkQ=',
  '$context.requestTime': '06/Dec/2026:20:55:01 +0000',
  '$context.identity.sourceIp': '203.0.113.17',
  '$context.identity.userAgent':
    'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36',
  '$context.routeKey': 'POST /chat/{scope_id}/messages/{msgid}/status',
  '$context.httpMethod': 'POST',
  '$context.path':
    '/chat/c0ffee00-0000-4000-8000-000000000001_52e591f7-c98f-4255-8495-827210138c81/messages/m-1/status',
  '$context.status': '202',
  '$context.responseLength': '16',
  '$context.responseLatency': '48',
  '$context.integrationStatus': '202',
  '$context.integrationLatency': '46',
  '$context.integrationErrorMessage': '-',
  '$context.error.message': '-',
  '$context.eventType': 'MESSAGE',
  '$context.connectionId': 'ZyXwVdTsoAMCJkQ=',
  '$context.messageId': 'ZyXwWeMnoAMCJkQ=',
};

/** One access log line of a format: each context variable replaced by its typical value. */
export function accessLogLine(format: string): string {
  const line = format.replace(/\$context\.[A-Za-z.]+/g, (variable) => {
    const value = TYPICAL_CONTEXT_VALUES[variable];
    if (value === undefined) throw new Error(`bench/log-bytes.ts: no typical value for ${variable}; add one`);
    return value;
  });
  return `${line}\n`;
}

/** An HTTP API access log line in the stack's format, and a WebSocket API one for a frame. */
export const HTTP_ACCESS_LINE = accessLogLine(accessLogFormat(HTTP_ACCESS_LOG_FIELDS));
export const WEBSOCKET_ACCESS_LINE = accessLogLine(accessLogFormat(WEBSOCKET_ACCESS_LOG_FIELDS));

const bytes = (lines: readonly string[]) => lines.reduce((sum, line) => sum + Buffer.byteLength(line), 0);
export const PLATFORM_BYTES = bytes(PLATFORM_LINES);
export const PLATFORM_EVENTS = PLATFORM_LINES.length;
export const XRAY_REPORT_BYTES = bytes([XRAY_REPORT_LINE]);
export const HTTP_ACCESS_BYTES = bytes([HTTP_ACCESS_LINE]);
export const WEBSOCKET_ACCESS_BYTES = bytes([WEBSOCKET_ACCESS_LINE]);

/** What the handlers printed since the last `reset`. */
export interface LogCount {
  /** Bytes and lines (log events) of every line but the consumers' per-batch line. */
  bytes: number;
  lines: number;
  /** The consumers' `batch done` lines: one per queue invocation. */
  batchLines: number;
  batchBytes: number;
  /** Of `bytes`, the EMF metric lines. */
  metricBytes: number;
  /** Lines by message, for `BENCH_COST_DETAIL`. */
  byMessage: Map<string, number>;
}

export class HandlerLogMeter {
  readonly log: Log;
  readonly metrics: Metrics;
  count: LogCount = emptyCount();
  private readonly restore: () => void;

  constructor() {
    process.env.POWERTOOLS_LOG_LEVEL = 'INFO';
    process.env.POWERTOOLS_LOGGER_SAMPLE_RATE = '0';
    process.env._X_AMZN_TRACE_ID = `Root=${TRACE_ID};Parent=0123456789abcdef;Sampled=1`;
    const streams = [process.stdout, process.stderr] as const;
    const originals = streams.map((stream) => stream.write.bind(stream));
    streams.forEach((stream, index) => {
      stream.write = ((chunk: unknown, ...rest: unknown[]) => {
        const text = typeof chunk === 'string' ? chunk : Buffer.isBuffer(chunk) ? chunk.toString('utf8') : undefined;
        if (text?.startsWith('{') && this.take(text)) return true;
        return (originals[index] as (...args: unknown[]) => boolean)(chunk, ...rest);
      }) as typeof stream.write;
    });
    this.restore = () =>
      streams.forEach((stream, index) => {
        stream.write = originals[index] as typeof stream.write;
      });
    this.log = powertoolsLog();
    this.metrics = powertoolsMetrics();
  }

  reset(): void {
    this.count = emptyCount();
  }

  close(): void {
    this.restore();
  }

  /** Counts a Powertools line (log or EMF); anything else is printed as usual. */
  private take(text: string): boolean {
    for (const raw of text.split('\n')) {
      if (raw === '') continue;
      let line: Record<string, unknown>;
      try {
        line = JSON.parse(raw) as Record<string, unknown>;
      } catch {
        return false;
      }
      const metric = '_aws' in line;
      if (!metric && line.service === undefined) return false;
      if (!metric) {
        if ('function_name' in line) line.function_name = DEPLOYED_FUNCTION_NAME;
        if ('function_arn' in line) line.function_arn = DEPLOYED_FUNCTION_ARN;
        if ('function_request_id' in line) line.function_request_id = REQUEST_ID;
      }
      const size = Buffer.byteLength(`${JSON.stringify(line)}\n`);
      const message = metric ? '(EMF metrics)' : String(line.message);
      this.count.byMessage.set(message, (this.count.byMessage.get(message) ?? 0) + 1);
      if (message === 'batch done') {
        this.count.batchLines += 1;
        this.count.batchBytes += size;
        continue;
      }
      this.count.lines += 1;
      this.count.bytes += size;
      if (metric) this.count.metricBytes += size;
    }
    return true;
  }
}

function emptyCount(): LogCount {
  return { bytes: 0, lines: 0, batchLines: 0, batchBytes: 0, metricBytes: 0, byMessage: new Map() };
}
