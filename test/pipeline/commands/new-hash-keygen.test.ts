import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { signingKeyFromText } from '../../../schema/keys.js';
import { runBin, runRelease, tempRepo } from '../../support/cli.js';

function pkg(root: string, name: string, bytes: Buffer): string {
  const p = join(root, name);
  writeFileSync(p, bytes);
  return p;
}

describe('mngd-release hash', () => {
  it('prints the sha256 and size of a package, streaming', async () => {
    const { root } = tempRepo();
    const bytes = Buffer.alloc(3 * 1024 * 1024 + 7, 0x5a);
    const r = await runRelease(['hash', pkg(root, 'a.pkg', bytes), '--json'], { cwd: root });
    assert.equal(r.code, 0);
    assert.deepEqual(JSON.parse(r.stdout), {
      sha256: createHash('sha256').update(bytes).digest('hex'),
      size: bytes.length,
    });
  });

  it('exits 2 for a missing file or a missing argument', async () => {
    const { root } = tempRepo();
    assert.equal((await runRelease(['hash', join(root, 'nope.pkg')], { cwd: root })).code, 2);
    assert.equal((await runRelease(['hash'], { cwd: root })).code, 2);
  });
});

describe('mngd-release new', () => {
  it('writes a valid release file from a package, with the schema line and quoted versions', async () => {
    const { root, releases } = tempRepo();
    const bytes = Buffer.from('package 1.10');
    const r = await runRelease(
      [
        'new',
        '1.10',
        '--pkg',
        pkg(root, 'p.pkg', bytes),
        '--url',
        'https://cdn.mngd.app/agent/p-1.10.pkg',
        '--rollout',
        '10',
        '--notes',
        'Line one\nLine two',
      ],
      { cwd: root },
    );
    assert.equal(r.code, 0, r.stderr);
    const text = readFileSync(join(releases, '1.10.yaml'), 'utf8');
    assert.match(text, /^# yaml-language-server: \$schema=\.\.\/schema\/release\.schema\.json\nversion: "1\.10"\n/);
    assert.match(
      text,
      new RegExp(`sha256: ${createHash('sha256').update(bytes).digest('hex')}\nsize: ${bytes.length}\n`),
    );
    assert.equal((await runRelease(['validate'], { cwd: root })).code, 0);
  });

  it('refuses notes that would make the file larger than 64 KiB, and writes nothing', async () => {
    const { root, releases } = tempRepo();
    const before = readdirSync(releases).sort();
    // 16 KiB of notes (the most allowed) that YAML can only write escaped, 4 bytes each
    const notes = '\x01'.repeat(16 * 1024);
    const r = await runRelease(
      [
        'new',
        '1.0.4',
        '--pkg',
        pkg(root, 'p.pkg', Buffer.from('p')),
        '--url',
        'https://cdn.mngd.app/agent/x.pkg',
        '--notes',
        notes,
      ],
      { cwd: root },
    );
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /releases\/1\.0\.4\.yaml: error FILE_TOO_LARGE: the file is \d+ bytes; at most 65536/);
    assert.match(r.stderr, /Nothing written/);
    assert.deepEqual(readdirSync(releases).sort(), before);
  });

  for (const [what, args, code] of [
    ['a bad version', ['v1.2', '--url', 'https://cdn.mngd.app/agent/x.pkg'], 2],
    ['a URL outside the allowed prefixes', ['1.0.4', '--url', 'https://evil.example/x.pkg'], 1],
    ['an http URL', ['1.0.4', '--url', 'http://cdn.mngd.app/agent/x.pkg'], 1],
    ['a rollout above 100', ['1.0.4', '--url', 'https://cdn.mngd.app/agent/x.pkg', '--rollout', '101'], 1],
    [
      'a floor above its version',
      ['1.0.4', '--url', 'https://cdn.mngd.app/agent/x.pkg', '--min-required-version', '2.0'],
      1,
    ],
    ['an unknown channel', ['1.0.4', '--url', 'https://cdn.mngd.app/agent/x.pkg', '--channel', 'nightly'], 1],
    ['an existing version', ['1.0.0', '--url', 'https://cdn.mngd.app/agent/x.pkg'], 2],
    ['no --url', ['1.0.4'], 2],
  ] as const) {
    it(`refuses ${what} and writes nothing`, async () => {
      const { root, releases } = tempRepo();
      const before = readdirSync(releases).sort();
      const r = await runRelease(['new', ...args, '--pkg', pkg(root, 'p.pkg', Buffer.from(what))], { cwd: root });
      assert.equal(r.code, code, r.stderr);
      assert.deepEqual(readdirSync(releases).sort(), before);
    });
  }

  it('suggests the closest flag for a misspelled one: exit 2, nothing written', async () => {
    const { root, releases } = tempRepo();
    const before = readdirSync(releases).sort();
    const r = await runRelease(['new', '1.0.4', '--pgk', 'p.pkg', '--url', 'https://cdn.mngd.app/agent/x.pkg'], {
      cwd: root,
    });
    assert.equal(r.code, 2, r.stderr);
    assert.equal(
      r.stderr,
      'mngd-release new: unknown flag --pgk: did you mean --pkg?\nRun "mngd-release new --help" for usage.\n',
    );
    assert.deepEqual(readdirSync(releases).sort(), before);
  });

  it('refuses a releases folder that does not exist: exit 2, the folder named, nothing created', async () => {
    const { root } = tempRepo();
    const missing = join(root, 'no-such-releases');
    const r = await runRelease(
      [
        'new',
        '1.0.4',
        '--pkg',
        pkg(root, 'p.pkg', Buffer.from('x')),
        '--url',
        'https://cdn.mngd.app/agent/x.pkg',
        '--releases',
        missing,
      ],
      { cwd: root },
    );
    assert.equal(r.code, 2, r.stderr);
    assert.match(
      r.stderr,
      new RegExp(
        `^mngd-release new: the releases folder ${missing} does not exist; run from the repository root, or pass --releases DIR`,
      ),
    );
    assert.doesNotMatch(r.stderr, /ENOENT|outside failure/);
    assert.equal(existsSync(missing), false);
  });

  it('refuses the package of an earlier release (copy-paste)', async () => {
    const { root, releases } = tempRepo();
    const r = await runRelease(
      [
        'new',
        '1.0.4',
        '--pkg',
        pkg(root, 'p.pkg', Buffer.from('x')),
        '--url',
        'https://cdn.mngd.app/agent/mngd-agent-1.0.0.pkg',
      ],
      { cwd: root },
    );
    assert.equal(r.code, 1);
    assert.match(r.stderr, /RELEASE_DUPLICATE_URL/);
    assert.equal(existsSync(join(releases, '1.0.4.yaml')), false);
  });
});

