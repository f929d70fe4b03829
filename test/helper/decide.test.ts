/** The pure decision of what may be installed. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { releaseToInstall } from '../../helper/decide.js';
import { HelperError } from '../../helper/protocol.js';
import type { SignedManifest } from '../../schema/types.js';

const entry = (version: string) => ({
  version,
  download_url: `https://d.example.com/${version}.pkg`,
  sha256: 'a'.repeat(64),
  size: 10,
  rollout_percent: 100,
});
const signed: SignedManifest = {
  type: 'mngd-agent-manifest',
  spec: 1,
  channel: 'stable',
  sequence: 5,
  published_at: '2026-11-27T02:00:00Z',
  expires_at: '2026-12-11T02:00:00Z',
  min_required_version: null,
  releases: [entry('1.0.3'), entry('1.0.2')],
};

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof HelperError);
    return err.code;
  }
  return 'none';
}

describe('releaseToInstall', () => {
  it('returns the manifest entry of a newer version', () => {
    assert.equal(releaseToInstall(signed, '1.0.3', '1.0.2').version, '1.0.3');
    assert.equal(releaseToInstall(signed, '1.0.3.0', '1.0.2').sha256, 'a'.repeat(64), '1.0.3.0 equals 1.0.3');
  });

  it('never installs a version the manifest does not name', () => {
    assert.equal(
      code(() => releaseToInstall(signed, '1.0.4', '1.0.2')),
      'VERSION_NOT_IN_MANIFEST',
    );
  });

  it('never downgrades or reinstalls', () => {
    assert.equal(
      code(() => releaseToInstall(signed, '1.0.2', '1.0.2')),
      'NOT_AN_UPGRADE',
    );
    assert.equal(
      code(() => releaseToInstall(signed, '1.0.3', '1.0.10')),
      'NOT_AN_UPGRADE',
    );
    assert.equal(
      code(() => releaseToInstall(signed, '1.0.3', '1.0.3.0')),
      'NOT_AN_UPGRADE',
    );
  });

  it('refuses when the installed version is unknown', () => {
    assert.equal(
      code(() => releaseToInstall(signed, '1.0.3', null)),
      'INSTALLED_VERSION_UNKNOWN',
    );
  });
});
