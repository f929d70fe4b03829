import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from './support/cli.js';
import { shebangFlags } from '../scripts/package/bundle.js';

describe('the package bins', () => {
  const { bin } = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { bin: Record<string, string> };

  for (const [name, path] of Object.entries(bin)) {
    it(`${name} is executable after a build, with a node shebang (npx runs it directly)`, () => {
      assert.ok((statSync(join(REPO_ROOT, path)).mode & 0o111) !== 0, `${path} is not executable`);
      // The one reading of a bin's shebang (`#!/usr/bin/env [-S [NAME=value…]] node [--flag…]`).
      assert.doesNotThrow(() => shebangFlags(readFileSync(join(REPO_ROOT, path), 'utf8')));
    });
  }
});
