/** Running the installer: an argument list (never a shell), a time-out that kills the group, a bounded tail. */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { installerArgs, runInstaller } from '../../helper/installer.js';
import { TailBuffer } from '../../helper/tail.js';
import { isAlive, STAND_IN, until } from './harness.js';

const dir = mkdtempSync(join(tmpdir(), 'mngd-installer-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Runs the stand-in with its settings in the environment of this process (the runner inherits it). */
async function withEnv<T>(env: Record<string, string>, fn: () => Promise<T>): Promise<T> {
  const old = { ...process.env };
  Object.assign(process.env, env);
  try {
    return await fn();
  } finally {
    for (const k of Object.keys(env)) delete process.env[k];
    Object.assign(process.env, old);
  }
}

describe('installerArgs', () => {
  it('puts the staged path where {pkg} stands, and nowhere else', () => {
    assert.deepEqual(installerArgs(['-pkg', '{pkg}', '-target', '/'], '/s/a.pkg'), [
      '-pkg',
      '/s/a.pkg',
      '-target',
      '/',
    ]);
  });
});

describe('runInstaller', () => {
  it('passes each argument literally: shell syntax in a path runs nothing', async () => {
    // Run in the temp folder: were the name ever given to a shell, the markers would appear there.
    const pkg = join(dir, 'a $(touch pwned1); touch pwned2 `touch pwned3`.pkg');
    writeFileSync(pkg, 'mngd-test-pkg 2.0\n');
    const record = join(dir, 'record-literal');
    const cwd = process.cwd();
    process.chdir(dir);
    const r = await withEnv({ STANDIN_RECORD: record, STANDIN_MODE: 'succeed' }, () =>
      runInstaller(STAND_IN, ['-pkg', pkg, '-target', '/'], 10_000),
    ).finally(() => process.chdir(cwd));
    assert.equal(r.exitCode, 0, r.outputTail);
    for (const m of ['pwned1', 'pwned2', 'pwned3']) assert.equal(existsSync(join(dir, m)), false, m);
    assert.deepEqual(readFileSync(record, 'utf8').split('\n').slice(0, 4), ['-pkg', pkg, '-target', '/']);
  });

  it('reports a program that cannot be started', async () => {
    const r = await runInstaller(join(dir, 'no-such-installer'), [], 10_000);
    assert.ok(r.spawnError !== undefined);
    assert.equal(r.exitCode, null);
  });

  it('kills the whole process group at the time-out', async () => {
    const pidFile = join(dir, 'pids');
    const r = await withEnv({ STANDIN_MODE: 'hang', STANDIN_PID_FILE: pidFile }, () =>
      runInstaller(STAND_IN, ['-pkg', '/x.pkg', '-target', '/'], 500),
    );
    assert.equal(r.timedOut, true);
    assert.notEqual(r.exitCode, 0);
    const pids = readFileSync(pidFile, 'utf8').trim().split(' ').map(Number);
    await until('the stand-in and its child to be gone', () => pids.every((p) => !isAlive(p)), 5000);
  });

  it('keeps a bounded tail of a flood, ending with its last line', async () => {
    const r = await withEnv({ STANDIN_MODE: 'flood', STANDIN_FLOOD_BYTES: '5000000' }, () =>
      runInstaller(STAND_IN, ['-pkg', '/x.pkg', '-target', '/'], 10_000),
    );
    assert.equal(r.exitCode, 1);
    assert.ok(r.outputTail.length < 9 * 1024);
    assert.match(r.outputTail, /^\[\.\.\. \d+ earlier bytes dropped\]\n/);
    assert.match(r.outputTail, /FLOOD-END\n$/);
  });
});

describe('TailBuffer', () => {
  it('keeps exactly the last bytes, whatever the chunk sizes', () => {
    const t = new TailBuffer(10);
    for (const c of ['abc', 'defgh', 'ijklmnop', 'q']) t.push(Buffer.from(c));
    assert.equal(t.total, 17);
    assert.equal(t.text(), '[... 7 earlier bytes dropped]\nhijklmnopq');
    const big = new TailBuffer(4);
    big.push(Buffer.from('0123456789'));
    assert.equal(big.text(), '[... 6 earlier bytes dropped]\n6789');
    const small = new TailBuffer(100);
    small.push(Buffer.from('short'));
    assert.equal(small.text(), 'short');
  });

  it('drops a UTF-8 character cut in half at the start', () => {
    const t = new TailBuffer(5);
    t.push(Buffer.from('xé€ab')); // € is 3 bytes: the last 5 are exactly €ab
    assert.equal(t.text().split('\n')[1], '€ab');
    const u = new TailBuffer(6);
    u.push(Buffer.from('xé€ab')); // last 6 bytes start with é's second byte
    assert.equal(u.text().split('\n')[1], '€ab');
  });
});
