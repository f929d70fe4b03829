/** --version on the three bins, as a user types it (real child processes). */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT, runBin } from '../support/cli.js';

const VERSION = (JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version;

describe('--version', () => {
  for (const [name, bin] of [
    ['mngd-release', 'pipeline/cli.js'],
    ['mngd-agent', 'agent/cli.js'],
    ['mngd-helper', 'helper/cli.js'],
  ] as const) {
    it(`${name} --version prints "${name} <version>" and exits 0`, async () => {
      for (const flag of ['--version', '-V']) {
        const r = await runBin([flag], { cwd: REPO_ROOT, bin: join(REPO_ROOT, 'dist', bin) });
        assert.deepEqual([r.code, r.stdout, r.stderr], [0, `${name} ${VERSION}\n`, '']);
      }
    });
  }
});
