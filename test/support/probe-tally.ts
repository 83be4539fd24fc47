/**
 * Probes per surface for a hostile suite: each probe is counted as tried, and as refused when the
 * bridge turned it away. `report()` is one line per surface, for the suite's output.
 */
export class ProbeTally {
  private readonly surfaces = new Map<string, { tried: number; refused: number }>();

  /** Counts one probe of `surface`; `refused`: the bridge turned it away (what the test then asserts). */
  count(surface: string, refused: boolean): void {
    const tally = this.surfaces.get(surface) ?? { tried: 0, refused: 0 };
    tally.tried += 1;
    if (refused) tally.refused += 1;
    this.surfaces.set(surface, tally);
  }

  report(title: string): string {
    const rows = [...this.surfaces].sort(([a], [b]) => a.localeCompare(b));
    const width = Math.max(...rows.map(([surface]) => surface.length), 'surface'.length);
    const total = rows.reduce(
      (sum, [, tally]) => ({ tried: sum.tried + tally.tried, refused: sum.refused + tally.refused }),
      {
        tried: 0,
        refused: 0,
      },
    );
    return [
      `${title}: probes per surface (tried / refused)`,
      ...rows.map(([surface, tally]) => `  ${surface.padEnd(width)}  ${tally.tried} / ${tally.refused}`),
      `  ${'all'.padEnd(width)}  ${total.tried} / ${total.refused}`,
    ].join('\n');
  }
}
