/**
 * A directory target's per-object lock left by a publish killed with `kill -9`: before, the next
 * publish blamed "another publish" for 60 s; now a lock whose holder is gone is taken over at
 * once, and a live holder is named.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DirectoryStore } from '../../../../pipeline/manifests/store/directory-store.js';

/** A real process that takes the lock as DirectoryStore does (pid and host in it), then waits. */
function lockHolder(lock: string) {
  const child = spawn(
    process.execPath,
    [
      '-e',
      `const fs = require('node:fs'); const os = require('node:os');
       fs.writeFileSync(${JSON.stringify(lock)}, process.pid + ' ' + os.hostname() + '\\n', { flag: 'wx' });
       process.stdout.write('locked\\n'); setInterval(() => {}, 1000);`,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const locked = new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return { child, locked, exited };
}

describe('directory store: a lock left by a killed publish', () => {
  let dir: string;
  before(async () => (dir = await mkdtemp(join(tmpdir(), 'mngd-dirlock-'))));
  after(() => rm(dir, { recursive: true, force: true }));

  it('names a live holder, and takes the lock over at once after a kill -9 of it', async () => {
    const store = new DirectoryStore(dir);
    await store.put('latest.json', Buffer.from('{"a":1}\n'), { contentType: 'application/json' });
    const holder = lockHolder(join(dir, 'latest.json.lock'));
    after(() => holder.child.kill('SIGKILL'));
    await holder.locked;
    await assert.rejects(
      store.put('latest.json', Buffer.from('{"a":2}\n'), { contentType: 'application/json' }),
      (e: unknown) =>
        (e as { code?: string }).code === 'STORE_CONFLICT' &&
        (e as Error).message.includes(`process ${holder.child.pid} holds its lock`),
    );
    holder.child.kill('SIGKILL');
    await holder.exited;
    await store.put('latest.json', Buffer.from('{"a":3}\n'), { contentType: 'application/json' });
    assert.equal(await readFile(join(dir, 'latest.json'), 'utf8'), '{"a":3}\n');
  });
});
