import { createHash } from 'node:crypto';
import type { ApiResult } from './api';

/**
 * Small HTML pages for people, not programs: what a Kommo admin sees after Kommo redirects their
 * browser to the install URL. Self-contained (one inline style, allowed by its hash), so the CSP
 * allows nothing else: no script, image, font, frame, form or base URL.
 */

/** Markup whose interpolated values were escaped: build it only with `html` below. */
export class Html {
  constructor(readonly markup: string) {}
}

const ENTITIES: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (character) => ENTITIES[character] ?? character);
}

/** A template whose values are text (escaped) or `Html` (kept), so no value from a request can become markup. */
export function html(strings: TemplateStringsArray, ...values: readonly (string | number | Html)[]): Html {
  let markup = strings[0] ?? '';
  values.forEach((value, index) => {
    markup += (value instanceof Html ? value.markup : escapeHtml(String(value))) + (strings[index + 1] ?? '');
  });
  return new Html(markup);
}

const STYLE =
  'body{font:16px/1.5 system-ui,sans-serif;max-width:38rem;margin:3rem auto;padding:0 1rem;color:#1f2328}h1{font-size:1.4rem}code{word-break:break-all}';

/** Nothing loads but the page's own style; the page cannot be framed (clickjacking) and sends no Referer (its URL may carry a code). */
export const HTML_PAGE_CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  `style-src 'sha256-${createHash('sha256').update(STYLE).digest('base64')}'`,
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** The headers of every page; also given to a page replayed from storage. */
export const HTML_PAGE_HEADERS: Readonly<Record<string, string>> = {
  'content-type': 'text/html; charset=utf-8',
  'cache-control': 'no-store',
  'content-security-policy': HTML_PAGE_CONTENT_SECURITY_POLICY,
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
};

export interface Page {
  /** The heading, and the document's title. */
  title: string;
  paragraphs: readonly Html[];
}

export function htmlPage(statusCode: number, page: Page): ApiResult {
  const body = html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${page.title} · Kommo Live Bridge</title>
<style>${new Html(STYLE)}</style>
</head>
<body>
<h1>${page.title}</h1>
${new Html(page.paragraphs.map((paragraph) => `<p>${paragraph.markup}</p>`).join('\n'))}
</body>
</html>
`;
  return { statusCode, headers: { ...HTML_PAGE_HEADERS }, body: body.markup };
}
