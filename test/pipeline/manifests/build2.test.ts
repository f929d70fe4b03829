import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { buildSignedManifest2, DEFAULT_RING_SALT, manifest2Content } from '../../../pipeline/manifests/build2.js';
import { manifest2Problems } from '../../../schema/manifest2.js';
import { validateManifest2 } from '../../../schema/validators.js';
import { MANIFEST_DEFAULTS, withReleaseDefaults, type Release, type ReleaseFile } from '../../../schema/types.js';

const T0 = new Date('2026-12-04T12:00:00Z');
const U = 'https://cdn.mngd.app/agent/';
const PROV = { commit: 'abcdef0', workflow_run: null, actor: null };
const POLICY = { manifest: MANIFEST_DEFAULTS, supported_macos: { oldest: '12.0', newest: '26.1' } };

function rel(version: string, extra: Partial<ReleaseFile> = {}): Release {
  const hex = Buffer.from(version.padEnd(32, '.')).toString('hex');
  return withReleaseDefaults(
    {
      version,
      download_url: `${U}u-${version}.pkg`,
      sha256: hex,
      size: 10,
      ...extra,
    },
    T0.getTime(),
  );
}
const arm = (version: string, extra: Partial<ReleaseFile> = {}) =>
  rel(version, {
    artifacts: [{ arch: 'arm64', download_url: `${U}a-${version}.pkg`, sha256: 'a'.repeat(64), size: 5 }],
    ...extra,
  });
const build = (releases: Release[], channel = 'stable') =>
  buildSignedManifest2({ channel, releases, policy: POLICY, now: T0, previousSequence: null, provenance: PROV });

describe('the spec-2 builder', () => {
  it('lists newest first until every supported macOS and arch has a release at 100 % it can run', () => {
    // 1.3 is arm64 only, 1.2 needs macOS 14: Intel Macs and macOS 12-13 need 1.1
    const m = build([rel('1.0'), rel('1.1'), rel('1.2', { requires: { macos_min: '14.0' } }), arm('1.3')]);
    assert.deepEqual(
      m.releases.map((r) => r.version),
      ['1.3', '1.2', '1.1'],
    );
    // a release every Mac runs at 100 % ends the list
    assert.deepEqual(
      build([rel('1.0'), rel('1.1')]).releases.map((r) => r.version),
      ['1.1'],
    );
    // a staged release never ends it
    assert.deepEqual(
      build([rel('1.0'), rel('1.1', { rollout_percent: 10 })]).releases.map((r) => r.version),
      ['1.1', '1.0'],
    );
  });

  it('writes a manifest the spec-2 schema and rules accept: artifacts, requires, rollout, rings, salt, provenance', () => {
    const m = build([rel('1.0'), arm('1.1', { rollout_percent: 25, requires: { macos_min: '13.0' } })]);
    assert.ok(validateManifest2({ signed: m, signatures: [{ keyid: 'a'.repeat(64), sig: `${'A'.repeat(86)}==` }] }));
    assert.deepEqual(manifest2Problems(m), []);
    assert.deepEqual(m.releases[0], {
      version: '1.1',
      artifacts: [{ arch: 'arm64', download_url: `${U}a-1.1.pkg`, sha256: 'a'.repeat(64), size: 5 }],
      requires: { macos_min: '13.0', macos_max: null },
      rollout: [{ at: null, percent: 25 }],
    });
    assert.deepEqual([m.rings, m.ring_salt, m.provenance], [{}, DEFAULT_RING_SALT, PROV]);
  });

  it('rescues Macs on a yanked or halted version newer than the newest release at 100 %', () => {
    const halted = rel('1.2', { halted: { reason: 'crashes', at: '2026-12-04T10:00:00Z' } });
    const m = build([rel('1.0'), rel('1.1', { active: false }), halted, rel('1.3', { rollout_percent: 10 })]);
    assert.deepEqual(m.rescue_from, ['1.2', '1.1']);
    assert.deepEqual(
      m.releases.map((r) => r.version),
      ['1.3', '1.0'],
    );
    // a stopped version older than the newest at 100 % needs no rescue: that release is offered to all
    assert.deepEqual(build([rel('1.0', { active: false }), rel('1.1')]).rescue_from, []);
  });

  it('leaves provenance, sequence and times out of the content publish compares', () => {
    const a = build([rel('1.0')]);
    const b = buildSignedManifest2({
      channel: 'stable',
      releases: [rel('1.0')],
      policy: POLICY,
      now: new Date(T0.getTime() + 3600_000),
      previousSequence: a.sequence,
      provenance: { commit: '1234567', workflow_run: 'https://github.com/o/r/actions/runs/1', actor: 'me' },
    });
    assert.deepEqual(manifest2Content(a), manifest2Content(b));
    assert.equal(b.sequence, a.sequence + 3600);
  });
});
