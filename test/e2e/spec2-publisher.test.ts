/**
 * End to end, spec 2: release files with per-arch artifacts and a macOS requirement, the real
 * publisher (`mngd-release publish`) writing v2/latest.json, served on loopback HTTPS; on each
 * simulated Mac the real `mngd-agent check --once` (spec 2, from the v2 URL) and the real
 * `mngd-helper serve --spec 2`, each with its own stand-in sw_vers and sysctl. Each Mac installs
 * the package for its hardware of the newest release its macOS can run.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateSigningKey, signingKeyFromText } from '../../schema/keys.js';
import type { Manifest2 } from '../../schema/types.js';
import { runRelease } from '../support/cli.js';
import { macTools, type MacKind } from '../support/mac-tools.js';
import { servePackage } from '../support/https-server.js';
import { testTls } from '../support/tls.js';
import { startCdn, type Cdn } from '../agent/support.js';
import { runAgent } from '../agent/process.js';
import { makePkg, startHelper, type TestPkg } from '../helper/harness.js';

describe('a spec-2 agent and helper against the real publisher', () => {
  const key = generateSigningKey();
  let work: string;
  let cdn: Cdn;
  const pkgs: Record<string, TestPkg> = {};

  before(async () => {
    work = mkdtempSync(join(tmpdir(), 'mngd-e2e-spec2-'));
    cdn = await startCdn();
    for (const [name, version] of [
      ['1.0.4-universal', '1.0.4'],
      ['1.1.0-arm64', '1.1.0'],
      ['1.1.0-x86_64', '1.1.0'],
    ] as const) {
      const dir = join(work, 'pkgs', name);
      mkdirSync(dir, { recursive: true });
      pkgs[name] = makePkg(dir, version);
      cdn.addPkg({ version, bytes: readFileSync(pkgs[name].path), path: `/pkgs/${name}.pkg` });
    }
  });
  after(async () => {
    await cdn.close();
    rmSync(work, { recursive: true, force: true });
  });

  /** One Mac: its helper (spec 2, its own facts) and one agent check (spec 2, its own facts). */
  async function mac(macos: string, kind: MacKind) {
    const dir = mkdtempSync(join(work, `mac-${kind}-`));
    const helperTools = macTools(join(dir, 'helper-tools'), macos, kind);
    const helper = await startHelper({
      key: signingKeyFromText(key.privateKeyText),
      installed: '1.0.3',
      extraArgs: ['--spec', '2', '--sw-vers', helperTools.swVers, '--sysctl', helperTools.sysctl],
    });
    try {
      const tools = macTools(join(dir, 'agent-tools'), macos, kind);
      // prettier-ignore
      const run = await runAgent([
        'check', '--once', '--json',
        '--manifest-url', cdn.srv.url('/v2/latest.json'),
        '--trusted-key', key.public_key,
        '--version-file', helper.versionFile,
        '--state-dir', join(dir, 'state'),
        '--log-file', join(dir, 'agent.log'),
        '--helper-socket', helper.socket,
        '--device-id-file', helper.deviceIdFile,
        '--ca-file', testTls().caFile,
        '--sw-vers', tools.swVers,
        '--sysctl', tools.sysctl,
      ]);
      assert.equal(run.code, 0, `${run.stderr}\n${run.stdout}`);
      return {
        result: JSON.parse(run.stdout) as { outcome: string; target: string; arch: string },
        installed: helper.installedVersion(),
        log: readFileSync(join(dir, 'agent.log'), 'utf8'),
      };
    } finally {
      await helper.stop();
    }
  }

  it('publishes spec 2 from release files, and each Mac installs what its macOS and hardware run', async () => {
    const origin = cdn.srv.origin;
    const releases = join(work, 'repo', 'releases');
    mkdirSync(releases, { recursive: true });
    writeFileSync(
      join(releases, 'policy.yaml'),
      `allowed_url_prefixes: ["${origin}/pkgs/"]\nchannels: [stable]\nsupported_macos: {oldest: "12.0", newest: "26.1"}\n` +
        `trusted_keys:\n  - keyid: ${key.keyid}\n    public_key: ${key.public_key}\n`,
    );
    const art = (name: string, arch: string) =>
      `  - {arch: ${arch}, download_url: "${origin}/pkgs/${name}.pkg", sha256: "${pkgs[name]!.sha256}", size: ${pkgs[name]!.size}}\n`;
    writeFileSync(
      join(releases, '1.0.4.yaml'),
      `version: "1.0.4"\ndownload_url: ${origin}/pkgs/1.0.4-universal.pkg\nsha256: ${pkgs['1.0.4-universal']!.sha256}\nsize: ${pkgs['1.0.4-universal']!.size}\n`,
    );
    writeFileSync(
      join(releases, '1.1.0.yaml'),
      `version: "1.1.0"\nartifacts:\n${art('1.1.0-arm64', 'arm64')}${art('1.1.0-x86_64', 'x86_64')}requires: {macos_min: "13.0"}\n`,
    );
    const bucket = join(work, 'bucket');
    const pub = await runRelease(['publish', '--target', bucket], {
      cwd: join(work, 'repo'),
      env: { MNGD_SIGNING_KEY: key.privateKeyText },
    });
    assert.equal(pub.code, 0, pub.stderr);
    const v2bytes = readFileSync(join(bucket, 'v2', 'latest.json'));
    const v2 = JSON.parse(v2bytes.toString('utf8')) as Manifest2;
    assert.deepEqual(
      v2.signed.releases.map((r) => r.version),
      ['1.1.0', '1.0.4'],
    );
    cdn.table['/v2/latest.json'] = servePackage(v2bytes);

    const intel12 = await mac('12.7.6', 'intel');
    assert.deepEqual(
      [intel12.result.outcome, intel12.result.target, intel12.result.arch, intel12.installed],
      ['updated', '1.0.4', 'universal', '1.0.4'],
    );
    assert.match(
      intel12.log,
      /check: current 1\.0\.3 \(macOS 12\.7\.6, x86_64\), manifest v2 stable seq \d+ offers 1\.0\.4/,
    );

    const rosetta14 = await mac('14.6', 'rosetta');
    assert.deepEqual(
      [rosetta14.result.outcome, rosetta14.result.target, rosetta14.result.arch, rosetta14.installed],
      ['updated', '1.1.0', 'arm64', '1.1.0'],
    );
    const intel15 = await mac('15.1', 'intel');
    assert.deepEqual([intel15.result.target, intel15.result.arch, intel15.installed], ['1.1.0', 'x86_64', '1.1.0']);
  });
});
