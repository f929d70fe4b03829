/**
 * `mngd-release init` starts a new organisation's releases/: a policy that the pipeline loads as
 * it is, trusting a key generated there and then, and nothing written when a flag is wrong.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { signingKeyFromText } from '../../../schema/keys.js';
import { runRelease } from '../../support/cli.js';

const NOW = new Date('2026-12-05T10:00:00Z');
const scratch = () => mkdtempSync(join(tmpdir(), 'mngd-init-'));

describe('mngd-release init', () => {
  it('writes releases/policy.yaml trusting a new key and a README; validate passes; the key file signs as the policy trusts', async () => {
    const root = scratch();
    const r = await runRelease(
      [
        'init',
        '--url-prefix',
        'https://cdn.example.com/agent/',
        '--channels',
        'stable,beta',
        '--supported-macos',
        '12.0-26.1',
        '--target',
        's3://example-agent-releases/agent',
        '--region',
        'us-east-1',
        '--key-out',
        'signing.key',
      ],
      { cwd: root, now: NOW },
    );
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(readdirSync(join(root, 'releases')).sort(), ['README.md', 'policy.yaml']);
    const key = signingKeyFromText(readFileSync(join(root, 'signing.key'), 'utf8').trim());
    assert.equal(statSync(join(root, 'signing.key')).mode & 0o777, 0o600);
    const policy = readFileSync(join(root, 'releases', 'policy.yaml'), 'utf8');
    const publicKey = /public_key: (\S+)/.exec(policy)![1]!;
    assert.ok(policy.includes(`  - keyid: ${key.keyid}\n    public_key: ${publicKey}\n`), policy);
    assert.ok(policy.includes('allowed_url_prefixes:\n  - "https://cdn.example.com/agent/"\n'), policy);
    assert.ok(policy.includes('channels: [stable, beta]\n'), policy);
    assert.ok(policy.includes('supported_macos:\n  oldest: "12.0"\n  newest: "26.1"\n'), policy);
    assert.ok(
      policy.includes('publish:\n  target: "s3://example-agent-releases/agent"\n  region: "us-east-1"\n'),
      policy,
    );
    assert.ok(policy.includes('    comment: "made by mngd-release init on 2026-12-05"\n'), policy);
    assert.equal(
      r.stdout,
      [
        `Wrote releases/policy.yaml and releases/README.md: URL prefix https://cdn.example.com/agent/; channels stable, beta; trusted key ${key.keyid}.`,
        '',
        'Private key written to signing.key (mode 0600). Store it as MNGD_SIGNING_KEY; never commit it.',
        '',
        'Next:',
        '  1. Store the private key as the MNGD_SIGNING_KEY secret of the production environment',
        '     (docs/github-setup.md: the bucket, CDN, environment and branch protection).',
        `  2. Agents and the helper trust it with: --trusted-key ${publicKey}`,
        '  3. mngd-release validate, then commit releases/ and open a pull request.',
        '  4. The first release: mngd-release new 1.0.0 --pkg FILE --url https://cdn.example.com/agent/mngd-agent-1.0.0.pkg',
        '',
      ].join('\n'),
    );
    const v = await runRelease(['validate'], { cwd: root, now: NOW });
    assert.equal(v.code, 0, v.stderr);
    assert.equal(
      v.stdout,
      '0 releases and the policy are valid.\n  stable: offers nothing; floor none\n  beta: offers nothing; floor none\n',
    );
  });

  it('prints the private key when there is no --key-out, and leaves the optional blocks commented', async () => {
    const root = scratch();
    const r = await runRelease(['init', '--url-prefix', 'https://cdn.example.com/agent/', '--json'], {
      cwd: root,
      now: NOW,
    });
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { files: string[]; keyid: string; public_key: string; private_key: string };
    assert.deepEqual(out.files, ['releases/policy.yaml', 'releases/README.md']);
    assert.equal(signingKeyFromText(out.private_key).keyid, out.keyid);
    const policy = readFileSync(join(root, 'releases', 'policy.yaml'), 'utf8');
    assert.ok(policy.includes('channels: [stable]\n'), policy);
    assert.ok(policy.includes('# supported_macos:\n') && policy.includes('# publish:\n'), policy);
  });

  for (const [what, args, says] of [
    [
      'a URL prefix without the final "/"',
      ['--url-prefix', 'https://cdn.example.com/agent'],
      'mngd-release init: --url-prefix "https://cdn.example.com/agent": expected the https:// folder your packages are served from, ending in "/" (e.g. https://cdn.example.com/agent/) [CONFIG_INVALID]\n',
    ],
    [
      'channels without stable',
      ['--url-prefix', 'https://cdn.example.com/agent/', '--channels', 'beta'],
      'mngd-release init: --channels beta: expected stable among them (what every device follows): add stable [CONFIG_INVALID]\n',
    ],
    [
      'a Darwin number for macOS',
      ['--url-prefix', 'https://cdn.example.com/agent/', '--supported-macos', '21.0-26.1'],
      'mngd-release init: --supported-macos "21.0-26.1": 21.0 looks like a Darwin (kernel) version; macOS 12 is 12.0: write the product version sw_vers -productVersion prints; expected the oldest and newest macOS product versions the fleet runs, e.g. 12.0-26.1 [CONFIG_INVALID]\n',
    ],
    [
      'no --url-prefix',
      [],
      'mngd-release init: --url-prefix URL is required: the https:// folder your packages are served from [USAGE]\nRun "mngd-release init --help" for usage.\n',
    ],
  ] as const) {
    it(`refuses ${what}: exit 2, the whole fix said, nothing written`, async () => {
      const root = scratch();
      const r = await runRelease(['init', ...args, '--key-out', 'signing.key'], { cwd: root, now: NOW });
      assert.equal(r.code, 2, r.stderr);
      assert.equal(r.stderr, says);
      assert.deepEqual(readdirSync(root), []);
    });
  }

  it('never writes over an existing policy (nor a key file): exit 2, nothing changed', async () => {
    const root = scratch();
    mkdirSync(join(root, 'releases'));
    writeFileSync(join(root, 'releases', 'policy.yaml'), 'channels: [stable]\n');
    const r = await runRelease(['init', '--url-prefix', 'https://cdn.example.com/agent/'], { cwd: root, now: NOW });
    assert.equal(r.code, 2);
    assert.equal(
      r.stderr,
      'mngd-release init: releases/policy.yaml already exists: init starts a new organisation and never writes over a policy; change it by pull request (mngd-release keygen makes another key) [CONFIG_INVALID]\n',
    );
    assert.equal(readFileSync(join(root, 'releases', 'policy.yaml'), 'utf8'), 'channels: [stable]\n');
    assert.deepEqual(readdirSync(join(root, 'releases')), ['policy.yaml']);

    const other = scratch();
    writeFileSync(join(other, 'signing.key'), 'old\n');
    const k = await runRelease(['init', '--url-prefix', 'https://cdn.example.com/agent/', '--key-out', 'signing.key'], {
      cwd: other,
      now: NOW,
    });
    assert.equal(k.code, 2);
    assert.equal(
      k.stderr,
      'mngd-release init: --key-out signing.key: the file exists (refusing to overwrite a key) [CONFIG_INVALID]\n',
    );
    assert.equal(readFileSync(join(other, 'signing.key'), 'utf8'), 'old\n');
    assert.equal(existsSync(join(other, 'releases')), false);
  });

  it('--help names every flag', async () => {
    const r = await runRelease(['init', '--help'], { cwd: scratch() });
    assert.equal(r.code, 0);
    for (const f of [
      '--url-prefix',
      '--channels',
      '--supported-macos',
      '--target',
      '--region',
      '--key-out',
      '--key-comment',
      '--releases',
      '--json',
    ])
      assert.ok(r.stdout.includes(`  ${f} `), f);
  });
});
