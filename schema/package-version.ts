/**
 * This package's version, which `--version` prints on the three bins (dist/schema/ -> the
 * package root). A single executable carries it as a constant instead: the packager replaces
 * this module whole (scripts/package/bundle.ts), as it does agent/embedded.ts.
 */
import { readFileSync } from 'node:fs';

export const PACKAGE_VERSION: string = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;
