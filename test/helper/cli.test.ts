/** The `mngd-helper` bin as a user runs it: exit codes, help, and what it refuses at start. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { requestInstall } from '../../helper/client.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import {
  HELPER_CLI,
  makePkg,
  newKey,
  releaseOf,
  ROOT,
  runNode,
  signedManifest,
  STAND_IN,
  startHelper,
  until,
} from './harness.js';

const dir = mkdtempSync(join(tmpdir(), 'mngd-helper-cli-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const key = newKey();

const helperCli = (args: string[]) => runNode(HELPER_CLI, args);

/** Runs `serve`; a helper that starts anyway is stopped after `ms` (code then 0 or null, not 2). */
function serveBriefly(args: string[], ms = 5000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [HELPER_CLI, 'serve', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => p.kill('SIGTERM'), ms);
    p.stdout!.on('data', (c: Buffer) => {
      stdout += c.toString();
      if (stdout.includes('listening on')) timer.refresh(); // keep it up a moment, then stop it
    });
    p.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
    p.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe('mngd-helper', () => {
  it('prints help with --help (exit 0) and wants a command (exit 2)', async () => {
    const help = await helperCli(['--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /mngd-helper serve/);
    assert.equal((await helperCli([])).code, 2);
    assert.equal((await helperCli(['install'])).code, 2);
  });

  it('exits 2 on an unknown flag or without trusted keys', async () => {
    const r = await helperCli(['serve', '--sockett', '/x']);
    assert.equal(r.code, 2);
    assert.equal(
      r.stderr,
      'mngd-helper serve: unknown flag --sockett: did you mean --socket?\nRun "mngd-helper serve --help" for usage.\n',
    );
    const noKeys = await helperCli(['serve', '--socket', join(dir, 'a.sock')]);
    assert.equal(noKeys.code, 2);
    assert.match(noKeys.stderr, /CONFIG_INVALID/);
  });

  it('exits 2 on an invalid config file', async () => {
    const cfg = join(dir, 'bad.json');
    writeFileSync(cfg, '{"socket": "/x", "trusted_key": []}');
    const r = await helperCli(['serve', '--config', cfg]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /CONFIG_INVALID/);
  });

  it('refuses to replace a file that is not a socket (exit 3), leaving it as it was', async () => {
    const path = join(dir, 'not-a-socket');
    writeFileSync(path, 'precious');
    const r = await helperCli([
      'serve',
      '--socket',
      path,
      '--installer',
      STAND_IN,
      '--trusted-key',
      key.public_key,
      '--log-file',
      join(dir, 'x.log'),
      '--state-dir',
      dir,
    ]);
    assert.equal(r.code, 3);
    assert.match(r.stderr, /is not a socket/);
    assert.equal(readFileSync(path, 'utf8'), 'precious');
  });

  it('serves a 0660 socket of the configured group, refuses a second helper on it, and answers ping', async () => {
    const gid = process.getgid?.() ?? 0;
    const h = await startHelper({ key, installed: '4.5.6', extraArgs: ['--socket-group', String(gid)] });
    try {
      const st = statSync(h.socket);
      assert.equal(st.mode & 0o777, 0o660);
      assert.equal(st.gid, gid);
      const second = await helperCli([
        'serve',
        '--socket',
        h.socket,
        '--installer',
        STAND_IN,
        '--trusted-key',
        key.public_key,
        '--log-file',
        join(dir, 'y.log'),
        '--state-dir',
        dir,
      ]);
      assert.equal(second.code, 3);
      assert.match(second.stderr, /already listening/);
      const p = await helperCli(['ping', '--socket', h.socket]);
      assert.equal(p.code, 0);
      assert.equal(p.stdout, '4.5.6\n');
    } finally {
      await h.stop();
      rmSync(h.dir, { recursive: true, force: true });
    }
  });

  it('on SIGTERM removes its socket at once, answers the install in progress, then exits 0', async () => {
    const work = mkdtempSync(join(tmpdir(), 'mngd-helper-term-'));
    const h = await startHelper({ key, installed: '1.0.2', installerTimeout: 1 });
    try {
      const pkg = makePkg(work, '1.0.3');
      h.setMode('hang');
      const reply = requestInstall(h.socket, {
        manifest: signedManifest([releaseOf(pkg)], [key]),
        version: '1.0.3',
        pkg_path: pkg.path,
      });
      await until('the installer to start', () => existsSync(h.pidFile));
      h.proc.kill('SIGTERM');
      await until('the socket to go', () => !existsSync(h.socket));
      const r = await reply;
      assert.equal(r.ok, false);
      assert.equal(!r.ok && r.error.code, 'INSTALLER_TIMEOUT', 'the install in progress is answered');
      assert.equal(await h.exited, 0);
    } finally {
      await h.stop();
      rmSync(h.dir, { recursive: true, force: true });
      rmSync(work, { recursive: true, force: true });
    }
  });

  it('refuses to start (exit 2, nothing bound) when the installer is missing, not executable or not a file', async () => {
    const notExec = join(dir, 'installer-not-executable');
    writeFileSync(notExec, '#!/bin/sh\nexit 0\n');
    chmodSync(notExec, 0o644);
    const folder = join(dir, 'installer-folder');
    mkdirSync(folder);
    const cases: [string, RegExp][] = [
      [join(dir, 'no-such-installer'), /does not exist/],
      [join(dir, 'no-such-dir', 'installer'), /does not exist/],
      [notExec, /is not executable/],
      [folder, /is not a file/],
    ];
    for (const [installer, why] of cases) {
      const run = join(dir, `run-${cases.findIndex((c) => c[0] === installer)}`);
      const socket = join(run, 'helper.sock');
      const r = await serveBriefly(
        [
          '--socket',
          socket,
          '--installer',
          installer,
          '--trusted-key',
          key.public_key,
          '--log-file',
          join(dir, 'i.log'),
          '--state-dir',
          join(dir, 'istate'),
          '--staging',
          join(dir, 'istate', 'staging'),
          // It exits by itself; the stop is only for a helper that wrongly starts (a loaded machine starts slowly).
        ],
        60_000,
      );
      assert.equal(r.code, 2, `${installer}: ${r.stdout}${r.stderr}`);
      assert.doesNotMatch(r.stdout, /listening/);
      const first = r.stderr.split('\n')[0]!;
      assert.ok(first.includes(`--installer ${installer} `), first);
      assert.match(first, why);
      assert.equal(existsSync(socket), false, 'no socket left');
      assert.equal(existsSync(run), false, 'nothing created for the socket');
    }
  });

  it('documents --installer-arg=-pkg in --help and accepts that form', async () => {
    const help = await helperCli(['--help']);
    assert.match(
      help.stdout,
      /--installer-arg=-pkg --installer-arg=\{pkg\} --installer-arg=-target --installer-arg=\//,
    );
    const docs = readFileSync(join(ROOT, 'docs/helper.md'), 'utf8');
    assert.match(docs, /`--installer-arg=-pkg --installer-arg=\{pkg\} --installer-arg=-target --installer-arg=\/`/);
    const ambiguous = await helperCli(['serve', '--installer-arg', '-pkg', '--trusted-key', key.public_key]);
    assert.equal(ambiguous.code, 2, 'the form without = stays refused: the help must show the one that works');
    const h = await startHelper({
      key,
      extraArgs: ['--installer-arg=-pkg', '--installer-arg={pkg}', '--installer-arg=-target', '--installer-arg=/'],
    });
    try {
      assert.equal((await helperCli(['ping', '--socket', h.socket])).code, 0);
    } finally {
      await h.stop();
      rmSync(h.dir, { recursive: true, force: true });
    }
  });

  it('ping exits 3 when no helper answers', async () => {
    const r = await helperCli(['ping', '--socket', join(dir, 'none.sock')]);
    assert.equal(r.code, 3);
    assert.match(r.stderr, /HELPER_UNREACHABLE/);
  });
});
