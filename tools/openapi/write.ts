import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { openApiDocument } from './document';

/** docs/openapi.json; test/unit/openapi.test.ts checks it is current. */
export const OPENAPI_FILE = new URL('../../docs/openapi.json', import.meta.url);

/** `npm run openapi`: writes the document, formatted by Biome like every other JSON file of the repo. */
function main(): void {
  const file = fileURLToPath(OPENAPI_FILE);
  writeFileSync(file, `${JSON.stringify(openApiDocument(), null, 2)}\n`);
  execFileSync('npx', ['biome', 'format', '--write', file], { stdio: 'ignore' });
  process.stdout.write('docs/openapi.json written\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) main();
