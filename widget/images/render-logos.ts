import chromium from '@sparticuz/chromium';
import { writeFileSync } from 'node:fs';
import { chromium as playwright } from 'playwright-core';
import { KOMMO_LOGOS, MAX_LOGO_BYTES, pngSize } from '../pack';

/**
 * Draws the widget's logos at Kommo's exact sizes with headless Chromium and writes them next to this
 * file: `npx tsx widget/images/render-logos.ts`. The design is one SVG: a chat bubble with a green
 * "online" dot on the project's blue, with the name where the logo is wide enough.
 */

const BLUE = '#1f5fbf';
const GREEN = '#34c759';

/** The mark alone: a speech bubble with the presence dot, in a `size`×`size` box. */
function mark(size: number): string {
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${size}" height="${size}" viewBox="0 0 100 100">
    <rect x="0" y="0" width="100" height="100" rx="22" fill="${BLUE}"/>
    <path d="M24 28 h44 a10 10 0 0 1 10 10 v22 a10 10 0 0 1 -10 10 h-24 l-14 12 v-12 h-6 a10 10 0 0 1 -10 -10 v-22 a10 10 0 0 1 10 -10 z" fill="#ffffff"/>
    <circle cx="36" cy="49" r="4.5" fill="${BLUE}"/><circle cx="50" cy="49" r="4.5" fill="${BLUE}"/><circle cx="64" cy="49" r="4.5" fill="${BLUE}"/>
    <circle cx="76" cy="26" r="12" fill="${GREEN}" stroke="${BLUE}" stroke-width="5"/>
  </svg>`;
}

/** Wide logos get the name beside the mark, the catalog logo (`logo_main`) below it; the small ones are the mark alone. */
function page(width: number, height: number): string {
  const ratio = width / height;
  const font = `font-family:'Helvetica Neue',Arial,sans-serif;font-weight:700;white-space:nowrap;color:${BLUE}`;
  let body: string;
  if (ratio >= 2.5) {
    body = `${mark(Math.round(height * 0.76))}<div style="${font};margin-left:${Math.round(height * 0.14)}px;font-size:${Math.round(height * 0.25)}px;line-height:1.1">Kommo<br>Live Bridge</div>`;
  } else if (width >= 300) {
    body = `<div style="display:flex;flex-direction:column;align-items:center">${mark(Math.round(height * 0.56))}<div style="${font};margin-top:${Math.round(height * 0.06)}px;font-size:${Math.round(height * 0.12)}px">Kommo Live Bridge</div></div>`;
  } else {
    body = mark(Math.round(Math.min(width, height) * 0.9));
  }
  return `<!doctype html><html><head><meta charset="utf-8"><style>
      html, body { margin: 0; width: ${width}px; height: ${height}px; overflow: hidden; background: #ffffff; }
      body { display: flex; align-items: center; justify-content: center; }
    </style></head><body>${body}</body></html>`;
}

async function main(): Promise<void> {
  const browser = await playwright.launch({
    executablePath: await chromium.executablePath(),
    args: chromium.args,
    headless: true,
  });
  try {
    const context = await browser.newContext({ deviceScaleFactor: 1 });
    const tab = await context.newPage();
    for (const [name, [width, height]] of Object.entries(KOMMO_LOGOS)) {
      await tab.setViewportSize({ width, height });
      await tab.setContent(page(width, height));
      const png = await tab.screenshot({ type: 'png', clip: { x: 0, y: 0, width, height } });
      const size = pngSize(png);
      if (!size || size.width !== width || size.height !== height)
        throw new Error(`${name}: Chromium drew ${size?.width}×${size?.height}, not ${width}×${height}`);
      if (png.length > MAX_LOGO_BYTES) throw new Error(`${name}: ${png.length} bytes is over Kommo's 300 KB`);
      writeFileSync(new URL(`./${name}.png`, import.meta.url), png);
      process.stdout.write(`${name}.png ${width}×${height} ${png.length} bytes\n`);
    }
  } finally {
    await browser.close();
  }
}

await main();
