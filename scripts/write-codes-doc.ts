/**
 * Writes docs/codes.md from the registry of codes (schema/codes/). `npm run codes` runs it;
 * test/schema/codes.test.ts fails when the file is stale.
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { codesMarkdown } from '../schema/codes/markdown.js';

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  writeFileSync(new URL('../../docs/codes.md', import.meta.url), codesMarkdown());
  console.log('wrote docs/codes.md');
}
