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
}

/** A log that keeps its lines (for tests) and optionally prints them readably (for the local runtime). */
export class RecordingLog implements Log {
  readonly lines: LogLine[] = [];

  constructor(
    private readonly options: { level?: LogLevel; print?: (line: string) => void } = {},
  ) {}

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

  private write(level: LogLine['level'], message: string, attributes?: Record<string, unknown>): void {
    this.lines.push({ level, message, ...(attributes ? { attributes } : {}) });
    if (this.lines.length > 10_000) this.lines.splice(0, this.lines.length - 10_000);
    const threshold = rank[this.options.level ?? 'info'];
    if (this.options.print && rank[level] >= threshold) {
      this.options.print(`${level.toUpperCase().padEnd(5)} ${message}${attributes ? ` ${JSON.stringify(attributes)}` : ''}`);
    }
  }
}
