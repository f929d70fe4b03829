/**
 * The single executables' scripts (scripts/package/bundle.ts): one CommonJS file per bin that
 * needs nothing beside it. Each is run here by node as the SEA runs it (CommonJS, from a folder
 * with no node_modules and no package.json); `npm run package` then injects it with postject.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { bundleBin, parseShebang, shebangFlags } from '../../scripts/package/bundle.js';
import { ROOT } from '../helper/harness.js';

const dir = mkdtempSync(join(tmpdir(), 'mngd-bundle-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('the single executables’ scripts', () => {
  it('take the node flags from the bin’s shebang line, and refuse a line that is not one', () => {
    assert.deepEqual(shebangFlags('#!/usr/bin/env -S node --max-semi-space-size=1 --expose-gc\nx'), [
      '--max-semi-space-size=1',
      '--expose-gc',
    ]);
    assert.deepEqual(
      shebangFlags('#!/usr/bin/env -S MALLOC_MMAP_THRESHOLD_=131072 node --max-semi-space-size=1 --expose-gc\n'),
      ['--max-semi-space-size=1', '--expose-gc'],
      "the C library's settings before node are not node flags",
    );
    assert.deepEqual(
      parseShebang('#!/usr/bin/env -S MALLOC_MMAP_THRESHOLD_=131072 A_B=x=y node --expose-gc\n').env,
      { MALLOC_MMAP_THRESHOLD_: '131072', A_B: 'x=y' },
      'the settings the benches give the agent as its bin runs',
    );
    assert.deepEqual(shebangFlags('#!/usr/bin/env node\n'), []);
    assert.throws(
      () => shebangFlags('#!/usr/bin/env FOO=1 node\n'),
      /is not a/,
      'an assignment needs -S on a shebang line',
    );
    assert.throws(
      () => shebangFlags('#!/bin/sh\n'),
      /"#!\/bin\/sh" is not a "#!\/usr\/bin\/env \[-S \[NAME=value…\]\] node/,
    );
  });

  for (const bin of ['mngd-agent', 'mngd-helper'] as const) {
    it(`${bin}: one CommonJS script that runs with nothing beside it`, async () => {
      const script = await bundleBin(ROOT, join(ROOT, 'dist'), bin);
      assert.ok(!script.startsWith('#!'), 'no hashbang line');
      assert.ok(!script.includes('package.json'), 'the version is embedded, not read from package.json');
      // The validators are compiled ahead of time: no schema compiler in the script.
      assert.ok(!script.includes('function compileSchema'), 'Ajv compiles schemas at run time');
      assert.match(script, /validateManifest/);
      // got's HTTP/2 stack is not loaded: no require of node's http2 (a third of a cold check's CPU).
      assert.doesNotMatch(script, /require\(["'](node:)?http2["']\)/);
      const file = join(dir, `${bin}.cjs`);
      writeFileSync(file, script);
      const r = spawnSync(process.execPath, [file, '--help'], { cwd: dir, env: { PATH: '/usr/bin:/bin' } });
      assert.equal(r.status, 0, r.stderr.toString());
      assert.match(r.stdout.toString(), new RegExp(`^${bin}: `));
      if (bin === 'mngd-agent') {
        // The agent's shebang flags apply before its code runs; the download worker is inside.
        assert.match(script.slice(0, 300), /--expose-gc.*setFlagsFromString.*runInNewContext\('gc'\)/s);
        assert.match(script, /DOWNLOAD_WORKER\s*=\s*\{\s*code:/);
      }
    });
  }
});
