import { describe, expect, it } from 'vitest';
import { printedLine, sourceOfPrintedLine } from '../../local/runtime';
import { TEST_START } from '../support/manual-clock';

/** The bench tells the sandboxes' lines from the others by their source (bench/arrivals.ts); the line format must keep saying it. */
describe("the local runtime's printed lines", () => {
  it.each(['kommo sandbox', 'chat service', 'bridge', 'request'])('name their source %s, after the time', (source) => {
    // Prepare
    const line = printedLine(TEST_START, source, 'Kommo shows "typing…" [for 5 s]');
    // Act
    const found = sourceOfPrintedLine(line);
    // Assess
    expect(line.startsWith(new Date(TEST_START).toISOString())).toBe(true);
    expect(found).toBe(source);
  });

  it('has no source in a line the runtime did not make', () => {
    expect(sourceOfPrintedLine('[kommo sandbox] with no time before it')).toBeUndefined();
    expect(sourceOfPrintedLine('Ready (pid 1).')).toBeUndefined();
  });
});
