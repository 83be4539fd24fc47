import { AsyncLocalStorage } from 'node:async_hooks';
import type { Context } from 'aws-lambda';
import type { Log, MetricName, Metrics } from '../../ports/telemetry';

/** Metrics counted in memory: the local runtime prints them, tests assert them. */
export class CountingMetrics implements Metrics {
  private readonly counts = new Map<MetricName, number>();

  count(name: MetricName, value = 1): void {
    this.counts.set(name, (this.counts.get(name) ?? 0) + value);
  }

  get(name: MetricName): number {
    return this.counts.get(name) ?? 0;
  }

  snapshot(): Record<string, number> {
    return Object.fromEntries(this.counts);
  }
}

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';
const rank: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

export interface LogLine {
  level: Exclude<LogLevel, 'silent'>;
  message: string;
  attributes?: Record<string, unknown>;
  /** The invocation the line was written in (as Powertools adds it in Lambda), when written during one. */
  invocation?: InvocationKeys;
}

/** What Powertools adds to a line from the Lambda context, under its names, plus the caller's keys. */
export type InvocationKeys = Record<string, string | boolean>;

/** A log that keeps its lines (for tests) and optionally prints them readably (for the local runtime). */
export class RecordingLog implements Log {
  readonly lines: LogLine[] = [];
  private readonly scoped = new AsyncLocalStorage<InvocationKeys>();
  /** Functions invoked at least once: the next invocation of one of them is warm. */
  private readonly warm = new Set<string>();

  constructor(private readonly options: { level?: LogLevel; print?: (line: string) => void } = {}) {}

  debug(message: string, attributes?: Record<string, unknown>): void {
    this.write('debug', message, attributes);
  }
  info(message: string, attributes?: Record<string, unknown>): void {
    this.write('info', message, attributes);
  }
  warn(message: string, attributes?: Record<string, unknown>): void {
    this.write('warn', message, attributes);
  }
  error(message: string, attributes?: Record<string, unknown>): void {
    this.write('error', message, attributes);
  }

  async during<T>(scope: { context?: Context; keys?: Record<string, string> }, work: () => Promise<T>): Promise<T> {
    const context: InvocationKeys = {};
    if (scope.context) {
      const name = scope.context.functionName;
      Object.assign(context, {
        function_name: name,
        function_request_id: scope.context.awsRequestId,
        cold_start: !this.warm.has(name),
      });
      this.warm.add(name);
    }
    // A new invocation starts from its own context only; a part of one (a batch record) adds to it.
    const outer = scope.context ? {} : this.scoped.getStore();
    return this.scoped.run({ ...outer, ...context, ...scope.keys }, work);
  }

  private write(level: LogLine['level'], message: string, attributes?: Record<string, unknown>): void {
    const invocation = this.scoped.getStore();
    this.lines.push({ level, message, ...(attributes ? { attributes } : {}), ...(invocation ? { invocation } : {}) });
    if (this.lines.length > 10_000) this.lines.splice(0, this.lines.length - 10_000);
    const threshold = rank[this.options.level ?? 'info'];
    if (this.options.print && rank[level] >= threshold) {
      const source = typeof invocation?.function_name === 'string' ? ` [${invocation.function_name}]` : '';
      this.options.print(
        `${level.toUpperCase().padEnd(5)}${source} ${message}${attributes ? ` ${JSON.stringify(attributes)}` : ''}`,
      );
    }
  }
}
