/**
 * A spec-2 helper (the real `mngd-helper serve --spec 2`) with its own stand-in sw_vers and
 * sysctl, and the real `mngd-agent check --once` against a signed spec-2 manifest on loopback
 * HTTPS. The helper chooses with its own facts: it installs the package for its hardware and
 * refuses one the hardware cannot run, even when the agent asks for it; nothing is installed then.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requestInstall, sendManifest } from '../../helper/client.js';
import { resolveConfig } from '../../helper/config.js';
import { testTls } from '../support/tls.js';
import { macTools, type MacKind } from '../support/mac-tools.js';
import { manifest2Bytes, type Arch, type Release2 } from '../support/manifest2.js';
import { servePackage } from '../support/https-server.js';
import { startCdn, type Cdn } from '../agent/support.js';
import { runAgent } from '../agent/process.js';
import {
  makePkg,
  newKey,
  releaseOf,
  signedManifest,
  startHelper,
  type HelperProcess,
  type TestPkg,
} from './harness.js';

describe('a spec-2 helper, with its own facts', () => {
  const key = newKey();
  let work: string;
  let cdn: Cdn;
  let sequence = 1_796_100_000;
  const pkgs: Record<string, TestPkg> = {};

  const artifact = (version: string, arch: Arch) => {
    const p = pkgs[`${version}-${arch}`]!;
    return { arch, download_url: cdn.srv.url(`/pkgs/${version}-${arch}.pkg`), sha256: p.sha256, size: p.size };
  };
  const rel = (version: string, extra: Partial<Release2> = {}): Release2 => ({
    version,
    artifacts: [artifact(version, 'arm64'), artifact(version, 'x86_64')],
    ...extra,
  });
  /** 1.1.0 needs macOS 13; 1.0.4 runs anywhere; both ship arm64 and x86_64 packages. */
  const manifest = (): string =>
    manifest2Bytes(
      { releases: [rel('1.1.0', { macos_min: '13.0' }), rel('1.0.4')], sequence: ++sequence, now: new Date() },
      [key],
    ).toString('utf8');

  /** A spec-2 helper on a Mac of this kind, with 1.0.3 installed. */
  const helperOn = (macos: string, kind: MacKind, opts: { swVersFails?: boolean } = {}): Promise<HelperProcess> => {
    const tools = macTools(mkdtempSync(join(work, 'helper-tools-')), macos, kind, opts);
    return startHelper({
      key,
      installed: '1.0.3',
      extraArgs: ['--spec', '2', '--sw-vers', tools.swVers, '--sysctl', tools.sysctl],
    });
  };
  const install = (h: HelperProcess, version: string, arch: Arch) =>
    requestInstall(
      h.socket,
      { manifest: manifest(), version, pkg_path: pkgs[`${version}-${arch}`]!.path, arch },
      { timeoutMs: 20_000 },
    );
  const nothingInstalled = (h: HelperProcess) => {
    assert.deepEqual(h.invocations(), [], 'the installer never ran');
    assert.equal(h.installedVersion(), '1.0.3');
    assert.deepEqual(h.stagedFiles(), []);
  };

  before(async () => {
    work = mkdtempSync(join(tmpdir(), 'mngd-helper-spec2-'));
    cdn = await startCdn();
    for (const v of ['1.0.4', '1.1.0'])
      for (const a of ['arm64', 'x86_64'] as Arch[]) {
        const dir = join(work, `${v}-${a}`);
        mkdirSync(dir);
        const p = makePkg(dir, v);
        pkgs[`${v}-${a}`] = p;
        cdn.addPkg({ version: v, bytes: readFileSync(p.path), path: `/pkgs/${v}-${a}.pkg` });
      }
  });
  after(async () => {
    await cdn.close();
    rmSync(work, { recursive: true, force: true });
  });

  it('refuses the arm64 package on an Intel Mac even when asked for it (ARCH_NOT_RUNNABLE); nothing installed', async () => {
    const h = await helperOn('14.6', 'intel');
    try {
      const r = await install(h, '1.1.0', 'arm64');
      assert.equal(r.ok ? 'installed' : r.error.code, 'ARCH_NOT_RUNNABLE');
      assert.match(
        !r.ok ? r.error.message : '',
        /arm64 package of 1\.1\.0 cannot run on this Mac's x86_64 hardware \(macOS 14\.6, x86_64, read by the helper itself\)/,
      );
      nothingInstalled(h);
      // The control: the x86_64 package of the same release installs.
      const ok = await install(h, '1.1.0', 'x86_64');
      assert.equal(ok.ok ? ok.outcome : ok.error.message, 'installed');
      assert.equal(h.installedVersion(), '1.1.0');
      assert.match(readFileSync(h.logFile, 'utf8'), /ARCH_NOT_RUNNABLE/);
    } finally {
      await h.stop();
    }
  });

  it('refuses what its own facts do not offer: another artifact, a macOS it cannot run, facts it cannot read', async () => {
    const apple = await helperOn('14.6', 'apple');
    const old = await helperOn('12.7.6', 'rosetta');
    const blind = await helperOn('14.6', 'apple', { swVersFails: true });
    try {
      const x86 = await install(apple, '1.1.0', 'x86_64'); // runnable through Rosetta, but not the one chosen
      assert.equal(x86.ok ? 'installed' : x86.error.code, 'ARTIFACT_NOT_CHOSEN');
      assert.match(!x86.ok ? x86.error.message : '', /as its arm64 package, not the x86_64 one/);
      const needs13 = await install(old, '1.1.0', 'arm64');
      assert.equal(needs13.ok ? 'installed' : needs13.error.code, 'VERSION_NOT_OFFERED');
      assert.match(!needs13.ok ? needs13.error.message : '', /it offers 1\.0\.4 to this Mac/);
      const unknown = await install(blind, '1.0.4', 'arm64');
      assert.equal(unknown.ok ? 'installed' : unknown.error.code, 'DEVICE_FACTS_UNKNOWN');
      for (const h of [apple, old, blind]) nothingInstalled(h);
    } finally {
      await Promise.all([apple.stop(), old.stop(), blind.stop()]);
    }
  });

  it('reads spec 2 only: a spec-1 manifest is refused (MANIFEST_SPEC), for an install and as a manifest to follow', async () => {
    const h = await helperOn('14.6', 'apple');
    try {
      const p = pkgs['1.0.4-arm64']!;
      const spec1 = signedManifest([releaseOf(p)], [key]);
      const r = await requestInstall(h.socket, { manifest: spec1, version: '1.0.4', pkg_path: p.path });
      assert.equal(r.ok ? 'installed' : r.error.code, 'MANIFEST_SPEC');
      const m = await sendManifest(h.socket, spec1);
      assert.equal(m.ok ? 'accepted' : m.error.code, 'MANIFEST_SPEC');
      nothingInstalled(h);
      const v2 = await sendManifest(h.socket, manifest());
      assert.equal(v2.ok ? v2.outcome : v2.error.message, 'accepted');
      assert.match(readFileSync(h.logFile, 'utf8'), /helper follows the spec-2 stable manifest sequence \d+/);
    } finally {
      await h.stop();
    }
  });

  /** The real agent bin, spec 2, with its own stand-in tools, against the real helper. */
  const agentCheck = async (h: HelperProcess, macos: string, kind: MacKind) => {
    const dir = mkdtempSync(join(work, 'agent-'));
    const tools = macTools(join(dir, 'tools'), macos, kind);
    // prettier-ignore
    const r = await runAgent([
      'check', '--once', '--json',
      '--manifest-url', cdn.srv.url('/v2/latest.json'),
      '--trusted-key', key.public_key,
      '--current-version', '1.0.3',
      '--state-dir', join(dir, 'state'),
      '--log-file', join(dir, 'agent.log'),
      '--helper-socket', h.socket,
      '--device-id-file', h.deviceIdFile,
      '--ca-file', testTls().caFile,
      '--sw-vers', tools.swVers,
      '--sysctl', tools.sysctl,
    ]);
    return {
      ...r,
      json: JSON.parse(r.stdout) as Record<string, unknown>,
      log: readFileSync(join(dir, 'agent.log'), 'utf8'),
    };
  };

  it('end to end: the real agent and helper on an Intel Mac on macOS 12 install the x86_64 package', async () => {
    cdn.table['/v2/latest.json'] = servePackage(Buffer.from(manifest()));
    const h = await helperOn('12.7.6', 'intel');
    try {
      const r = await agentCheck(h, '12.7.6', 'intel');
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual([r.json['outcome'], r.json['target'], r.json['arch']], ['updated', '1.0.4', 'x86_64']);
      assert.match(
        r.log,
        /SelfUpdate: check: current 1\.0\.3 \(macOS 12\.7\.6, x86_64\), manifest v2 stable seq \d+ offers 1\.0\.4/,
      );
      assert.equal(h.installedVersion(), '1.0.4');
      assert.equal(h.invocations().length, 1);
    } finally {
      await h.stop();
    }
  });

  it('end to end: an agent that believes it runs on Apple silicon asks for arm64; the Intel helper refuses, nothing installed', async () => {
    cdn.table['/v2/latest.json'] = servePackage(Buffer.from(manifest()));
    const h = await helperOn('14.6', 'intel');
    try {
      const r = await agentCheck(h, '14.6', 'apple');
      assert.equal(r.code, 1, r.stderr);
      assert.deepEqual([r.json['outcome'], r.json['step'], r.json['code']], ['failed', 'install', 'ARCH_NOT_RUNNABLE']);
      nothingInstalled(h);
    } finally {
      await h.stop();
    }
  });
});

