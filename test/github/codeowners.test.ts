/**
 * Review rules (issue 20, hole 7): a change to what the fleet trusts (releases/policy.yaml), to the
 * workflows that hold the signing key, or to the code that runs beside it or as root on every Mac
 * needs a code owner's review. Each path below is matched by the last CODEOWNERS rule that
 * matches it (GitHub's rule), and that rule names an owner.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { repoRoot } from './workflows.js';

interface Rule {
  pattern: string;
  owners: string[];
}

function rules(text: string): Rule[] {
  return text
    .split('\n')
    .map((l) => l.replace(/#.*/, '').trim())
    .filter((l) => l !== '')
    .map((l) => {
      const [pattern, ...owners] = l.split(/\s+/);
      return { pattern: pattern!, owners };
    });
}

/** The subset of CODEOWNERS patterns this file uses: "/path" (anchored), "/dir/" (everything below). */
function matches(pattern: string, path: string): boolean {
  assert.ok(pattern.startsWith('/'), `CODEOWNERS pattern ${pattern}: anchor it with a leading /`);
  const p = pattern.slice(1);
  return p.endsWith('/') ? path.startsWith(p) : path === p;
}

const MUST_BE_OWNED = [
  'releases/policy.yaml',
  '.github/workflows/release-publish.yml',
  '.github/workflows/release-refresh.yml',
  '.github/workflows/release-halt.yml',
  '.github/workflows/release-pr.yml',
  '.github/CODEOWNERS',
  'pipeline/manifests/publish.ts',
  'pipeline/cli.ts',
  'schema/signing.ts',
  'schema/keys.ts',
  'package.json',
  'package-lock.json',
  'scripts/bins-executable.mjs',
  'helper/install.ts',
];

describe('CODEOWNERS', () => {
  const text = readFileSync(join(repoRoot, '.github', 'CODEOWNERS'), 'utf8');
  const all = rules(text);

  for (const path of MUST_BE_OWNED) {
    it(`gives ${path} an owner whose review is required`, () => {
      const last = all.filter((r) => matches(r.pattern, path)).at(-1);
      assert.ok(last, `no CODEOWNERS rule matches ${path}`);
      assert.ok(last.owners.length > 0, `the last rule matching ${path} (${last.pattern}) names no owner`);
      for (const o of last.owners) assert.match(o, /^@[\w.-]+(\/[\w.-]+)?$|^[^@\s]+@[^@\s]+$/, o);
    });
  }
});
