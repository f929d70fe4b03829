#!/usr/bin/env node
// Runs every compiled test file under dist/ with node:test. Node 20's --test does not expand
// globs, so the files are found here. Extra arguments filter by path substring:
//   node scripts/run-tests.mjs schema/version   -> only files whose path contains it
import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { spawnSync } from 'node:child_process';

const root = new URL('..', import.meta.url).pathname;
const dist = join(root, 'dist', 'test');
const files = [];
(function walk(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) walk(p);
    else if (entry.name.endsWith('.test.js')) files.push(p);
  }
})(dist);
const filters = process.argv.slice(2);
const chosen = files.filter((f) => filters.length === 0 || filters.some((s) => relative(root, f).includes(s))).sort();
if (chosen.length === 0) {
  console.error(
    `run-tests: no test files under ${dist} match ${filters.join(' ') || '(all)'}; run "npm run build" first`,
  );
  process.exit(2);
}
const concurrency = process.env.TEST_CONCURRENCY ?? '4';
// A test that hangs (even in a synchronous loop) is cancelled and fails the run instead of
// holding CI until its 90-minute limit; the slowest test takes well under a minute.
const timeoutMs = process.env.TEST_TIMEOUT_MS ?? '300000';
const result = spawnSync(
  process.execPath,
  ['--test', `--test-concurrency=${concurrency}`, `--test-timeout=${timeoutMs}`, '--test-reporter=spec', ...chosen],
  {
    stdio: 'inherit',
    // s3rver's paginated listings need the legacy OpenSSL provider on this Node.
    env: { ...process.env, NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --openssl-legacy-provider`.trim() },
  },
);
process.exit(result.status ?? 1);
