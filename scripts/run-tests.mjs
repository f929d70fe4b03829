#!/usr/bin/env node
// Runs every compiled test file under dist/ with node:test. Node 20's --test does not expand
// globs, so the files are found here. Extra arguments filter by path substring:
//   node scripts/run-tests.mjs schema/version   -> only files whose path contains it
import { readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
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
const nodeArgs = [
  '--test',
  `--test-concurrency=${concurrency}`,
  `--test-timeout=${timeoutMs}`,
  '--test-reporter=spec',
  ...chosen,
];
// Full runs on one machine take turns (flock on a lock file in the temporary folder): two at once
// on a 2-CPU machine each take four times as long and push slow tests past their time-outs.
// MNGD_TEST_NO_LOCK=1 runs at once; filtered runs never wait.
const lock = join(tmpdir(), 'mngd-agent-releases-full-suite.lock');
const useLock =
  filters.length === 0 && process.env.MNGD_TEST_NO_LOCK !== '1' && spawnSync('flock', ['--version']).status === 0;
if (useLock && spawnSync('flock', ['-n', lock, 'true']).status !== 0)
  console.error(`run-tests: another full run holds ${lock}; waiting for it (MNGD_TEST_NO_LOCK=1 runs at once)`);
const [command, args] = useLock ? ['flock', [lock, process.execPath, ...nodeArgs]] : [process.execPath, nodeArgs];
const result = spawnSync(command, args, {
  stdio: 'inherit',
  // s3rver's paginated listings need the legacy OpenSSL provider on this Node.
  env: { ...process.env, NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --openssl-legacy-provider`.trim() },
});
process.exit(result.status ?? 1);
