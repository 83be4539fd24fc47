/**
 * What the bench produces: named figures with a unit and a one-line meaning, hard expectations that
 * decide the exit code, and the table printed at the end.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export type Unit =
  | 'B'
  | 'calls'
  | 'ms'
  | '%'
  | 'req/s'
  | 'requests'
  | 'MB'
  | 'KB'
  | 'hooks/s'
  | 's'
  | 'USD'
  | 'WRU'
  | 'RRU';

export interface Figure {
  /** Stable, machine-friendly name, e.g. `typing.keystrokes.bridge_calls`. */
  name: string;
  /** The section of issue 7 it belongs to, for grouping the table. */
  section: string;
  /** Short label for the table. */
  label: string;
  value: number;
  unit: Unit;
  /** One line: what was measured and how to read it. */
  meaning: string;
}

/** A rule the bridge must keep; a failed one makes `npm run bench` exit non-zero. */
export interface Expectation {
  name: string;
  passed: boolean;
  detail: string;
}

export class BenchResults {
  readonly figures: Figure[] = [];
  readonly expectations: Expectation[] = [];
  /** Raw numbers behind some figures (call offsets, per-run samples), kept in results.json for digging. */
  readonly details: Record<string, unknown> = {};
  /** Sections that could not run, with the reason. */
  readonly failures: { section: string; error: string }[] = [];

  add(figure: Figure): void {
    this.figures.push({ ...figure, value: round(figure.value) });
  }

  expect(name: string, passed: boolean, detail: string): void {
    this.expectations.push({ name, passed, detail });
  }

  get passed(): boolean {
    return this.failures.length === 0 && this.expectations.every((expectation) => expectation.passed);
  }
}

/** Two decimals below 10, one below 100, whole numbers above: enough precision for every figure here. */
export function round(value: number): number {
  if (!Number.isFinite(value)) return value;
  const abs = Math.abs(value);
  const digits = abs < 10 ? 2 : abs < 100 ? 1 : 0;
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

/** Nearest-rank percentile of unsorted samples (`p` in 0-100). */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1]!;
}

export function median(samples: readonly number[]): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** The figures as a plain-text table grouped by section, for the terminal. */
export function formatTable(figures: readonly Figure[]): string {
  const rows = figures.map((figure) => [figure.label, formatValue(figure.value), figure.unit]);
  const widths = [0, 1, 2].map((column) =>
    Math.max(...rows.map((row) => row[column]!.length), ['figure', 'value', 'unit'][column]!.length),
  );
  const line = (cells: string[]) =>
    `${cells[0]!.padEnd(widths[0]!)}  ${cells[1]!.padStart(widths[1]!)}  ${cells[2]!.padEnd(widths[2]!)}`.trimEnd();
  const out = [line(['figure', 'value', 'unit']), line(widths.map((width) => '-'.repeat(width)))];
  let section: string | undefined;
  figures.forEach((figure, index) => {
    if (figure.section !== section) {
      section = figure.section;
      out.push(`[${section}]`);
    }
    out.push(line(rows[index]!));
  });
  return out.join('\n');
}

/** The same figures as a Markdown table (for the benchmarks table in docs/testing-and-bench.md). */
export function formatMarkdownTable(figures: readonly Figure[]): string {
  const out = ['| figure | value | unit |', '|---|---:|---|'];
  let section: string | undefined;
  for (const figure of figures) {
    if (figure.section !== section) {
      section = figure.section;
      out.push(`| **${section}** | | |`);
    }
    out.push(`| ${figure.label} | ${formatValue(figure.value)} | ${figure.unit} |`);
  }
  return out.join('\n');
}

function formatValue(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  return round(value).toLocaleString('en-US', { maximumFractionDigits: 2 });
}

/**
 * The figures of the last committed results.json, by name (what a change is compared with): from git's
 * HEAD when this is a clone, else the file as it is before this run overwrites it.
 */
export function previousFigures(file: URL): Map<string, number> {
  let text: string | undefined;
  try {
    text = execFileSync('git', ['show', 'HEAD:bench/results.json'], {
      cwd: fileURLToPath(new URL('..', import.meta.url)),
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
      maxBuffer: 64 * 1024 * 1024,
    });
  } catch {
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      return new Map();
    }
  }
  try {
    const report = JSON.parse(text) as { figures?: { name: string; value: number }[] };
    return new Map((report.figures ?? []).map((figure) => [figure.name, figure.value]));
  } catch {
    return new Map();
  }
}
