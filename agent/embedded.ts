/**
 * What the agent reads from beside its code when it runs from dist/, and what the single
 * executable (`npm run package`, scripts/package/bundle.ts) carries inside itself instead: this
 * package's version and the download worker's code. The packager replaces this module whole with
 * the same two exports as constants; nothing else differs between the two ways of running.
 */
import { readFileSync } from 'node:fs';

/** This package's version (dist/agent/ -> the package root), for the User-Agent. */
export const PACKAGE_VERSION: string = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

/** The download worker (agent/package-file.worker.ts): its module file, or its code (a single executable). */
export const DOWNLOAD_WORKER: URL | { code: string } = new URL('./package-file.worker.js', import.meta.url);
