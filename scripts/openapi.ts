/**
 * Writes docs/openapi.json from the REST contract (shared/rest). `npm run openapi` after changing a route;
 * test/unit/openapi.test.ts fails while the checked-in file differs.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { openApiDocument } from '../shared/rest/openapi.js';

export const OPENAPI_FILE = path.join(
  path.dirname(fileURLToPath(import.meta.url)),
  '..',
  'docs',
  'openapi.json',
);

/** The file's exact text: two-space JSON and a final newline. */
export function openApiText(): string {
  return `${JSON.stringify(openApiDocument(), null, 2)}\n`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  writeFileSync(OPENAPI_FILE, openApiText());
  process.stdout.write(`wrote ${path.relative(process.cwd(), OPENAPI_FILE)}\n`);
}
