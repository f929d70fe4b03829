/**
 * Writes schema/*.schema.json from the TypeScript schemas (the source of truth), for editors
 * (the `# yaml-language-server: $schema=` line) and other tools. `npm run schemas` runs it;
 * test/schema/types.test.ts fails when the files are stale.
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { releaseSchema } from '../schema/release.schema.js';
import { policySchema } from '../schema/policy.schema.js';
import { manifestSchema } from '../schema/manifest.schema.js';

export const SCHEMA_FILES = {
  'release.schema.json': releaseSchema,
  'policy.schema.json': policySchema,
  'manifest.schema.json': manifestSchema,
} as const;

export function schemaFileText(schema: object): string {
  return `${JSON.stringify(schema, null, 2)}\n`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const dir = new URL('../../schema/', import.meta.url);
  for (const [name, schema] of Object.entries(SCHEMA_FILES)) {
    writeFileSync(new URL(name, dir), schemaFileText(schema));
    console.log(`wrote schema/${name}`);
  }
}
