/**
 * The validators the single executables carry compiled ahead of time (Ajv standalone,
 * scripts/package/validators.ts) give the verdicts and errors of those compiled at run time
 * (schema/validators.ts), for every schema, on valid and broken documents.
 */
import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { parse } from 'yaml';
import * as runtime from '../../schema/validators.js';
import { standaloneValidators } from '../../scripts/package/validators.js';
import { makePkg, newKey, releaseOf, ROOT, signedManifest } from '../helper/harness.js';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';

// Beside schema/validators.js, so its imports (./schema-errors.js, ajv's runtime) resolve as in the bundle.
const file = join(ROOT, 'dist/schema', `.standalone-${process.pid}.mjs`);
// Ajv's standalone code calls require() for its runtime helpers, which esbuild resolves in a bundle.
writeFileSync(
  file,
  `import { createRequire } from 'node:module';\nconst require = createRequire(import.meta.url);\n${standaloneValidators()}`,
);
after(() => rmSync(file, { force: true }));
const aot = (await import(pathToFileURL(file).href)) as typeof runtime;

const work = mkdtempSync(join(tmpdir(), 'mngd-aot-'));
after(() => rmSync(work, { recursive: true, force: true }));
const manifest = JSON.parse(signedManifest([releaseOf(makePkg(work, '1.0.2'))], [newKey()])) as {
  signed: Record<string, unknown>;
};
const release = parse(readFileSync(join(ROOT, 'releases/1.0.0.yaml'), 'utf8')) as Record<string, unknown>;
const policy = parse(readFileSync(join(ROOT, 'releases/policy.yaml'), 'utf8')) as Record<string, unknown>;

const samples: [keyof typeof runtime.VALIDATOR_SCHEMAS, unknown][] = [
  ['validateManifest', manifest],
  ['validateManifest', { ...manifest, signed: { ...manifest.signed, extra: 1 } }],
  ['validateManifest', { ...manifest, signed: { ...manifest.signed, sequence: 'one' } }],
  ['validateManifest', []],
  ['validateReleaseFile', release],
  ['validateReleaseFile', { ...release, version: '1.0' }],
  ['validatePolicyFile', policy],
  ['validatePolicyFile', { ...policy, channels: 'stable' }],
  ['validateManifest2', manifest],
  ['validateReport', {}],
];

describe('the validators compiled ahead of time', () => {
  it('export every validator and describeSchemaErrors', () => {
    for (const name of Object.keys(runtime.VALIDATOR_SCHEMAS))
      assert.equal(typeof aot[name as 'validateManifest'], 'function', name);
    assert.equal(typeof aot.describeSchemaErrors, 'function');
  });

  for (const [i, [name, doc]] of samples.entries()) {
    it(`${name} #${i}: the same verdict and errors as at run time`, () => {
      const a = runtime[name](doc);
      const b = aot[name](doc);
      assert.equal(b, a);
      assert.deepEqual(aot[name].errors ?? null, runtime[name].errors ?? null);
      assert.equal(aot.describeSchemaErrors(aot[name].errors), runtime.describeSchemaErrors(runtime[name].errors));
    });
  }

  it('are tried on good and bad documents alike', () => {
    const verdicts = samples.map(([name, doc]) => runtime[name](doc));
    assert.ok(verdicts.includes(true) && verdicts.includes(false));
  });
});
