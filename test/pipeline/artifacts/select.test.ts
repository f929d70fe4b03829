import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { loadReleaseSet } from '../../../pipeline/releases/load.js';
import { selectReleases } from '../../../pipeline/artifacts/select.js';
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
});
