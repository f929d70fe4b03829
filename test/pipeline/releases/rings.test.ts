/**
 * Canary rings in the policy and the release files: ring files read from the repository, each bad
 * line at its file:line, unknown rings, and the size of a manifest that carries a full ring.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadReleaseSet } from '../../../pipeline/releases/load.js';
import { serializeManifest } from '../../../pipeline/manifests/publish.js';
import { signingKeyFromText, generateSigningKey } from '../../../schema/keys.js';
import { manifest2Problems } from '../../../schema/manifest2.js';
import { hashedRings, MAX_RING_MEMBERS, ringHash } from '../../../schema/rings.js';
import { scheduleSteps } from '../../../schema/rollout.js';
import { signEnvelope } from '../../../schema/signing.js';
import type { SignedManifest2 } from '../../../schema/types.js';
import { describeSchemaErrors, validateManifest2 } from '../../../schema/validators.js';
import { runRelease, tempRepo } from '../../support/cli.js';

const SALT = '5a17'.repeat(8);
const POLICY_RINGS = `rings:\n  canary:\n    device_ids_file: rings/canary.txt\nring_salt: "${SALT}"\n`;
const RELEASE = `version: "1.0.4"
download_url: https://cdn.mngd.app/agent/mngd-agent-1.0.4.pkg
sha256: ${'b'.repeat(64)}
size: 2000
rings: [canary]
`;

function repo(ringText: string | null, policyExtra = POLICY_RINGS, release = RELEASE): string {
  const { root, releases } = tempRepo();
  writeFileSync(join(releases, 'policy.yaml'), `${readFileSync(join(releases, 'policy.yaml'), 'utf8')}${policyExtra}`);
  writeFileSync(join(releases, '1.0.4.yaml'), release);
  if (ringText !== null) {
    mkdirSync(join(root, 'rings'));
    writeFileSync(join(root, 'rings', 'canary.txt'), ringText);
  }
  return root;
}
async function validate(root: string) {
  return runRelease(['validate'], { cwd: root });
}

describe('canary rings', () => {
  it('hashes each ring as it is read: the set carries SHA-256(ring_salt + "/" + device_id), never a plain id', async () => {
    const root = repo('# IT desk\nmac-canary-1\nmac-canary-2\n');
    const set = await loadReleaseSet(root);
    assert.deepEqual(set.problems, []);
    assert.deepEqual(set.rings, { canary: [ringHash(SALT, 'mac-canary-1'), ringHash(SALT, 'mac-canary-2')].sort() });
    assert.doesNotMatch(JSON.stringify(set), /mac-canary/);
    assert.deepEqual(set.releases.find((r) => r.release.version === '1.0.4')?.release.rings, ['canary']);
    assert.equal((await validate(root)).code, 0);
  });

  it('a malformed line and a duplicate id are errors at their line of the ring file, naming both lines', async () => {
    const r = await validate(repo('mac-1\nmac two\nmac-3\nmac-1\n'));
    assert.equal(r.code, 1);
    assert.match(r.stderr, /rings\/canary\.txt:2:1: error RING_MALFORMED_LINE: line 2 is not a device id/);
    assert.match(r.stderr, /rings\/canary\.txt:4:1: error RING_DUPLICATE_ID: line 4 repeats the device id of line 1/);
  });

  it('a ring over 1,000 ids is an error at the 1,001st', async () => {
    const ids = Array.from({ length: MAX_RING_MEMBERS + 1 }, (_, i) => `mac-${i}`);
    const r = await validate(repo(ids.join('\n')));
    assert.match(r.stderr, /rings\/canary\.txt:1001:1: error RING_TOO_LARGE: .*at most 1000/);
  });

  it('a missing ring file, rings without ring_salt, a path out of the repository: errors in the policy', async () => {
    const missing = await validate(repo(null));
    assert.match(
      missing.stderr,
      /releases\/policy\.yaml: error RING_FILE_MISSING: rings\.canary\.device_ids_file names rings\/canary\.txt, which does not exist/,
    );
    const noSalt = await validate(repo('mac-1\n', POLICY_RINGS.replace(/ring_salt.*\n/, '')));
    assert.match(
      noSalt.stderr,
      /releases\/policy\.yaml:\d+:\d+: error POLICY_MISSING_FIELD: rings needs ring_salt.*openssl rand -hex 32/,
    );
    const escape = await validate(repo('mac-1\n', POLICY_RINGS.replace('rings/canary.txt', '../../etc/passwd.txt')));
    assert.match(
      escape.stderr,
      /releases\/policy\.yaml:\d+:\d+: error POLICY_BAD_FIELD: rings\.canary\.device_ids_file/,
    );
  });

  it('a release naming an unknown ring is an error at that ring, with did-you-mean', async () => {
    const r = await validate(repo('mac-1\n', POLICY_RINGS, RELEASE.replace('[canary]', '[canary, canray]')));
    assert.match(
      r.stderr,
      /releases\/1\.0\.4\.yaml:5:17: error RELEASE_UNKNOWN_RING: ring "canray" is not in the policy \(did you mean "canary"\?\)/,
    );
    const none = await validate(repo(null, '', RELEASE));
    assert.match(none.stderr, /releases\/1\.0\.4\.yaml:5:9: error RELEASE_UNKNOWN_RING: .*the policy has no rings/);
  });

  it('a spec-2 manifest with a full ring of 1,000 ids (and 20 releases of 3 packages) stays under 128 KiB', () => {
    const ids = Array.from(
      { length: MAX_RING_MEMBERS },
      (_, i) => `C02${String(i).padStart(9, '0')}-${'f'.repeat(100)}`,
    );
    const sha = 'c'.repeat(64);
    const steps = scheduleSteps({
      start: '2026-12-07T09:00:00Z',
      steps: [{ percent: 1, hold: '24h' }, { percent: 10, hold: '48h' }, { percent: 50, hold: '7d' }, { percent: 100 }],
    });
    const signed: SignedManifest2 = {
      type: 'mngd-agent-manifest',
      spec: 2,
      channel: 'stable',
      sequence: 1796032800,
      published_at: '2026-12-07T10:00:00Z',
      expires_at: '2026-12-21T10:00:00Z',
      min_required_version: null,
      releases: Array.from({ length: 20 }, (_, i) => ({
        version: `1.${20 - i}.0`,
        release_notes: 'Fixes the menubar icon and speeds up inventory.',
        artifacts: (['arm64', 'x86_64', 'universal'] as const).map((arch) => ({
          arch,
          download_url: `https://cdn.mngd.app/agent/mngd-agent-1.${20 - i}.0-${arch}.pkg`,
          sha256: sha,
          size: 48_000_000,
        })),
        requires: { macos_min: '13.0', macos_max: null },
        rollout: i === 19 ? [{ at: null, percent: 100 }] : steps,
        rings: ['canary'],
      })),
      rings: hashedRings(SALT, { canary: ids }),
      ring_salt: SALT,
      rescue_from: [],
      provenance: {
        commit: 'a'.repeat(40),
        workflow_run: 'https://github.com/mngd/agent/actions/runs/1',
        actor: 'ops',
      },
    };
    const keys = [0, 1].map(() => signingKeyFromText(generateSigningKey().privateKeyText));
    const envelope = signEnvelope(signed, keys);
    assert.ok(validateManifest2(envelope), describeSchemaErrors(validateManifest2.errors));
    assert.deepEqual(manifest2Problems(signed), []);
    const bytes = serializeManifest(envelope as never);
    assert.ok(bytes.length < 128 * 1024, `${bytes.length} bytes`);
    process.stdout.write(`# a spec-2 manifest with a 1,000-id ring: ${bytes.length} bytes\n`);
    for (const id of ids.slice(0, 50)) assert.equal(bytes.includes(id), false);
  });
});
