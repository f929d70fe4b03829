import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  artifactsOf,
  firstUncovered,
  legacyArtifact,
  runsOnEveryMac,
  type Artifact,
  type ArtifactSource,
} from '../../schema/artifacts.js';

const art = (arch: Artifact['arch']): Artifact => ({
  arch,
  download_url: `https://cdn.mngd.app/agent/a-${arch}.pkg`,
  sha256: arch[0]!.repeat(64),
  size: 1,
});
const rel = (arches: Artifact['arch'][], min: string | null = null, max: string | null = null): ArtifactSource => ({
  artifacts: arches.map(art),
  requires: { macos_min: min, macos_max: max },
});
const SUPPORTED = { oldest: '12.0', newest: '26.1' };

describe('artifacts', () => {
  it('reads the single form as one universal artifact, and artifacts as listed', () => {
    assert.deepEqual(artifactsOf({ download_url: 'https://x/a.pkg', sha256: 'a'.repeat(64), size: 3 }), [
      { arch: 'universal', download_url: 'https://x/a.pkg', sha256: 'a'.repeat(64), size: 3 },
    ]);
    assert.deepEqual(
      artifactsOf(rel(['arm64', 'x86_64'])).map((a) => a.arch),
      ['arm64', 'x86_64'],
    );
  });

  it('gives the table universal first, then x86_64 (Rosetta runs it everywhere), then arm64', () => {
    assert.equal(legacyArtifact([art('arm64'), art('x86_64'), art('universal')])?.arch, 'universal');
    assert.equal(legacyArtifact([art('arm64'), art('x86_64')])?.arch, 'x86_64');
    assert.equal(legacyArtifact([art('arm64')])?.arch, 'arm64');
    assert.equal(legacyArtifact([]), null);
  });

  // hw arch, releases, the lowest supported macOS left without a runnable release
  const cases: [string, 'arm64' | 'x86_64', ArtifactSource[], string | null][] = [
    ['universal, any macOS', 'x86_64', [rel(['universal'])], null],
    ['arm64 only leaves Intel out', 'x86_64', [rel(['arm64'])], '12.0'],
    ['x86_64 runs on Apple silicon through Rosetta', 'arm64', [rel(['x86_64'])], null],
    ['macos_min 13 leaves 12 out', 'arm64', [rel(['universal'], '13.0')], '12.0'],
    ['two ranges that meet cover', 'arm64', [rel(['universal'], null, '13.9.9'), rel(['universal'], '13.9.10')], null],
    [
      'a gap between ranges is found',
      'arm64',
      [rel(['universal'], null, '13.6'), rel(['universal'], '14.0')],
      '13.6.1',
    ],
    ['a macos_max below newest leaves the newest out', 'arm64', [rel(['universal'], null, '15.0')], '15.0.1'],
    ['macOS 15 is followed by 26', 'arm64', [rel(['universal'], null, '15.999.999'), rel(['universal'], '26.0')], null],
    ['nothing at all', 'arm64', [], '12.0'],
  ];
  for (const [what, hw, releases, gap] of cases) {
    it(`finds the first uncovered macOS: ${what}`, () => {
      assert.equal(firstUncovered(releases, hw, SUPPORTED), gap);
    });
  }

  it('without a policy range, covers every macOS only with releases that have no bounds', () => {
    assert.equal(firstUncovered([rel(['universal'])], 'arm64', { oldest: null, newest: null }), null);
    assert.equal(firstUncovered([rel(['universal'], '11.0')], 'arm64', { oldest: null, newest: null }), '10.0');
  });

  it('lets only a universal release with no stricter requires run on every Mac', () => {
    assert.equal(runsOnEveryMac(rel(['universal']), SUPPORTED), true);
    assert.equal(runsOnEveryMac(rel(['universal'], '12.0'), SUPPORTED), true);
    assert.equal(runsOnEveryMac(rel(['universal'], '13.0'), SUPPORTED), false);
    assert.equal(runsOnEveryMac(rel(['arm64', 'x86_64']), SUPPORTED), false);
  });
});