describe('helper config: the spec and the fact commands', () => {
  const key = newKey().public_key;
  it('defaults to spec 1 and the macOS tools; takes spec 2 and other tools from flags or the config file', () => {
    const d = resolveConfig({ 'trusted-key': [key] }, () => '', 'darwin');
    assert.deepEqual([d.spec, d.factsCommands], [1, { swVers: '/usr/bin/sw_vers', sysctl: '/usr/sbin/sysctl' }]);
    const f = resolveConfig({ config: '/etc/h.json', 'trusted-key': [key] }, () =>
      JSON.stringify({ spec: 2, sw_vers: '/opt/sw_vers', sysctl: '/opt/sysctl' }),
    );
    assert.deepEqual([f.spec, f.factsCommands], [2, { swVers: '/opt/sw_vers', sysctl: '/opt/sysctl' }]);
    assert.equal(resolveConfig({ 'trusted-key': [key], spec: '2' }).spec, 2);
  });
  it('refuses a spec that is not 1 or 2, and a relative tool path (exit 2: a setting)', () => {
    for (const [flags, want] of [
      [{ spec: '3' }, /--spec must be 1 or 2/],
      [{ 'sw-vers': 'sw_vers' }, /--sw-vers must be an absolute path/],
      [{ sysctl: 'bin/sysctl' }, /--sysctl must be an absolute path/],
    ] as const)
      assert.throws(
        () => resolveConfig({ 'trusted-key': [key], ...flags }),
        (e: Error & { code?: string }) => e.code === 'CONFIG_INVALID' && want.test(e.message),
      );
  });
});
