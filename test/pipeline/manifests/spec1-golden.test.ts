import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildSignedManifest } from '../../../pipeline/manifests/build.js';
import { loadReleaseSet } from '../../../pipeline/releases/load.js';
import { FIXTURES } from '../../support/cli.js';

// test/fixtures/golden-spec1/: the repository's releases before spec 2 existed, and the spec-1
// manifests the part-1 builder made of them (expected-spec1.json, written by that builder).
const GOLDEN = join(FIXTURES, 'golden-spec1');

describe('spec 1 after spec 2 (golden)', () => {
  it('gives a release set without the new fields byte-identical spec-1 manifests', async () => {
    const set = await loadReleaseSet(GOLDEN);
    assert.deepEqual(set.problems, []);
    assert.ok(set.policy?.supported_macos, 'the policy names supported_macos: the projection runs');
    const out: Record<string, unknown> = {};
    for (const channel of set.policy.channels)
      out[channel] = buildSignedManifest({
        channel,
        releases: set.releases.map((r) => r.release),
        policy: set.policy,
        now: new Date('2026-12-04T12:00:00Z'),
        previousSequence: 1795000000,
      });
    assert.equal(`${JSON.stringify(out, null, 2)}\n`, readFileSync(join(GOLDEN, 'expected-spec1.json'), 'utf8'));
  });
});
