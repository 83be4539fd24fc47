import { execFile } from 'node:child_process';
import { copyFileSync, cpSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { es5SyntaxProblems, KOMMO_LOGOS, packWidget, pngSize, WidgetPackError } from '../../widget/pack';
import { zipEntries } from '../support/zip-entries';

const widgetSource = fileURLToPath(new URL('../../widget/', import.meta.url));
const support = { link: 'https://support.acme-chat.io/kommo', email: 'kommo@acme-chat.io' };
const folders: string[] = [];

/** Given: a copy of the repository's widget folder, to break one thing at a time. */
function givenWidgetCopy(): { dir: string; out: string } {
  const root = mkdtempSync(join(tmpdir(), 'widget-pack-'));
  folders.push(root);
  const dir = join(root, 'widget');
  cpSync(widgetSource, dir, { recursive: true });
  return { dir, out: join(root, 'widget.zip') };
}

async function refusal(options: Parameters<typeof packWidget>[0]): Promise<string[]> {
  const error = await packWidget(options).then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(WidgetPackError);
  return [...(error as WidgetPackError).problems];
}

afterEach(() => {
  for (const folder of folders.splice(0)) rmSync(folder, { recursive: true, force: true });
});

describe('npm run widget:zip', () => {
  it('builds an archive Kommo accepts: manifest.json at the root, script.js, every declared locale, the five logos at their sizes', async () => {
    const { dir, out } = givenWidgetCopy();
    const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));

    await packWidget({ widgetDir: dir, outFile: out, support });

    const entries = zipEntries(readFileSync(out));
    const files = entries.filter((entry) => !entry.name.endsWith('/'));
    expect(files.map((entry) => entry.name).sort()).toEqual(
      [
        'manifest.json',
        'script.js',
        ...manifest.widget.locale.map((locale: string) => `i18n/${locale}.json`),
        ...Object.keys(KOMMO_LOGOS).map((logo) => `images/${logo}.png`),
      ].sort(),
    );
    const packedManifest = JSON.parse(files.find((entry) => entry.name === 'manifest.json')!.data.toString('utf8'));
    expect(packedManifest.widget.support).toEqual(support);
    expect(packedManifest.widget.init_once).toBe(true);
    expect(packedManifest.locations).toEqual(expect.arrayContaining(['lcard-1', 'ccard-1', 'everywhere']));
    for (const [logo, [width, height]] of Object.entries(KOMMO_LOGOS)) {
      const png = files.find((entry) => entry.name === `images/${logo}.png`)!.data;
      expect(pngSize(png), logo).toEqual({ width, height });
      expect(png.length).toBeLessThanOrEqual(300 * 1024);
    }
    for (const text of files.filter((entry) => /\.(json|js)$/.test(entry.name))) {
      expect(text.data.subarray(0, 3).equals(Buffer.from([0xef, 0xbb, 0xbf])), `${text.name} has a BOM`).toBe(false);
      expect(() => new TextDecoder('utf-8', { fatal: true }).decode(text.data)).not.toThrow();
    }
    expect(
      files.find((entry) => entry.name === 'script.js')!.data.equals(readFileSync(join(widgetSource, 'script.js'))),
    ).toBe(true);
  });

  it('the same sources give the same archive, byte for byte', async () => {
    const { dir, out } = givenWidgetCopy();
    await packWidget({ widgetDir: dir, outFile: out, support });
    const first = readFileSync(out);
    await packWidget({ widgetDir: dir, outFile: out, support });
    expect(readFileSync(out).equals(first)).toBe(true);
  });

  it.each([
    [
      'a logo is missing',
      (dir: string) => unlinkSync(join(dir, 'images/logo_medium.png')),
      /images\/logo_medium\.png is missing/,
    ],
    [
      'a logo has the wrong size',
      (dir: string) => copyFileSync(join(dir, 'images/logo_min.png'), join(dir, 'images/logo_small.png')),
      /images\/logo_small\.png is 84×84; Kommo needs exactly 108×108/,
    ],
    [
      'a logo is not a PNG',
      (dir: string) => writeFileSync(join(dir, 'images/logo.png'), 'GIF89a not a png'),
      /images\/logo\.png is not a PNG file/,
    ],
    [
      'a logo is over 300 KB',
      (dir: string) =>
        writeFileSync(
          join(dir, 'images/logo_main.png'),
          Buffer.concat([readFileSync(join(dir, 'images/logo_main.png')), Buffer.alloc(301 * 1024)]),
        ),
      /images\/logo_main\.png is \d+ KB; Kommo accepts at most 300 KB/,
    ],
    [
      'a declared locale has no file',
      (dir: string) => unlinkSync(join(dir, 'i18n/es.json')),
      /i18n\/es\.json is missing \(locale "es" is declared in manifest\.json\)/,
    ],
    [
      'a locale file lacks a text the manifest names',
      (dir: string) =>
        writeFileSync(
          join(dir, 'i18n/pt.json'),
          JSON.stringify({ widget: { name: 'x', description: 'y', short_description: 'z' } }),
        ),
      /i18n\/pt\.json has no text for settings\.bridge_url/,
    ],
    [
      'an i18n file for a locale the manifest does not declare',
      (dir: string) => writeFileSync(join(dir, 'i18n/de.json'), readFileSync(join(dir, 'i18n/en.json'))),
      /i18n\/de\.json is not a locale manifest\.json declares/,
    ],
    [
      "an image that is not one of Kommo's logos",
      (dir: string) => writeFileSync(join(dir, 'images/logo_big.png'), readFileSync(join(dir, 'images/logo.png'))),
      /images\/logo_big\.png is not one of Kommo's logo files/,
    ],
    [
      'a text file has a BOM',
      (dir: string) =>
        writeFileSync(
          join(dir, 'i18n/en.json'),
          Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), readFileSync(join(dir, 'i18n/en.json'))]),
        ),
      /i18n\/en\.json starts with a byte order mark/,
    ],
    [
      'script.js uses syntax newer than ES5',
      (dir: string) => writeFileSync(join(dir, 'script.js'), "define(['jquery'], ($) => { const x = 1; return x; });"),
      /script\.js:1:20 arrow function/,
    ],
  ])('refuses to build when %s', async (_case, breakIt, expected) => {
    const { dir, out } = givenWidgetCopy();
    breakIt(dir);

    const problems = await refusal({ widgetDir: dir, outFile: out, support });

    expect(problems.join('\n')).toMatch(expected);
    expect(() => readFileSync(out)).toThrow(/ENOENT/);
  });

  it.each([
    [{}, [/support link is empty/, /support e-mail is empty/]],
    [
      { link: 'https://example.com/help', email: 'support@example.com' },
      [
        /support link "https:\/\/example\.com\/help" is a placeholder/,
        /support e-mail "support@example\.com" is a placeholder/,
      ],
    ],
    [
      { link: 'http://acme-chat.io/help', email: 'not-an-address' },
      [/is not an https URL/, /is not an e-mail address/],
    ],
  ])('refuses support contacts %j', async (contacts, expected) => {
    const { dir, out } = givenWidgetCopy();

    const problems = (await refusal({ widgetDir: dir, outFile: out, support: contacts })).join('\n');

    for (const pattern of expected) expect(problems).toMatch(pattern);
  });

  it('the command exits non-zero and says why, and builds nothing', async () => {
    const { dir, out } = givenWidgetCopy();
    unlinkSync(join(dir, 'images/logo_min.png'));
    const tsx = fileURLToPath(new URL('../../node_modules/.bin/tsx', import.meta.url));

    const result = await promisify(execFile)(tsx, [join(widgetSource, 'pack.ts'), '--widget-dir', dir, '--out', out], {
      env: { ...process.env, WIDGET_SUPPORT_LINK: support.link, WIDGET_SUPPORT_EMAIL: support.email },
    }).then(
      () => ({ code: 0, stderr: '' }),
      (error: { code: number; stderr: string }) => error,
    );

    expect(result.code).toBe(1);
    expect(result.stderr).toContain('widget.zip not built');
    expect(result.stderr).toContain('images/logo_min.png is missing');
    expect(() => readFileSync(out)).toThrow(/ENOENT/);
  });
});

describe('the widget script', () => {
  it('is ES5, as Kommo loads it unbuilt', () => {
    expect(es5SyntaxProblems(readFileSync(join(widgetSource, 'script.js'), 'utf8'))).toEqual([]);
  });

  it('the ES5 check catches what older browsers cannot parse', () => {
    const problems = es5SyntaxProblems(
      // biome-ignore lint/suspicious/noTemplateCurlyInString: the source under test holds a template literal on purpose
      'let a = 1; var f = function (x,) { return `${x}` }; g(1,); var o = { a }; var b = a?.c ?? 2;',
    );

    expect(problems.map((problem) => problem.replace(/^script\.js:\d+:\d+ /, ''))).toEqual(
      expect.arrayContaining([
        'let/const',
        'trailing comma in parameters',
        'template literal',
        'trailing comma in arguments',
        'shorthand property',
        'optional chaining',
        'nullish coalescing',
      ]),
    );
  });
});
