import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateSigningKey } from '../../../schema/keys.js';
import type { Manifest2 } from '../../../schema/types.js';
import { runRelease } from '../../support/cli.js';
import {
  pkg,
  sha256,
  startCdn,
  startStandInHelper,
  type Cdn,
  type Signer,
  type StandInHelper,
} from '../../agent/support.js';
import { runAgent, writeAgentConfig } from '../../agent/process.js';

// A spec-1 agent in the field (today's code path, the real mngd-agent bin) against the new
// publisher: it reads latest.json strictly, so it must get a manifest it accepts, and take the
// newest release it can run, never one spec 1 cannot describe.
describe('a spec-1 agent against the spec-2 publisher', () => {
  const key = generateSigningKey();
  const p102 = pkg('1.0.2');
  const p103 = pkg('1.0.3');
  let cdn: Cdn;
  let helper: StandInHelper;
  let work: string;

  before(async () => {
    work = mkdtempSync(join(tmpdir(), 'mngd-spec1-'));
    cdn = await startCdn();
    cdn.addPkg(p102);
    cdn.addPkg(p103);
    helper = await startStandInHelper(work);
  });
  after(async () => {
    await helper.close();
    await cdn.close();
    rmSync(work, { recursive: true, force: true });
  });

  it('updates 1.0.2 -> 1.0.3, though spec 2 offers 1.1.0 and 1.2.0 and a floor it cannot reach', async () => {
    const origin = cdn.srv.origin;
    const releases = join(work, 'repo', 'releases');
    mkdirSync(releases, { recursive: true });
    writeFileSync(
      join(releases, 'policy.yaml'),
      `allowed_url_prefixes: ["${origin}/pkgs/"]\nchannels: [stable]\nsupported_macos: {oldest: "12.0", newest: "26.1"}\n` +
        `trusted_keys:\n  - keyid: ${key.keyid}\n    public_key: ${key.public_key}\n`,
    );
    const single = (p: typeof p102) =>
      `version: "${p.version}"\ndownload_url: ${origin}${p.path}\nsha256: ${sha256(p.bytes)}\nsize: ${p.bytes.length}\n`;
    writeFileSync(join(releases, '1.0.2.yaml'), single(p102));
    writeFileSync(join(releases, '1.0.3.yaml'), single(p103));
    // no universal package: spec 1 cannot describe it
    writeFileSync(
      join(releases, '1.1.0.yaml'),
      `version: "1.1.0"\nartifacts:\n  - {arch: arm64, download_url: "${origin}/pkgs/a-1.1.0.pkg", sha256: "${'e'.repeat(64)}", size: 5}\n` +
        `  - {arch: x86_64, download_url: "${origin}/pkgs/x-1.1.0.pkg", sha256: "${'f'.repeat(64)}", size: 5}\n`,
    );
    // needs macOS 14 and raises the floor, leaving older Macs behind on purpose
    writeFileSync(
      join(releases, '1.2.0.yaml'),
      `version: "1.2.0"\ndownload_url: ${origin}/pkgs/u-1.2.0.pkg\nsha256: ${'d'.repeat(64)}\nsize: 5\n` +
        `requires: {macos_min: "14.0"}\nmin_required_version: "1.2.0"\ndesupports: {macos_below: "14.0"}\n`,
    );
    const bucket = join(work, 'bucket');
    const pub = await runRelease(['publish', '--target', bucket], {
      cwd: join(work, 'repo'),
      env: { MNGD_SIGNING_KEY: key.privateKeyText },
    });
    assert.equal(pub.code, 0, pub.stderr);
    assert.match(
      pub.stdout,
      /spec-1 readers: 1\.2\.0 not offered \(requires macOS ≥ 14\.0\); 1\.1\.0 not offered \(no universal package \(arm64, x86_64 only\)\); floor 1\.2\.0 dropped/,
    );
    const v2 = JSON.parse(readFileSync(join(bucket, 'v2', 'latest.json'), 'utf8')) as Manifest2;
    assert.deepEqual(
      [v2.signed.releases.map((r) => r.version), v2.signed.min_required_version],
      [['1.2.0', '1.1.0'], '1.2.0'],
    );

    cdn.setManifest(readFileSync(join(bucket, 'latest.json')));
    const signer = { publicKey: key.public_key } as Signer;
    const config = await writeAgentConfig(work, cdn, signer, helper.socketPath);
    const run = await runAgent(['check', '--once', '--json', '--config', config]);
    assert.equal(run.code, 0, run.stderr);
    const out = JSON.parse(run.stdout) as { outcome: string; current: string; target: string; blocked: boolean };
    assert.deepEqual([out.outcome, out.current, out.target, out.blocked], ['updated', '1.0.2', '1.0.3', false]);
    assert.equal(helper.received.length, 1);
    assert.equal(helper.received[0]!.request.version, '1.0.3');
    assert.equal(helper.received[0]!.sha256, sha256(p103.bytes));
  });
});
