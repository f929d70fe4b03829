import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { choose2 } from '../../schema/choose2.js';
import { manifest2Problems } from '../../schema/manifest2.js';
import { manifest2Key, history2Key } from '../../schema/manifest2.schema.js';
import { ringHash } from '../../schema/choose2.js';
import type { Manifest2 } from '../../schema/types.js';
import { describeSchemaErrors, validateManifest2 } from '../../schema/validators.js';

const SHA = 'ab'.repeat(32);
function good(): Manifest2 {
  return {
    signed: {
      type: 'mngd-agent-manifest',
      spec: 2,
      channel: 'stable',
      sequence: 1796032800,
      published_at: '2026-12-04T10:00:00Z',
      expires_at: '2026-12-18T10:00:00Z',
      min_required_version: '1.0.2',
      releases: [
        {
          version: '1.1.0',
          artifacts: [
            { arch: 'arm64', download_url: 'https://cdn.mngd.app/a/1.1.0-arm64.pkg', sha256: SHA, size: 10 },
            { arch: 'x86_64', download_url: 'https://cdn.mngd.app/a/1.1.0-x86_64.pkg', sha256: SHA, size: 11 },
          ],
          requires: { macos_min: '13.0', macos_max: null },
          rollout: [
            { at: null, percent: 0 },
            { at: '2026-12-05T09:00:00Z', percent: 10 },
            { at: '2026-12-07T09:00:00Z', percent: 100 },
          ],
          rings: ['canary'],
        },
        {
          version: '1.0.2',
          release_notes: 'Fixes',
          artifacts: [{ arch: 'universal', download_url: 'https://cdn.mngd.app/a/1.0.2.pkg', sha256: SHA, size: 9 }],
          requires: { macos_min: null, macos_max: null },
          rollout: [{ at: null, percent: 100 }],
        },
      ],
      rings: { canary: [ringHash('00ff'.repeat(8), 'mac-canary')] },
      ring_salt: '00ff'.repeat(8),
      rescue_from: ['1.0.3'],
      provenance: { commit: 'abc1234', workflow_run: null, actor: null },
    },
    signatures: [{ keyid: SHA, sig: `${'A'.repeat(86)}==` }],
  };
}

describe('manifest spec 2', () => {
  it('a good manifest passes the schema and the rules, and choose2 reads it as published', () => {
    const m = good();
    assert.ok(validateManifest2(m), describeSchemaErrors(validateManifest2.errors));
    assert.deepEqual(manifest2Problems(m.signed), []);
    const c = choose2(m.signed, {
      deviceId: 'mac-canary',
      current: '1.0.2',
      macos: '14.6',
      hwArch: 'arm64',
      clock: Date.parse('2026-12-04T12:00:00Z'),
    });
    assert.deepEqual([c.target?.release.version, c.target?.artifact.arch, c.target?.via], ['1.1.0', 'arm64', 'ring']);
  });

  it('is strict: unknown fields, a Darwin number, a bad arch and a spec-1 body are refused', () => {
    const cases: [string, (m: Manifest2) => void, RegExp][] = [
      ['unknown top field', (m) => Object.assign(m.signed, { extra: 1 }), /unknown key "extra"/],
      [
        'unknown release field',
        (m) => Object.assign(m.signed.releases[0]!, { rollout_percent: 10 }),
        /rollout_percent/,
      ],
      ['Darwin number', (m) => (m.signed.releases[0]!.requires.macos_min = '21.0'), /macos_min/],
      ['unknown arch', (m) => Object.assign(m.signed.releases[0]!.artifacts[0]!, { arch: 'ppc' }), /arch/],
      [
        'four artifacts',
        (m) => m.signed.releases[1]!.artifacts.push(...Array(3).fill(m.signed.releases[1]!.artifacts[0])),
        /artifacts/,
      ],
      ['spec 1', (m) => Object.assign(m.signed, { spec: 1 }), /spec/],
      ['missing provenance', (m) => delete (m.signed as Partial<Manifest2['signed']>).provenance, /provenance/],
    ];
    for (const [name, spoil, want] of cases) {
      const m = good();
      spoil(m);
      assert.equal(validateManifest2(m), false, name);
      assert.match(describeSchemaErrors(validateManifest2.errors), want, name);
    }
  });

  it('names what the schema cannot: arch twice, order, step times, an unknown ring', () => {
    const m = good();
    const r = m.signed.releases[0]!;
    r.artifacts[1]!.arch = 'arm64';
    r.rollout[2]!.at = '2026-12-05T09:00:00Z';
    r.rings = ['beta'];
    r.requires = { macos_min: '15.0', macos_max: '14.0' };
    m.signed.releases.reverse();
    const got = manifest2Problems(m.signed).join('\n');
    for (const want of [
      /arch is listed twice/,
      /newest first/,
      /after the step before/,
      /ring "beta"/,
      /above macos_max/,
    ])
      assert.match(got, want);
  });

  it('lives beside spec 1, never at its paths', () => {
    assert.equal(manifest2Key('stable'), 'v2/latest.json');
    assert.equal(manifest2Key('beta'), 'v2/channels/beta/latest.json');
    assert.equal(history2Key('beta', 7), 'history/v2/beta/7.json');
  });
});
