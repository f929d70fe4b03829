/**
 * A spec-2 agent (in process, real parts): a signed spec-2 manifest on a loopback HTTPS CDN, the
 * Mac's facts from stand-in sw_vers and sysctl (real child processes), a stand-in helper on a
 * real socket. It reads v2 only, names its facts, takes the package for its hardware, and an
 * unsupported floor or unreadable facts never block checkin.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { resolveConfig, type Platform } from '../../agent/config.js';
import { StateStore } from '../../agent/state.js';
import { commandFacts } from '../../helper/device-facts.js';
import { bucket } from '../../schema/choose.js';
import { macTools, type MacKind } from '../support/mac-tools.js';
import { manifest2Bytes, type Arch, type Manifest2Input, type Release2 } from '../support/manifest2.js';
import { servePackage } from '../support/https-server.js';
import { agentWorld, manifestBytes, pkg, release, requestsTo, sha256, T0, warnings, type Pkg } from './support.js';

const ARCHES: Arch[] = ['arm64', 'x86_64'];
const archPkg = (version: string, arch: Arch): Pkg => ({
  ...pkg(version, 32 * 1024),
  path: `/pkgs/mngd-agent-${version}-${arch}.pkg`,
});

describe('a spec-2 agent', () => {
  const pkgs = Object.fromEntries(
    ['1.0.4', '1.1.0'].flatMap((v) => ARCHES.map((a) => [`${v}-${a}`, archPkg(v, a)])),
  ) as Record<string, Pkg>;
  const w = agentWorld(Object.values(pkgs));
  // Sequences are the publish time in Unix seconds: near the fixtures' clock (T0), never days ahead
  // of it (MANIFEST_FROM_FUTURE).
  let seq = Math.floor(T0.getTime() / 1000);
  const rel = (version: string, extra: Partial<Release2> = {}): Release2 => ({
    version,
    artifacts: ARCHES.map((arch) => {
      const p = pkgs[`${version}-${arch}`]!;
      return { arch, download_url: `${w.cdn.srv.origin}${p.path}`, sha256: sha256(p.bytes), size: p.bytes.length };
    }),
    ...extra,
  });
  const publish = (m: Omit<Manifest2Input, 'sequence' | 'now'>): void => {
    const bytes = manifest2Bytes({ now: T0, ...m, sequence: ++seq }, [w.signer.key]);
    w.cdn.table['/v2/latest.json'] = servePackage(bytes, { etag: `"v2-${seq}"`, lastModified: null });
  };
  /** a spec-2 agent on this kind of Mac */
  const mac = async (
    macos: string,
    kind: MacKind,
    extra: { current?: string; deviceId?: string; swVersFails?: boolean } = {},
  ) => {
    const f = await w.make({
      current: extra.current ?? '1.0.3',
      ...(extra.deviceId ? { deviceId: extra.deviceId } : {}),
    });
    const state = new StateStore(join(f.dir, 'state'), 2);
    await state.init();
    const facts = commandFacts(
      macTools(join(f.dir, 'tools'), macos, kind, { swVersFails: extra.swVersFails ?? false }),
    );
    const over = { spec: 2 as const, manifestUrl: w.cdn.srv.url('/v2/latest.json'), state, facts };
    return { f, state, check: () => f.check(over) };
  };
  const newest = () => [rel('1.1.0', { macos_min: '13.0' }), rel('1.0.4')];

  it('an Intel Mac on macOS 12 names its facts and takes the x86_64 package of the newest release it can run', async () => {
    publish({ releases: newest() });
    const { f, check } = await mac('12.7.6', 'intel');
    const r = await check();
    assert.equal(r.outcome, 'updated');
    assert.deepEqual(
      [r.target, r.arch, r.device],
      ['1.0.4', 'x86_64', { macos: '12.7.6', hwArch: 'x86_64', translated: false }],
    );
    const got = w.helper.received[0]!;
    assert.deepEqual([got.request.version, got.request.arch], ['1.0.4', 'x86_64']);
    assert.equal(got.sha256, sha256(pkgs['1.0.4-x86_64']!.bytes));
    assert.equal(requestsTo(w.cdn, pkgs['1.0.4-arm64']!.path).length, 0, 'the other arch is never downloaded');
    const line = f.log.of('INFO').find((l) => l.startsWith('SelfUpdate: check:'))!;
    assert.match(
      line,
      /^SelfUpdate: check: current 1\.0\.3 \(macOS 12\.7\.6, x86_64\), manifest v2 stable seq \d+ offers 1\.0\.4 \(rollout 100 %, this device in cohort, bucket \d+\.\d\d\); the x86_64 package -> updating$/,
    );
    assert.deepEqual(warnings(f.log), []);
  });

  it('an x86_64 agent under Rosetta takes the arm64 package: the hardware decides, not the process', async () => {
    publish({ releases: newest() });
    const { f, check } = await mac('14.6', 'rosetta');
    const r = await check();
    assert.deepEqual([r.outcome, r.target, r.arch], ['updated', '1.1.0', 'arm64']);
    assert.equal(w.helper.received[0]!.sha256, sha256(pkgs['1.1.0-arm64']!.bytes));
    assert.ok(f.log.of('INFO').some((l) => l.includes('(macOS 14.6, arm64 (this process under Rosetta))')));
  });

  it('a floor its macOS cannot reach makes the Mac unsupported: one warning, checkin not blocked, the newest it can run taken', async () => {
    publish({ releases: newest(), floor: '1.1.0' });
    const { f, check } = await mac('12.7.6', 'apple');
    const r = await check();
    assert.deepEqual([r.outcome, r.target, r.blocked], ['updated', '1.0.4', false]);
    assert.match(r.unsupported!, /needs another macOS than 12\.7\.6/);
    const warned = warnings(f.log);
    assert.equal(warned.length, 1);
    assert.match(
      warned[0]!,
      /below the floor 1\.1\.0, but .*: this Mac \(macOS 12\.7\.6, arm64\) cannot satisfy it, so it is unsupported, not blocked; checkin not blocked/,
    );
  });

  it('logs the share in force and its step, and whether this device is in the cohort', async () => {
    const at = (d: string) => `2026-12-0${d}T09:00:00Z`;
    const rollout = [
      { at: null, percent: 0 },
      { at: at('1'), percent: 1 },
      { at: at('3'), percent: 10 },
      { at: at('5'), percent: 50 },
      { at: at('7'), percent: 100 },
    ];
    publish({ releases: [rel('1.0.4', { rollout })] });
    const outside = Array.from({ length: 200 }, (_, i) => `mac-${i}`).find((id) => bucket(id, '1.0.4') >= 10)!;
    const { f, check } = await mac('15.1', 'apple', { deviceId: outside });
    f.clock.now = new Date('2026-12-04T00:00:00Z');
    const r = await check();
    assert.deepEqual([r.outcome, r.target], ['up-to-date', null]);
    const b = (Math.floor(bucket(outside, '1.0.4') * 100) / 100).toFixed(2);
    assert.deepEqual(
      f.log.of('INFO').filter((l) => l.startsWith('SelfUpdate: check:')),
      [
        `SelfUpdate: check: current 1.0.3 (macOS 15.1, arm64), manifest v2 stable seq ${r.manifest?.sequence} offers 1.0.4 (step 2 of 4: 10 % since 2026-12-03T09:00Z, this device not in cohort, bucket ${b}) -> staying on 1.0.3`,
      ],
    );
  });

  it('on a version the manifest no longer lists (yanked): says so and stays, never "up to date", never a downgrade', async () => {
    publish({ releases: newest() });
    const { f, check } = await mac('14.6', 'apple', { current: '1.1.1' });
    const r = await check();
    assert.deepEqual([r.outcome, r.target], ['up-to-date', null]);
    assert.equal(w.helper.received.length, 0);
    assert.deepEqual(
      f.log.of('INFO').filter((l) => l.startsWith('SelfUpdate: check:')),
      [
        `SelfUpdate: check: current 1.1.1 (macOS 14.6, arm64), manifest v2 stable seq ${r.manifest?.sequence} offers nothing newer (newest 1.1.0); 1.1.1 is not offered (yanked?); no downgrade -> staying on 1.1.1`,
      ],
    );
    assert.deepEqual(warnings(f.log), []);
  });

  it('reads v2 only: a spec-1 manifest at its URL is refused by name, never acted on, checkin not blocked', async () => {
    const p = pkgs['1.0.4-x86_64']!;
    w.cdn.table['/v2/latest.json'] = servePackage(
      manifestBytes(w.signer, { releases: [release({ ...p, version: '1.0.4' }, w.cdn.srv.origin)] }),
    );
    const { f, check } = await mac('14.6', 'intel');
    const r = await check();
    assert.deepEqual([r.outcome, r.step, r.code, r.blocked], ['failed', 'verify-manifest', 'MANIFEST_SPEC', false]);
    assert.match(warnings(f.log)[0]!, /is spec 1; this reader follows spec 2 only.*checkin not blocked/);
    assert.equal(w.helper.received.length, 0);
    assert.equal(requestsTo(w.cdn, p.path).length, 0);
  });

  it('facts it cannot read skip the check (DEVICE_FACTS) and never block checkin, even below a floor', async () => {
    publish({ releases: newest(), floor: '1.0.4' });
    const { f, check } = await mac('14.6', 'apple', { swVersFails: true });
    const r = await check();
    assert.deepEqual([r.outcome, r.step, r.code, r.blocked], ['failed', 'device-facts', 'DEVICE_FACTS', false]);
    assert.match(
      warnings(f.log)[0]!,
      /device-facts failed: .*sw_vers failed \(exit 1: "sw_vers: unable to read .*checkin not blocked/,
    );
    assert.equal(w.helper.received.length, 0);
    assert.equal(w.helper.manifests.length, 1, 'the verified manifest still reaches the helper');
  });

  it('keeps its own rollback mark: an older spec-2 manifest is refused, the spec-1 state is untouched', async () => {
    publish({ releases: newest() });
    const { f, state, check } = await mac('14.6', 'apple', { current: '1.1.0' });
    assert.equal((await check()).outcome, 'up-to-date');
    const accepted = (await state.read()).accepted!;
    seq -= 5;
    publish({ releases: newest() });
    const r = await check();
    assert.deepEqual([r.outcome, r.code, r.blocked], ['failed', 'MANIFEST_ROLLBACK', false]);
    assert.deepEqual((await state.read()).accepted, accepted);
    assert.ok(existsSync(join(f.dir, 'state', 'state-v2.json')));
    assert.ok(!existsSync(join(f.dir, 'state', 'state.json')), 'spec 1 has its own sequence and its own mark');
    seq += 10;
  });
});

