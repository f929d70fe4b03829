/** The `mngd-helper` bin as a user runs it: exit codes, help, and what it refuses at start. */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { requestInstall } from '../../helper/protocol.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { HELPER_CLI, makePkg, newKey, releaseOf, runNode, signedManifest, startHelper, until } from './harness.js';

const dir = mkdtempSync(join(tmpdir(), 'mngd-helper-cli-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const key = newKey();

const helperCli = (args: string[]) => runNode(HELPER_CLI, args);

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
    assert.match(r.stderr, /--help/);
    const noKeys = await helperCli(['serve', '--socket', join(dir, 'a.sock')]);
    assert.equal(noKeys.code, 2);
    assert.match(noKeys.stderr, /USAGE/);
  });

  it('exits 1 on an invalid config file', async () => {
    const cfg = join(dir, 'bad.json');
    writeFileSync(cfg, '{"socket": "/x", "trusted_key": []}');
    const r = await helperCli(['serve', '--config', cfg]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /CONFIG_INVALID/);
  });

  it('refuses to replace a file that is not a socket (exit 3), leaving it as it was', async () => {
    const path = join(dir, 'not-a-socket');
    writeFileSync(path, 'precious');
    const r = await helperCli(['serve', '--socket', path, '--trusted-key', key.public_key, '--log-file', join(dir, 'x.log'), '--state-dir', dir]);
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
      const second = await helperCli(['serve', '--socket', h.socket, '--trusted-key', key.public_key, '--log-file', join(dir, 'y.log'), '--state-dir', dir]);
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
      const reply = requestInstall(h.socket, { manifest: signedManifest([releaseOf(pkg)], [key]), version: '1.0.3', pkg_path: pkg.path });
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

  it('ping exits 3 when no helper answers', async () => {
    const r = await helperCli(['ping', '--socket', join(dir, 'none.sock')]);
    assert.equal(r.code, 3);
    assert.match(r.stderr, /HELPER_UNREACHABLE/);
  });
});