describe('mngd-release keygen', () => {
  it('prints a private key and the policy entry for its public key', async () => {
    const { root } = tempRepo();
    const r = await runRelease(['keygen', '--json'], { cwd: root });
    assert.equal(r.code, 0);
    const out = JSON.parse(r.stdout) as { keyid: string; public_key: string; private_key: string };
    const key = signingKeyFromText(out.private_key);
    assert.equal(key.keyid, out.keyid);
    assert.equal(key.public_key, out.public_key);
  });

  it('writes the private key to a 0600 file with --out and never overwrites one', async () => {
    const { root } = tempRepo();
    const out = join(root, 'key.txt');
    const r = await runRelease(['keygen', '--out', out], { cwd: root });
    assert.equal(r.code, 0);
    assert.equal(statSync(out).mode & 0o777, 0o600);
    assert.doesNotMatch(r.stdout, /ed25519:/);
    assert.equal((await runRelease(['keygen', '--out', out], { cwd: root })).code, 2);
  });
});

describe('mngd-release keygen under GitHub Actions', () => {
  it('masks the private key in the log', async () => {
    const { root } = tempRepo();
    const r = await runBin(['keygen'], { cwd: root, env: { GITHUB_ACTIONS: 'true' } });
    assert.equal(r.code, 0);
    const key = /ed25519:[A-Za-z0-9+/=]+/.exec(r.stdout)?.[0];
    assert.ok(key);
    assert.ok(r.stdout.includes(`::add-mask::${key}`), r.stdout);
  });
});