describe('agent config: the manifest spec', () => {
  const linux: Platform = { platform: 'linux', home: '/home/ada', env: {} };
  const flags = (url: string, spec?: string) => ({
    'manifest-url': url,
    'trusted-key': ['O4Y1d0HvaR1bEhkoSCcYDH696KReANxeVDKMM2kWtNo='],
    ...(spec === undefined ? {} : { 'manifest-spec': spec }),
  });
  it('takes spec 2 from a …/v2/… URL, spec 1 from any other, and the fact commands from config', () => {
    assert.equal(resolveConfig(null, flags('https://cdn.mngd.app/agent/v2/latest.json'), linux).spec, 2);
    assert.equal(resolveConfig(null, flags('https://cdn.mngd.app/agent/latest.json'), linux).spec, 1);
    const c = resolveConfig(
      {
        path: 'agent.json',
        data: { sw_vers_command: '/opt/sw_vers', sysctl_command: '/opt/sysctl', manifest_spec: 2 },
      },
      flags('https://cdn.mngd.app/agent/v2/channels/beta/latest.json'),
      linux,
    );
    assert.deepEqual([c.spec, c.factsCommands], [2, { swVers: '/opt/sw_vers', sysctl: '/opt/sysctl' }]);
    assert.deepEqual(resolveConfig(null, flags('https://cdn.mngd.app/agent/latest.json'), linux).factsCommands, {
      swVers: '/usr/bin/sw_vers',
      sysctl: '/usr/sbin/sysctl',
    });
  });
  it('refuses a spec and a URL that disagree, and a spec that is not 1 or 2 (exit 2: a setting)', () => {
    const cases: [ReturnType<typeof flags>, RegExp][] = [
      [flags('https://cdn.mngd.app/agent/latest.json', '2'), /--manifest-spec: spec 2 is read from a …\/v2\/… URL/],
      [flags('https://cdn.mngd.app/agent/v2/latest.json', '1'), /--manifest-spec: spec 1, but .* is a spec-2/],
      [flags('https://cdn.mngd.app/agent/v2/latest.json', '3'), /--manifest-spec: expected 1 or 2, got "3"/],
    ];
    for (const [f, want] of cases)
      assert.throws(
        () => resolveConfig(null, f, linux),
        (e: Error & { code?: string }) => e.code === 'CONFIG_INVALID' && want.test(e.message),
      );
  });
});
