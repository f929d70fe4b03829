import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { loadReleaseSet } from '../../../pipeline/releases/load.js';
import { packageUnits, selectReleases } from '../../../pipeline/artifacts/select.js';
import type { ReleaseSet } from '../../../pipeline/releases/release-set.js';
import { loaded } from '../../support/releases.js';
import { generatedBytes } from '../../support/https-server.js';
import { releaseRepo } from '../../support/release-repo.js';

const PKG = generatedBytes(3, 200_000);

describe('selectReleases', () => {
  it('by default picks exactly the releases some channel manifest lists', async () => {
    const url = 'https://cdn.example/agent/p.pkg';
    const root = await releaseRepo({
      prefixes: ['https://cdn.example/agent/'],
      releases: [
        { version: '1.0.0', url, body: PKG }, // older than the newest 100 % release: never listed
        { version: '1.0.1', url, body: PKG },
        { version: '1.0.2', url, body: PKG, rollout_percent: 10 },
        { version: '1.0.3', url, body: PKG, active: false }, // yanked
        { version: '1.1.0', url, body: PKG, channel: 'beta' },
      ],
    });
    const set = await loadReleaseSet(root);
    assert.equal(set.releases.length, 5, JSON.stringify(set.problems));
    const versions = (s: Parameters<typeof selectReleases>[1]) => selectReleases(set, s).map((r) => r.release.version);
    assert.deepEqual(versions({ kind: 'manifest' }), ['1.1.0', '1.0.2', '1.0.1']);
    assert.deepEqual(versions({ kind: 'all' }), ['1.1.0', '1.0.3', '1.0.2', '1.0.1', '1.0.0']);
    assert.deepEqual(
      versions({ kind: 'files', files: ['releases/1.0.0.yaml', './releases/1.0.3.yaml', 'releases/gone.yaml'] }),
      ['1.0.3', '1.0.0'],
    );
  });

  it('by default also picks what only spec 2 lists, and packageUnits gives each artifact', () => {
    const a = (arch: 'arm64' | 'x86_64', v: string) => ({
      arch,
      download_url: `https://cdn.example.com/agent/${arch}-${v}.pkg`,
      sha256: (arch === 'arm64' ? 'a' : 'b').repeat(64),
      size: 5,
    });
    const set: ReleaseSet = {
      dir: '/r/releases',
      root: '/r',
      policyFile: 'releases/policy.yaml',
      policy: null,
      problems: [],
      rings: {},
      // 1.1.0 has no universal package: spec 1 never lists it, spec 2 does, above the 100 % 1.0.0
      releases: [loaded('1.1.0', { artifacts: [a('arm64', '1.1.0'), a('x86_64', '1.1.0')] }), loaded('1.0.0')],
    };
    const picked = selectReleases(set, { kind: 'manifest' });
    assert.deepEqual(
      picked.map((r) => r.release.version),
      ['1.1.0', '1.0.0'],
    );
    assert.deepEqual(
      packageUnits(picked).map((u) => [u.release.version, u.arch ?? null, u.release.download_url, u.fieldPrefix]),
      [
        ['1.1.0', 'arm64', 'https://cdn.example.com/agent/arm64-1.1.0.pkg', 'artifacts[0].'],
        ['1.1.0', 'x86_64', 'https://cdn.example.com/agent/x86_64-1.1.0.pkg', 'artifacts[1].'],
        ['1.0.0', null, 'https://cdn.example.com/agent/mngd-agent-1.0.0.pkg', ''],
      ],
    );
  });
});
