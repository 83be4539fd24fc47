import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { classifyHook } from '../../functions/core/domain/kommo-hooks';
import { parseStatusAnswer } from '../../functions/core/http/status-report';
import { kommoHookJobSchema } from '../../functions/core/queue-messages';

/**
 * Classic zod puts ~460 KB into every Lambda bundle that imports it, zod/mini a fraction of that; the
 * bundle size is most of a cold start. zod/mini also has no messages of its own: the module that
 * configures its English locale is the one place that imports it at run time.
 */

const repositoryRoot = fileURLToPath(new URL('../../', import.meta.url));
/** Its examples of imports are strings, not imports. */
const thisFile = fileURLToPath(import.meta.url);
const ZOD_MODULE = 'functions/core/zod.ts';
/** What the zod module itself may import: zod/mini and the English locale (without every other language). */
const ZOD_MODULE_IMPORTS = ['zod/mini', 'zod/locales'];
const SOURCE_FILE = /\.(?:[cm]?ts|tsx|[cm]?js)$/;
/** Build output and other people's code; dot-folders are tools' scratch space (.git and the like). */
const NOT_OURS = new Set(['node_modules', 'cdk.out']);

interface ZodImport {
  specifier: string;
  typeOnly: boolean;
}

/** `import … from` and `export … from`; group 1 is `type ` when the whole statement is type-only. */
const FROM_STATEMENT = /\b(?:import|export)\s+(type\s+)?[^;'"]*?\bfrom\s*['"](zod(?:\/[^'"]*)?)['"]/g;
/** `import 'zod'`, `import('zod')` and `require('zod')`. */
const BARE_OR_CALL = /\b(?:import\s*|(?:import|require)\s*\(\s*)['"](zod(?:\/[^'"]*)?)['"]/g;

/** Every import, re-export, dynamic import and require of the zod package in a source text. */
function zodImportsOf(source: string): ZodImport[] {
  return [
    ...[...source.matchAll(FROM_STATEMENT)].map((match) => ({
      specifier: match[2]!,
      typeOnly: match[1] !== undefined,
    })),
    ...[...source.matchAll(BARE_OR_CALL)].map((match) => ({ specifier: match[1]!, typeOnly: false })),
  ];
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    if (entry.name.startsWith('.') || NOT_OURS.has(entry.name)) return [];
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return SOURCE_FILE.test(entry.name) && path !== thisFile ? [path] : [];
  });
}

const repositoryImports = sourceFiles(repositoryRoot).flatMap((path) =>
  zodImportsOf(readFileSync(path, 'utf8')).map((found) => ({
    file: relative(repositoryRoot, path).split(sep).join('/'),
    ...found,
  })),
);

describe('zod comes from zod/mini only', () => {
  it('finds classic imports in every form, so an empty finding means something', () => {
    const found = zodImportsOf(
      [
        "import { z } from 'zod';",
        'import * as zod from "zod/v4";',
        "import type { ZodType } from 'zod';",
        "export { z } from 'zod/v3';",
        "const lazy = await import('zod');",
        "import * as mini from 'zod/mini';",
        "import * as ours from '../core/zod';",
      ].join('\n'),
    );

    expect(found).toEqual([
      { specifier: 'zod', typeOnly: false },
      { specifier: 'zod/v4', typeOnly: false },
      { specifier: 'zod', typeOnly: true },
      { specifier: 'zod/v3', typeOnly: false },
      { specifier: 'zod/mini', typeOnly: false },
      { specifier: 'zod', typeOnly: false },
    ]);
  });

  it('no file imports classic zod, not even its types', () => {
    const classic = repositoryImports.filter(
      ({ file, specifier }) =>
        specifier !== 'zod/mini' && !(file === ZOD_MODULE && ZOD_MODULE_IMPORTS.includes(specifier)),
    );

    expect(classic).toEqual([]);
  });

  it('only the zod module loads zod/mini at run time, so every schema has English messages', () => {
    const direct = repositoryImports.filter(({ file, typeOnly }) => !typeOnly && file !== ZOD_MODULE);

    expect(direct).toEqual([]);
  });
});

describe("zod's own messages stay English under zod/mini", () => {
  // zod/mini has no locale of its own: without one these would all read "Invalid input".
  it('in the answer to a malformed Kommo hook (invalid_hook)', () => {
    const classified = classifyHook({
      account_id: 'a',
      action: { typing: { user: { id: 'u' }, conversation: { id: 'c' }, expired_at: 'soon' } },
    });

    expect(classified.success ? undefined : classified.error.issues[0]).toMatchObject({
      path: ['action', 'typing', 'expired_at'],
      message: 'Invalid input: expected number, received string',
    });
  });

  it("in the log line of a chat service's malformed status answer", () => {
    expect(parseStatusAnswer('{"status":"sent","extra":1}')).toEqual({
      outcome: 'malformed',
      reason: 'body: Unrecognized key: "extra"',
    });
  });

  it("in a dead letter's reason for a malformed queue message", () => {
    const parsed = kommoHookJobSchema.safeParse({
      scopeId: '',
      accountId: 'a',
      receivedAtMs: 1,
      signature: 's',
      rawBody: '',
      attempt: 1,
    });

    expect(parsed.error?.issues[0]?.message).toBe('Too small: expected string to have >=1 characters');
  });
});
