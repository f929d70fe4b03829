/**
 * Policy changes in the plan: every change to releases/policy.yaml against the base, a trusted-key
 * change as a load event, and removing a key the signing key still uses as an error (plan and
 * validate, through the real bin), with the fix in the right order.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { diffPolicy } from '../../../pipeline/releases/policy-diff.js';
import { policySection } from '../../../pipeline/table/policy-section.js';
import { signingKeyProblems } from '../../../pipeline/releases/signing-key-check.js';
import { MANIFEST_DEFAULTS, type Policy } from '../../../schema/types.js';
import { runBin } from '../../support/cli.js';
import { preparePgliteDir } from '../../support/db.js';
import { makeReleaseRepo, testKey, type ReleaseRepo, type TestKey } from '../../support/publish-repo.js';

const ORDER = /remove it from MNGD_SIGNING_KEY first, publish, then remove it from trusted_keys/;
const key = (k: TestKey, comment?: string) => ({
  keyid: k.keyid,
  public_key: k.public_key,
  ...(comment ? { comment } : {}),
});

function git(cwd: string, ...args: string[]): string {
  return execFileSync(
    'git',
    ['-c', 'user.name=Release Engineer', '-c', 'user.email=re@example.test', '-c', 'commit.gpgsign=false', ...args],
    { cwd, encoding: 'utf8' },
  );
}

describe('policy changes, pure', () => {
  const a = testKey();
  const b = testKey();
  const base: Policy = {
    allowed_url_prefixes: ['https://cdn.mngd.app/agent/'],
    channels: ['stable', 'beta'],
    trusted_keys: [key(a, 'old'), key(b)],
    manifest: MANIFEST_DEFAULTS,
  };

  it('lists keys, URL prefixes, channels, lifetimes and the target', () => {
    const next: Policy = {
      allowed_url_prefixes: ['https://dl.mngd.app/agent/'],
      channels: ['stable'],
      trusted_keys: [key(b)],
      manifest: { ...MANIFEST_DEFAULTS, lifetime_days: 7, refresh_window_days: 3 },
      publish: { target: 's3://mngd/agent' },
    };
    const d = diffPolicy(base, next);
    assert.deepEqual(d.keysRemoved, [a.keyid]);
    assert.deepEqual(d.keysAdded, []);
    assert.deepEqual(d.lines, [
      `trusted_keys: - ${a.keyid.slice(0, 12)}… (old)`,
      'allowed_url_prefixes: + https://dl.mngd.app/agent/',
      'allowed_url_prefixes: - https://cdn.mngd.app/agent/',
      'channels: - beta',
      'manifest.lifetime_days: 14 -> 7',
      'manifest.refresh_window_days: 7 -> 3',
      'publish.target: none -> "s3://mngd/agent"',
    ]);
    assert.deepEqual(diffPolicy(base, base).lines, []);
  });

  it('lists rings added, moved and removed, and a new ring_salt (every ring hash changes)', () => {
    const withRings: Policy = {
      ...base,
      rings: { canary: { device_ids_file: 'rings/canary.txt' }, pilot: { device_ids_file: 'rings/pilot.txt' } },
      ring_salt: 'ab'.repeat(16),
    };
    assert.deepEqual(diffPolicy(base, withRings).lines, [
      'rings: + canary (rings/canary.txt)',
      'rings: + pilot (rings/pilot.txt)',
      'ring_salt changed: every published ring hash changes',
    ]);
    const next: Policy = {
      ...withRings,
      rings: { canary: { device_ids_file: 'rings/it-desk.txt' } },
      ring_salt: 'cd'.repeat(16),
    };
    assert.deepEqual(diffPolicy(withRings, next).lines, [
      'rings.canary.device_ids_file: rings/canary.txt -> rings/it-desk.txt',
      'rings: - pilot',
      'ring_salt changed: every published ring hash changes',
    ]);
  });

  it('a removed key still signing is an error naming the order; a key never listed too', () => {
    const next = { trusted_keys: [key(b)] };
    const [removed] = signingKeyProblems(
      next,
      [{ keyid: a.keyid, source: 'MNGD_SIGNING_KEY' }],
      base,
      'releases/policy.yaml',
    );
    assert.equal(removed?.code, 'POLICY_KEY_STILL_SIGNING');
    assert.match(removed?.message ?? '', /this change removes key .* but MNGD_SIGNING_KEY still signs with it/);
    assert.match(removed?.message ?? '', ORDER);
    const [unknown] = signingKeyProblems(next, [{ keyid: a.keyid, source: 'MNGD_SIGNING_KEY_ID' }], null, 'p.yaml');
    assert.match(unknown?.message ?? '', /MNGD_SIGNING_KEY_ID signs with key .* which trusted_keys does not list/);
    assert.deepEqual(signingKeyProblems(next, [{ keyid: b.keyid, source: 'MNGD_SIGNING_KEY' }], base, 'p.yaml'), []);
  });

  it('any key change is a load event; no base and a trusted key: nothing to say', () => {
    const added = policySection({
      policy: { ...base, trusted_keys: [...base.trusted_keys, key(testKey())] },
      policyFile: 'releases/policy.yaml',
      base: { ref: 'main', policy: base },
      inUse: [],
    });
    assert.equal(added?.warnings?.[0]?.code, 'TRUSTED_KEYS_CHANGED');
    const same = policySection({ policy: base, policyFile: 'p', base: { ref: 'main', policy: base }, inUse: [] });
    assert.deepEqual(same?.lines, ['no change against main']);
    assert.equal(same?.warnings, undefined);
    assert.equal(policySection({ policy: base, policyFile: 'p', inUse: [{ keyid: a.keyid, source: 'X' }] }), null);
  });
});

describe('policy changes in plan and validate (mngd-release bin)', () => {
  let repo: ReleaseRepo;
  const old = testKey();
  const next = testKey();
  let env: Record<string, string>;
  const bin = (argv: string[], extra: Record<string, string> = {}) =>
    runBin(argv, { cwd: repo.root, env: { ...env, ...extra } });

  before(async () => {
    repo = await makeReleaseRepo({ trusted: [old, next] });
    await repo.writeRelease({ version: '1.0.2' });
    env = { MNGD_STATE_DIR: join(repo.root, '.state') };
    await preparePgliteDir(join(repo.root, '.state', 'pglite'));
    git(repo.root, 'init', '-q', '-b', 'main');
    git(repo.root, 'add', 'releases');
    git(repo.root, 'commit', '-q', '-m', 'policy with two keys');
    // the pull request: drop the old key, move to another CDN, longer lifetime
    await repo.writePolicy({ trusted: [next], prefix: 'https://cdn.example.test/agent/', lifetimeDays: 21 });
  });
  after(() => repo.close());

  it('plan --changed-since lists the policy changes and refuses dropping the key MNGD_SIGNING_KEY holds', async () => {
    const r = await bin(['plan', '--skip-manifests', '--changed-since', 'main'], { MNGD_SIGNING_KEY: old.private });
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /Policy \(releases\/policy\.yaml against main\):/);
    assert.match(r.stdout, new RegExp(`trusted_keys: - ${old.keyid.slice(0, 12)}…`));
    assert.match(r.stdout, /manifest\.lifetime_days: 14 -> 21/);
    assert.match(r.stdout, /WARNING TRUSTED_KEYS_CHANGED: trusted_keys changes \(0 added, 1 removed\)/);
    assert.match(r.stdout, /error POLICY_KEY_STILL_SIGNING: this change removes key/);
    assert.match(r.stdout, ORDER);
    assert.match(r.stdout, /The policy change would make every publish fail/);
    assert.ok(!(r.stdout + r.stderr).includes(old.private.slice(8, 30)), 'the private key is never printed');
  });

  it('in a pull request, without the secret, MNGD_SIGNING_KEY_ID names the key: plan and validate refuse', async () => {
    const plan = await bin(['plan', '--skip-manifests', '--changed-since', 'main'], { MNGD_SIGNING_KEY_ID: old.keyid });
    assert.equal(plan.code, 1, plan.stdout + plan.stderr);
    assert.match(plan.stdout, /MNGD_SIGNING_KEY_ID still signs with it/);
    const validate = await bin(['validate'], { MNGD_SIGNING_KEY_ID: old.keyid });
    assert.equal(validate.code, 1, validate.stdout + validate.stderr);
    assert.match(
      validate.stdout + validate.stderr,
      /releases\/policy\.yaml: error POLICY_KEY_STILL_SIGNING: .*MNGD_SIGNING_KEY_ID signs/,
    );
    assert.match(validate.stdout + validate.stderr, ORDER);
  });

  it('in the right order (the secret holds only the new key) the removal passes, still a load event', async () => {
    const plan = await bin(['plan', '--skip-manifests', '--changed-since', 'main'], { MNGD_SIGNING_KEY: next.private });
    assert.equal(plan.code, 0, plan.stdout + plan.stderr);
    assert.match(plan.stdout, /WARNING TRUSTED_KEYS_CHANGED/);
    assert.doesNotMatch(plan.stdout, /POLICY_KEY_STILL_SIGNING/);
    const validate = await bin(['validate'], { MNGD_SIGNING_KEY_ID: next.keyid });
    assert.equal(validate.code, 0, validate.stdout + validate.stderr);
  });
});
