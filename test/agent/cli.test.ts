import { describe, it, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runAgentCli } from '../../agent/commands.js';
import type { AgentContext } from '../../agent/main.js';
import { status } from '../support/https-server.js';
import {
  manifestBytes,
  newSigner,
  pkg,
  release,
  requestsTo,
  startCdn,
  startStandInHelper,
  T0,
  type Cdn,
  type StandInHelper,
} from './support.js';
import { packagedBinDir } from '../../scripts/package/launch.js';
import { startAgent, waitFor, writeAgentConfig } from './process.js';

function ctx(home: string): AgentContext & { out: string; err: string } {
  const c = {
    out: '',
    err: '',
    stdout: { write: (t: string) => void (c.out += t) },
    stderr: { write: (t: string) => void (c.err += t) },
    env: {},
    platform: 'linux' as const,
    home,
    now: () => new Date(T0.getTime() + 60_000),
  };
  return c;
}

describe('mngd-agent CLI', () => {
  const signer = newSigner();
  const p102 = pkg('1.0.2');
  const p103 = pkg('1.0.3');
  let cdn: Cdn;
  let helper: StandInHelper;
  let root: string;
  let dir: string;
  let n = 0;

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'mngd-agent-cli-'));
    cdn = await startCdn();
    cdn.addPkg(p102);
    cdn.addPkg(p103);
    cdn.table['/checkin'] = status(204);
    helper = await startStandInHelper(root);
  });
  after(async () => {
    await helper.close();
    await cdn.close();
    await rm(root, { recursive: true, force: true });
  });
  beforeEach(async () => {
    dir = join(root, `case-${n++}`);
    helper.received.length = 0;
    cdn.srv.requests.length = 0;
    cdn.setManifest(
      manifestBytes(signer, { releases: [release(p103, cdn.srv.origin), release(p102, cdn.srv.origin)] }),
    );
    await mkdir(dir);
    await writeFile(join(dir, 'VERSION'), '1.0.3\n');
  });

  it('check --once --json updates, prints the outcome and writes SelfUpdate lines to the log file', async () => {
    const config = await writeAgentConfig(dir, cdn, signer, helper.socketPath);
    const c = ctx(dir);
    const code = await runAgentCli(['check', '--once', '--json', '--config', config], c);
    assert.equal(code, 0, c.err);
    const out = JSON.parse(c.out) as { outcome: string; current: string; target: string; blocked: boolean };
    assert.deepEqual([out.outcome, out.current, out.target, out.blocked], ['updated', '1.0.2', '1.0.3', false]);
    const log = await readFile(join(dir, 'logs', 'mngd.log'), 'utf8');
    assert.match(log, /^\S+Z INFO SelfUpdate: check: current 1\.0\.2, manifest stable seq \d+ offers 1\.0\.3/m);
    assert.match(log, /INFO SelfUpdate: install complete 1\.0\.2 -> 1\.0\.3$/m);
    // The agent names itself, with the version of the package it runs from (read once).
    const pkgJson = JSON.parse(await readFile(new URL('../../../package.json', import.meta.url), 'utf8')) as {
      version: string;
    };
    const agents = new Set(cdn.srv.requests.map((r) => r.headers['user-agent']));
    assert.deepEqual([...agents], [`mngd-agent/${pkgJson.version}`]);
  });

  it('check prints a human line by default and exits 1 when the manifest is not trusted', async () => {
    const config = await writeAgentConfig(dir, cdn, newSigner(), helper.socketPath);
    const c = ctx(dir);
    assert.equal(await runAgentCli(['check', '--once', '--config', config], c), 1);
    assert.match(c.out, /^failed at verify-manifest: .* \[MANIFEST_SIGNATURE\]\n$/);
    assert.equal(helper.received.length, 0);
  });

  it('reads the running version from the version file, and flags override the config file', async () => {
    const config = await writeAgentConfig(dir, cdn, signer, helper.socketPath, {
      current_version: undefined,
      version_file: join(dir, 'VERSION'),
      channel: 'beta',
    });
    const c = ctx(dir);
    assert.equal(await runAgentCli(['check', '--json', '--config', config, '--channel', 'stable'], c), 0, c.err);
    assert.equal((JSON.parse(c.out) as { outcome: string; current: string }).current, '1.0.3');
  });

  it('run exits 0 after an install so launchd starts the new version', async () => {
    const config = await writeAgentConfig(dir, cdn, signer, helper.socketPath);
    const child = startAgent([
      'run',
      '--config',
      config,
      '--first-delay',
      '0',
      '--interval',
      '0.05',
      '--checkin-url',
      cdn.srv.url('/checkin'),
    ]);
    const end = await child.exited;
    assert.equal(end.code, 0, child.stderr);
    assert.match(child.stderr, /SelfUpdate: install complete 1\.0\.2 -> 1\.0\.3/);
    assert.match(child.stderr, /SelfUpdate: exiting so launchd starts 1\.0\.3/);
    assert.equal(helper.received.length, 1);
  });

  it('run gives memory back before each sleep: a full GC where the bin exposes gc() (the soak)', async () => {
    const config = await writeAgentConfig(dir, cdn, signer, helper.socketPath, { current_version: '1.0.3' });
    const g = globalThis as { gc?: (options?: { type?: string }) => void };
    const saved = g.gc;
    const stop = new AbortController();
    let full = 0;
    g.gc = (options) => {
      if (options?.type === undefined && ++full >= 2) stop.abort();
    };
    // Bounded: without the GC the loop would run on; stopped after 5 s, the count below fails.
    const limit = setTimeout(() => stop.abort(), 5000);
    try {
      const c = { ...ctx(dir), signal: stop.signal };
      const argv = ['run', '--config', config, '--first-delay', '0', '--interval', '0.02'];
      assert.equal(await runAgentCli(argv, c), 0, c.err);
    } finally {
      clearTimeout(limit);
      g.gc = saved;
    }
    assert.equal(full, 2, 'one full GC before each of two sleeps');
  });

  it('run checks in while up to date, and stops cleanly on SIGTERM', async () => {
    const config = await writeAgentConfig(dir, cdn, signer, helper.socketPath, { current_version: '1.0.3' });
    const child = startAgent([
      'run',
      '--config',
      config,
      '--first-delay',
      '0',
      '--interval',
      '0.02',
      '--checkin-url',
      cdn.srv.url('/checkin'),
    ]);
    await waitFor(async () => requestsTo(cdn, '/checkin').length >= 2, 'two checkins');
    child.proc.kill('SIGTERM');
    const end = await child.exited;
    assert.equal(end.code, 0, child.stderr);
    assert.match(child.stderr, /agent stopping/);
    assert.match(requestsTo(cdn, '/checkin')[0]!.path, /device_id=[0-9a-f]{32}&version=1\.0\.3/);
  });

  it("the bin's run keeps glibc's mmap threshold pinned at 128 KiB (its shebang; the soak's flat RSS)", async () => {
    const config = await writeAgentConfig(dir, cdn, signer, helper.socketPath, { current_version: '1.0.3' });
    const child = startAgent(['run', '--config', config, '--first-delay', '0', '--interval', '60']);
    // Checked once node runs the agent (env has exec'd it): the first check is in the log.
    await waitFor(async () => /SelfUpdate: check/.test(child.stderr), 'the first check');
    const environ = (await readFile(`/proc/${child.proc.pid}/environ`, 'utf8')).split('\0');
    child.proc.kill('SIGTERM');
    assert.equal((await child.exited).code, 0, child.stderr);
    // The single executables (MNGD_BIN_DIR) run on macOS, whose allocator has no such setting.
    const expected = packagedBinDir() === null ? ['MALLOC_MMAP_THRESHOLD_=131072'] : [];
    assert.deepEqual(
      environ.filter((e) => e.startsWith('MALLOC_MMAP_THRESHOLD_=')),
      expected,
    );
  });

  const bad: {
    name: string;
    args: (config: string) => string[];
    config?: Record<string, unknown>;
    exit: number;
    code?: string;
    says?: string;
  }[] = [
    {
      name: 'an unknown flag',
      args: (c) => ['check', '--config', c, '--manifest-uri', 'x'],
      exit: 2,
      says: 'mngd-agent check: unknown flag --manifest-uri: did you mean --manifest-url?\n',
    },
    { name: 'an unknown command', args: () => ['update'], exit: 2 },
    { name: '--json on run', args: (c) => ['run', '--json', '--config', c], exit: 2 },
    {
      name: 'no manifest URL',
      args: (c) => ['check', '--config', c],
      config: { manifest_url: undefined },
      exit: 2,
      code: 'CONFIG_INVALID',
    },
    {
      name: 'a plain http manifest URL',
      args: (c) => ['check', '--config', c, '--manifest-url', 'http://cdn.example/latest.json'],
      exit: 2,
      code: 'CONFIG_INVALID',
    },
    {
      name: 'a typo in the config file',
      args: (c) => ['check', '--config', c],
      config: { manifest_uri: 'https://x' },
      exit: 2,
      code: 'CONFIG_INVALID',
    },
    {
      name: 'a trusted key that is not a key',
      args: (c) => ['check', '--config', c, '--trusted-key', 'bm90LWEta2V5'],
      exit: 2,
      code: 'CONFIG_INVALID',
    },
    {
      name: 'no trusted keys',
      args: (c) => ['check', '--config', c],
      config: { trusted_keys: undefined },
      exit: 2,
      code: 'CONFIG_INVALID',
    },
    {
      name: 'a current version that is not one',
      args: (c) => ['check', '--config', c, '--current-version', 'v1.0'],
      exit: 2,
      code: 'CONFIG_INVALID',
    },
    {
      name: 'a missing version file',
      args: (c) => ['check', '--config', c],
      config: { current_version: undefined, version_file: '/nonexistent/VERSION' },
      exit: 1,
      code: 'VERSION_FILE',
    },
    {
      name: 'a negative interval',
      args: (c) => ['run', '--config', c, '--interval=-5'],
      exit: 2,
      code: 'CONFIG_INVALID',
    },
    {
      name: 'a config file that cannot be read',
      args: (c) => ['check', '--config', `${c}.missing`],
      exit: 2,
      code: 'CONFIG_INVALID',
    },
    {
      name: 'a config file that is not JSON',
      args: (c) => ['check', '--config', c.replace(/agent\.json$/, 'VERSION')],
      exit: 2,
      code: 'CONFIG_INVALID',
    },
  ];
  for (const b of bad) {
    it(`refuses ${b.name} with a clear error and exit ${b.exit}, writing nothing`, async () => {
      const config = await writeAgentConfig(dir, cdn, signer, helper.socketPath, b.config ?? {});
      const c = ctx(dir);
      assert.equal(await runAgentCli(b.args(config), c), b.exit, c.err);
      if (b.code) assert.match(c.err, new RegExp(`\\[${b.code}\\]`));
      if (b.says) assert.ok(c.err.startsWith(b.says), c.err);
      assert.equal(c.out, '');
      assert.ok(!existsSync(join(dir, 'state')), 'no state folder');
      assert.ok(!existsSync(join(dir, 'logs')), 'no log file');
      assert.equal(cdn.srv.requests.length, 0);
    });
  }

  it('prints help with every flag', async () => {
    const c = ctx(dir);
    assert.equal(await runAgentCli(['--help'], c), 0);
    for (const f of [
      '--manifest-url',
      '--trusted-key',
      '--state-dir',
      '--helper-socket',
      '--log-file',
      '--checkin-url',
      '--floor-retry',
    ])
      assert.ok(c.out.includes(f), f);
  });
});
