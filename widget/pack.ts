import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, createWriteStream } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { ZipFile } from 'yazl';

/**
 * `npm run widget:zip`: builds `widget.zip`, the archive uploaded to the integration in Kommo
 * (manifest.json at the root, script.js, one i18n file per declared locale, the PNG logos). It
 * refuses to build anything Kommo would refuse or that would not work in an account: a logo that is
 * missing, not a PNG, of the wrong size or over 300 KB; a declared locale without its file; text
 * files that are not UTF-8 without BOM; a script.js that is not ES5 (Kommo loads it as it is); a
 * support link or e-mail left empty or pointing at a placeholder domain.
 */

/** Kommo's logo files and their exact sizes in pixels (developers.kommo.com/docs/images). */
export const KOMMO_LOGOS: Readonly<Record<string, readonly [width: number, height: number]>> = {
  logo_main: [400, 272],
  logo_small: [108, 108],
  logo: [130, 100],
  logo_medium: [240, 84],
  logo_min: [84, 84],
};

/** Kommo refuses image files over 300 KB. */
export const MAX_LOGO_BYTES = 300 * 1024;

export class WidgetPackError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`widget.zip not built:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
    this.name = 'WidgetPackError';
  }
}

export interface SupportContacts {
  /** Where an account's users get help: an https URL. */
  link?: string;
  email?: string;
}

export interface PackWidgetOptions {
  /** The widget's source folder (manifest.json, script.js, i18n/, images/). */
  widgetDir: string;
  outFile: string;
  /** Filled into manifest.json's `widget.support`; values already in the manifest are used when absent. */
  support?: SupportContacts;
}

export interface PackedEntry {
  name: string;
  bytes: number;
}

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** Width and height from a PNG's IHDR chunk (always the first chunk, right after the signature), or undefined when it is not a PNG. */
export function pngSize(file: Buffer): { width: number; height: number } | undefined {
  if (file.length < 24 || !file.subarray(0, 8).equals(PNG_SIGNATURE) || file.toString('latin1', 12, 16) !== 'IHDR')
    return undefined;
  return { width: file.readUInt32BE(16), height: file.readUInt32BE(20) };
}

/** Domains reserved for examples and tests (RFC 2606, RFC 6761): a support address there reaches nobody. */
const PLACEHOLDER_DOMAIN = /(^|\.)(example\.(com|net|org)|example|test|invalid|localhost)$/i;

function supportProblems(support: SupportContacts): string[] {
  const problems: string[] = [];
  const link = support.link?.trim() ?? '';
  let linkUrl: URL | undefined;
  try {
    linkUrl = new URL(link);
  } catch {
    linkUrl = undefined;
  }
  if (!link) problems.push('the support link is empty: pass --support-link https://… (or set WIDGET_SUPPORT_LINK)');
  else if (linkUrl?.protocol !== 'https:') problems.push(`the support link "${link}" is not an https URL`);
  else if (PLACEHOLDER_DOMAIN.test(linkUrl.hostname))
    problems.push(`the support link "${link}" is a placeholder: give your own support page`);
  const email = support.email?.trim() ?? '';
  const domain = /^[^\s@]+@([^\s@]+\.[^\s@]+)$/.exec(email)?.[1];
  if (!email)
    problems.push('the support e-mail is empty: pass --support-email you@your-domain (or set WIDGET_SUPPORT_EMAIL)');
  else if (!domain) problems.push(`the support e-mail "${email}" is not an e-mail address`);
  else if (PLACEHOLDER_DOMAIN.test(domain))
    problems.push(`the support e-mail "${email}" is a placeholder: give your own address`);
  return problems;
}

/** A text file as Kommo reads it: UTF-8 without BOM. Returns the text, or a problem. */
function readText(path: string, name: string): { text: string } | { problem: string } {
  if (!existsSync(path)) return { problem: `${name} is missing` };
  const bytes = readFileSync(path);
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf)
    return { problem: `${name} starts with a byte order mark: save it as UTF-8 without BOM` };
  try {
    return { text: new TextDecoder('utf-8', { fatal: true }).decode(bytes) };
  } catch {
    return { problem: `${name} is not valid UTF-8` };
  }
}

// biome-ignore lint/suspicious/noExplicitAny: the manifest and locale files are checked field by field below, as Kommo reads them
function readJson(path: string, name: string): { json: any } | { problem: string } {
  const read = readText(path, name);
  if ('problem' in read) return read;
  try {
    return { json: JSON.parse(read.text) };
  } catch (error) {
    return { problem: `${name} is not valid JSON (${error instanceof Error ? error.message : String(error)})` };
  }
}

/** The value at a dotted i18n key (`widget.name`), as Kommo looks manifest names up in the locale files. */
function lookUp(json: unknown, key: string): unknown {
  return key
    .split('.')
    .reduce<unknown>(
      (value, part) => (value && typeof value === 'object' ? (value as Record<string, unknown>)[part] : undefined),
      json,
    );
}

/**
 * Syntax newer than ES5 in a script, as `line:column what` lines. Kommo serves script.js to every
 * browser as it is (no build step of its own), so the widget keeps to ES5 syntax.
 */
export function es5SyntaxProblems(source: string, fileName = 'script.js'): string[] {
  const file = ts.createSourceFile(fileName, source, ts.ScriptTarget.Latest, true, ts.ScriptKind.JS);
  const problems: string[] = [];
  const report = (node: ts.Node, what: string) => {
    const { line, character } = file.getLineAndCharacterOfPosition(node.getStart(file));
    problems.push(`${fileName}:${line + 1}:${character + 1} ${what}`);
  };
  const parseErrors = (file as unknown as { parseDiagnostics?: ts.Diagnostic[] }).parseDiagnostics ?? [];
  for (const diagnostic of parseErrors)
    problems.push(`${fileName}: ${ts.flattenDiagnosticMessageText(diagnostic.messageText, ' ')}`);
  const visit = (node: ts.Node): void => {
    switch (node.kind) {
      case ts.SyntaxKind.ArrowFunction:
        report(node, 'arrow function');
        break;
      case ts.SyntaxKind.TemplateExpression:
      case ts.SyntaxKind.NoSubstitutionTemplateLiteral:
        report(node, 'template literal');
        break;
      case ts.SyntaxKind.ClassDeclaration:
      case ts.SyntaxKind.ClassExpression:
        report(node, 'class');
        break;
      case ts.SyntaxKind.SpreadElement:
      case ts.SyntaxKind.SpreadAssignment:
        report(node, 'spread');
        break;
      case ts.SyntaxKind.ShorthandPropertyAssignment:
        report(node, 'shorthand property');
        break;
      case ts.SyntaxKind.ComputedPropertyName:
        report(node, 'computed property name');
        break;
      case ts.SyntaxKind.ForOfStatement:
        report(node, 'for…of');
        break;
      case ts.SyntaxKind.ObjectBindingPattern:
      case ts.SyntaxKind.ArrayBindingPattern:
        report(node, 'destructuring');
        break;
      case ts.SyntaxKind.AwaitExpression:
      case ts.SyntaxKind.YieldExpression:
        report(node, 'await/yield');
        break;
      case ts.SyntaxKind.ImportDeclaration:
      case ts.SyntaxKind.ExportDeclaration:
      case ts.SyntaxKind.ExportAssignment:
        report(node, 'module syntax');
        break;
      case ts.SyntaxKind.MethodDeclaration:
        report(node, 'method shorthand');
        break;
      case ts.SyntaxKind.NumericLiteral:
        if (/^0[bo]|_/i.test(node.getText(file))) report(node, 'binary, octal or separated number');
        break;
      case ts.SyntaxKind.RegularExpressionLiteral:
        if (/\/[a-z]*[uysd][a-z]*$/.test(node.getText(file))) report(node, 'regular expression flag newer than ES5');
        break;
      case ts.SyntaxKind.VariableDeclarationList:
        if ((node as ts.VariableDeclarationList).flags & (ts.NodeFlags.Let | ts.NodeFlags.Const))
          report(node, 'let/const');
        break;
      case ts.SyntaxKind.BinaryExpression: {
        const operator = (node as ts.BinaryExpression).operatorToken.kind;
        if (operator === ts.SyntaxKind.AsteriskAsteriskToken || operator === ts.SyntaxKind.AsteriskAsteriskEqualsToken)
          report(node, 'exponent operator');
        if (operator === ts.SyntaxKind.QuestionQuestionToken || operator === ts.SyntaxKind.QuestionQuestionEqualsToken)
          report(node, 'nullish coalescing');
        if (operator === ts.SyntaxKind.BarBarEqualsToken || operator === ts.SyntaxKind.AmpersandAmpersandEqualsToken)
          report(node, 'logical assignment');
        break;
      }
      default:
        break;
    }
    if (
      (ts.isPropertyAccessExpression(node) || ts.isElementAccessExpression(node) || ts.isCallExpression(node)) &&
      node.questionDotToken
    )
      report(node, 'optional chaining');
    if (ts.isFunctionLike(node)) {
      const fn = node as ts.SignatureDeclaration & {
        asteriskToken?: ts.Node;
        modifiers?: ts.NodeArray<ts.ModifierLike>;
      };
      if (fn.asteriskToken) report(node, 'generator');
      if (fn.modifiers?.some((modifier) => modifier.kind === ts.SyntaxKind.AsyncKeyword))
        report(node, 'async function');
      if (fn.parameters.hasTrailingComma) report(node, 'trailing comma in parameters');
      for (const parameter of fn.parameters) {
        if (parameter.initializer) report(parameter, 'default parameter');
        if (parameter.dotDotDotToken) report(parameter, 'rest parameter');
      }
    }
    if ((ts.isCallExpression(node) || ts.isNewExpression(node)) && node.arguments?.hasTrailingComma)
      report(node, 'trailing comma in arguments');
    ts.forEachChild(node, visit);
  };
  visit(file);
  return problems;
}

/** Builds the archive, or throws a WidgetPackError listing every problem found. */
export async function packWidget(options: PackWidgetOptions): Promise<PackedEntry[]> {
  const { widgetDir } = options;
  const problems: string[] = [];
  const entries: { name: string; data: Buffer }[] = [];

  const manifestRead = readJson(join(widgetDir, 'manifest.json'), 'manifest.json');
  if ('problem' in manifestRead) throw new WidgetPackError([manifestRead.problem]);
  const manifest = manifestRead.json;
  const widget = manifest?.widget;
  if (!widget || typeof widget !== 'object') throw new WidgetPackError(['manifest.json has no "widget" object']);

  const support = {
    link: options.support?.link ?? widget.support?.link,
    email: options.support?.email ?? widget.support?.email,
  };
  problems.push(...supportProblems(support));
  widget.support = { ...widget.support, link: support.link?.trim(), email: support.email?.trim() };

  const locales: unknown = widget.locale;
  const namesToTranslate = [
    widget.name,
    widget.description,
    widget.short_description,
    // biome-ignore lint/suspicious/noExplicitAny: a setting's shape is checked where it is used; here only its name matters
    ...Object.values(manifest.settings ?? {}).map((setting: any) => setting?.name),
  ].filter((name): name is string => typeof name === 'string');
  if (
    !Array.isArray(locales) ||
    locales.length === 0 ||
    !locales.every((locale) => typeof locale === 'string' && /^[a-z]{2}$/.test(locale))
  ) {
    problems.push('manifest.json: widget.locale must list two-letter locales, e.g. ["en"]');
  } else {
    for (const locale of locales as string[]) {
      const name = `i18n/${locale}.json`;
      const read = readJson(join(widgetDir, name), name);
      if ('problem' in read) {
        problems.push(
          read.problem.endsWith('is missing')
            ? `${read.problem} (locale "${locale}" is declared in manifest.json)`
            : read.problem,
        );
        continue;
      }
      const missing = namesToTranslate.filter((key) => typeof lookUp(read.json, key) !== 'string');
      if (missing.length > 0) problems.push(`${name} has no text for ${missing.join(', ')}`);
      entries.push({ name, data: readFileSync(join(widgetDir, name)) });
    }
  }

  // Nothing beside what Kommo's widget structure lists: a locale file the manifest does not declare,
  // or an image that is not one of its logos, would be an archive Kommo may refuse or ignore.
  const declared = Array.isArray(locales) ? (locales as unknown[]) : [];
  for (const file of existsSync(join(widgetDir, 'i18n')) ? readdirSync(join(widgetDir, 'i18n')) : []) {
    const locale = file.endsWith('.json') ? file.slice(0, -'.json'.length) : undefined;
    if (locale === undefined || !declared.includes(locale))
      problems.push(`i18n/${file} is not a locale manifest.json declares (widget.locale); remove it or declare it`);
  }
  for (const file of existsSync(join(widgetDir, 'images')) ? readdirSync(join(widgetDir, 'images')) : []) {
    if (file.endsWith('.png') && !(file.slice(0, -'.png'.length) in KOMMO_LOGOS))
      problems.push(`images/${file} is not one of Kommo's logo files (${Object.keys(KOMMO_LOGOS).join(', ')})`);
  }

  const script = readText(join(widgetDir, 'script.js'), 'script.js');
  if ('problem' in script) problems.push(script.problem);
  else {
    problems.push(
      ...es5SyntaxProblems(script.text).map(
        (problem) => `${problem} (Kommo loads script.js as it is: ES5 syntax only)`,
      ),
    );
    entries.push({ name: 'script.js', data: Buffer.from(script.text, 'utf8') });
  }

  for (const [logo, [width, height]] of Object.entries(KOMMO_LOGOS)) {
    const name = `images/${logo}.png`;
    const path = join(widgetDir, name);
    if (!existsSync(path)) {
      problems.push(`${name} is missing (PNG, ${width}×${height}; widget/images/render-logos.ts draws them)`);
      continue;
    }
    const data = readFileSync(path);
    const size = pngSize(data);
    if (!size) problems.push(`${name} is not a PNG file`);
    else if (size.width !== width || size.height !== height)
      problems.push(`${name} is ${size.width}×${size.height}; Kommo needs exactly ${width}×${height}`);
    if (data.length > MAX_LOGO_BYTES)
      problems.push(`${name} is ${Math.ceil(data.length / 1024)} KB; Kommo accepts at most 300 KB`);
    entries.push({ name, data });
  }

  if (problems.length > 0) throw new WidgetPackError(problems);

  entries.unshift({ name: 'manifest.json', data: Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`, 'utf8') });
  mkdirSync(dirname(options.outFile), { recursive: true });
  const zip = new ZipFile();
  // A fixed date: the same sources give the same archive.
  const mtime = new Date('2026-01-01T00:00:00Z');
  for (const folder of ['i18n/', 'images/']) zip.addEmptyDirectory(folder, { mtime });
  for (const entry of entries) zip.addBuffer(entry.data, entry.name, { mtime, mode: 0o644 });
  zip.end();
  await new Promise<void>((done, fail) => {
    const out = createWriteStream(options.outFile);
    out.on('close', () => done());
    out.on('error', fail);
    zip.outputStream.on('error', fail).pipe(out);
  });
  return entries.map((entry) => ({ name: entry.name, bytes: entry.data.length }));
}

function argument(argv: string[], name: string): string | undefined {
  const index = argv.indexOf(name);
  if (index >= 0) return argv[index + 1];
  return argv.find((arg) => arg.startsWith(`${name}=`))?.slice(name.length + 1);
}

async function main(argv: string[]): Promise<void> {
  const here = dirname(fileURLToPath(import.meta.url));
  const widgetDir = resolve(argument(argv, '--widget-dir') ?? here);
  const outFile = resolve(argument(argv, '--out') ?? join(here, '..', 'widget.zip'));
  const support = {
    link: argument(argv, '--support-link') ?? process.env.WIDGET_SUPPORT_LINK,
    email: argument(argv, '--support-email') ?? process.env.WIDGET_SUPPORT_EMAIL,
  };
  try {
    const entries = await packWidget({ widgetDir, outFile, support });
    process.stdout.write(
      `${outFile} (${Math.ceil(statSync(outFile).size / 1024)} KB):\n${entries.map((entry) => `  ${entry.name}  ${entry.bytes} bytes`).join('\n')}\n`,
    );
  } catch (error) {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await main(process.argv.slice(2));
