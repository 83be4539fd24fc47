import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkJava, JAVA_HINT, startDynamoDbLocal } from '../../local/dynamodb-local';

const dir = mkdtempSync(join(tmpdir(), 'java-check-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A `java` that answers `-version` as the given release does (Java prints it on stderr). */
function fakeJava(versionLine: string): string {
  const path = join(dir, `java-${Math.random().toString(36).slice(2)}`);
  writeFileSync(path, `#!/bin/sh\necho '${versionLine}' >&2\n`);
  chmodSync(path, 0o755);
  return path;
}

describe('the Java check before DynamoDB Local starts', () => {
  it('says how to install Java 17 when there is no java at all', async () => {
    await expect(startDynamoDbLocal({ javaCommand: join(dir, 'no-such-java') })).rejects.toThrow(JAVA_HINT);
  });

  it.each([
    ['Java 11', 'openjdk version "11.0.2" 2019-01-15'],
    ['Java 8', 'java version "1.8.0_381"'],
    ['an answer without a version', 'something else'],
  ])('refuses %s with the same hint, quoting what java said', (_, versionLine) => {
    expect(() => checkJava(fakeJava(versionLine))).toThrow(`${JAVA_HINT}. \`${join(dir, '')}`);
    expect(() => checkJava(fakeJava(versionLine))).toThrow(versionLine);
  });

  it.each([
    ['Java 17', 'openjdk version "17.0.15" 2025-04-15'],
    ['Java 21', 'openjdk version "21" 2023-09-19'],
  ])('accepts %s', (_, versionLine) => {
    expect(() => checkJava(fakeJava(versionLine))).not.toThrow();
  });
});
