/**
 * Issue 7 end to end: the real agent and the real helper as child processes, a loopback HTTPS
 * "CDN", and the stand-in installer. The agent downloads and verifies, the helper verifies again
 * and installs (the stand-in writes the new version), the agent exits for launchd, and a
 * relaunched agent reports the new version.
 */
import assert from 'node:assert/strict';
import { chmodSync, copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { routes, servePackage, startHttpsServer, type TestServer } from '../support/https-server.js';
import { runAgent } from '../agent/process.js';
import { launchOf, packagedBinDir } from '../../scripts/package/launch.js';
import { testTls } from '../support/tls.js';
import { makePkg, newKey, releaseOf, signedManifest, STAND_IN, startHelper, type HelperProcess } from './harness.js';

/**
 * A loopback CDN offering `pkg` (1.0.3) over 1.0.2, signed with `key`, and the agent's flags for
 * it and the helper.
 */
async function serveUpdate(
  work: string,
  key: ReturnType<typeof newKey>,
  helper: HelperProcess,
  pkg: ReturnType<typeof makePkg>,
  extra: Partial<ReturnType<typeof releaseOf>> = {},
): Promise<{ cdn: TestServer; agentArgs: string[] }> {
  const pkgPath = '/pkgs/mngd-agent-1.0.3.pkg';
  let manifest = '';
  const cdn = await startHttpsServer(
    routes({
      [pkgPath]: servePackage(readFileSync(pkg.path)),
      '/latest.json': (req, res, srv) => servePackage(Buffer.from(manifest))(req, res, srv),
    }),
  );
  manifest = signedManifest(
    [{ ...releaseOf(pkg), download_url: cdn.url(pkgPath), ...extra }, releaseOf(makePkg(work, '1.0.2'))],
    [key],
  );
  const agentArgs = [
    '--manifest-url',
    cdn.url('/latest.json'),
    '--trusted-key',
    key.public_key,
    '--version-file',
    helper.versionFile,
    '--state-dir',
    join(work, 'agent-state'),
    '--helper-socket',
    helper.socket,
    '--log-file',
    join(work, 'agent.log'),
    '--ca-file',
    testTls().caFile,
    '--device-id',
    'e2e-device',
  ];
  return { cdn, agentArgs };
}

describe('the programs the end-to-end tests run', () => {
  it('are the single executables, with no node on their PATH, when MNGD_BIN_DIR names them', () => {
    const agent = launchOf('mngd-agent', ['--help']);
    const helper = launchOf('mngd-helper', ['--help']);
    const dir = packagedBinDir();
    if (dir === null) {
      assert.match(agent.command, /dist\/agent\/cli\.js$/);
      assert.deepEqual(helper.args.slice(1), ['--help']);
      return;
    }
    assert.equal(agent.command, join(dir, 'mngd-agent'));
    assert.equal(helper.command, join(dir, 'mngd-helper'));
    const which = spawnSync('/bin/sh', ['-c', 'command -v node npm npx || echo none'], { env: agent.env });
    assert.equal(which.stdout.toString().trim(), 'none', 'node is on the PATH the binaries get');
    const help = spawnSync(agent.command, agent.args, { env: agent.env });
    assert.equal(help.status, 0, help.stderr.toString());
  });
});

describe('agent and helper together', () => {
  const key = newKey();
  let helper: HelperProcess;
  let cdn: TestServer;
  let work: string;
  let agentArgs: string[];

  before(async () => {
    work = mkdtempSync(join(tmpdir(), 'mngd-e2e-'));
    helper = await startHelper({ key, installed: '1.0.2' });
    ({ cdn, agentArgs } = await serveUpdate(work, key, helper, makePkg(work, '1.0.3', 300_000)));
  });
  after(async () => {
    await helper.stop();
    await cdn.close();
    rmSync(work, { recursive: true, force: true });
    rmSync(helper.dir, { recursive: true, force: true });
  });

  it('updates 1.0.2 -> 1.0.3: the agent exits for relaunch and the relaunched agent reports 1.0.3', async () => {
    const before = await runAgent([
      'check',
      '--once',
      '--json',
      ...agentArgs,
      '--current-version',
      '1.0.2',
      '--helper-socket',
      join(work, 'nobody-here.sock'),
    ]);
    assert.equal(JSON.parse(before.stdout).code, 'HELPER_UNREACHABLE', 'without a helper nothing is installed');
    assert.equal(helper.installedVersion(), '1.0.2');

    const run = await runAgent(['run', ...agentArgs, '--first-delay', '0']);
    assert.equal(run.code, 0, run.stderr);
    const agentLog = readFileSync(join(work, 'agent.log'), 'utf8');
    assert.match(agentLog, /SelfUpdate: install complete 1\.0\.2 -> 1\.0\.3/);

    // The helper ran the installer on its own staged copy, not on the agent's download.
    const calls = helper.invocations();
    assert.equal(calls.length, 1);
    assert.equal(calls[0]![0], '-pkg');
    assert.ok(calls[0]![1]!.startsWith(helper.staging + '/'));
    assert.deepEqual(calls[0]!.slice(2), ['-target', '/']);
    assert.equal(helper.installedVersion(), '1.0.3');
    assert.match(readFileSync(helper.logFile, 'utf8'), /SelfUpdate: helper install complete 1\.0\.2 -> 1\.0\.3/);

    const relaunched = await runAgent(['check', '--once', '--json', ...agentArgs]);
    assert.equal(relaunched.code, 0, relaunched.stderr);
    const result = JSON.parse(relaunched.stdout) as { outcome: string; current: string };
    assert.equal(result.outcome, 'up-to-date');
    assert.equal(result.current, '1.0.3');
    assert.equal(helper.invocations().length, 1, 'nothing is installed twice');
  });
});

describe('agent and a helper whose installer vanished after it started', () => {
  const key = newKey();
  let helper: HelperProcess;
  let cdn: TestServer;
  let work: string;
  let installer: string;
  let agentArgs: string[];
  let sha: string;

  before(async () => {
    work = mkdtempSync(join(tmpdir(), 'mngd-e2e-gone-'));
    installer = join(work, 'installer');
    copyFileSync(STAND_IN, installer);
    chmodSync(installer, 0o755);
    helper = await startHelper({ key, installed: '1.0.2', extraArgs: ['--installer', installer] });
    const pkg = makePkg(work, '1.0.3', 50_000);
    sha = pkg.sha256;
    // A forced update (floor 1.0.3), the case where a cool-down would also hold checkin for a day.
    ({ cdn, agentArgs } = await serveUpdate(work, key, helper, pkg, { min_required_version: '1.0.3' }));
  });
  after(async () => {
    await helper.stop();
    await cdn.close();
    rmSync(work, { recursive: true, force: true });
    rmSync(helper.dir, { recursive: true, force: true });
  });

  it('stays on its version, says the installer could not be started, and does not count it toward the cool-down', async () => {
    rmSync(installer);
    const failures = (): number | undefined => {
      const state = JSON.parse(readFileSync(join(work, 'agent-state', 'state.json'), 'utf8')) as {
        cooldowns: Record<string, { failures: number }>;
      };
      return state.cooldowns[sha]?.failures;
    };
    for (let i = 1; i <= 3; i++) {
      const r = await runAgent(['check', '--once', '--json', ...agentArgs]);
      const result = JSON.parse(r.stdout) as { outcome: string; code: string; step: string; blocked: boolean };
      assert.equal(result.outcome, 'failed', `check ${i}: ${r.stdout}`);
      assert.equal(result.step, 'install');
      assert.equal(result.code, 'INSTALLER_UNAVAILABLE');
      assert.equal(result.blocked, true);
      assert.equal(failures(), undefined, `check ${i}: the package's failure count does not grow`);
    }
    assert.equal(helper.installedVersion(), '1.0.2');
    assert.deepEqual(helper.stagedFiles(), [], 'the staged copy is removed');
    const warns = readFileSync(join(work, 'agent.log'), 'utf8')
      .split('\n')
      .filter((l) => l.includes('SelfUpdate: install failed'));
    assert.equal(warns.length, 3);
    for (const w of warns) {
      assert.ok(
        w.includes("the helper's installer could not be started") &&
          w.includes("check the helper's --installer") &&
          w.includes(installer),
        w,
      );
      assert.ok(w.includes('not counted toward the cool-down') && w.includes('staying on 1.0.2'), w);
    }
    assert.match(
      readFileSync(helper.logFile, 'utf8'),
      /helper install refused or failed 1\.0\.2 -> 1\.0\.3: INSTALLER_UNAVAILABLE: the installer .* could not be started/,
    );

    // Once the helper's installer is back, the package is tried at once: it was never cooled down.
    copyFileSync(STAND_IN, installer);
    chmodSync(installer, 0o755);
    assert.ok(existsSync(installer));
    const fixed = await runAgent(['check', '--once', '--json', ...agentArgs]);
    assert.equal((JSON.parse(fixed.stdout) as { outcome: string }).outcome, 'updated', fixed.stdout);
    assert.equal(helper.installedVersion(), '1.0.3');
  });
});
