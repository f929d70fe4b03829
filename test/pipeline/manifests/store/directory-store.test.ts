import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { mkdtemp, readdir, rm, writeFile, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DirectoryStore } from '../../../../pipeline/manifests/store/directory-store.js';
import { json, objectStoreContract, rejectsWith } from './contract.js';

objectStoreContract('DirectoryStore', { enforcesConditions: true }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'mngd-dirstore-'));
  let n = 0;
  return {
    open: () => new DirectoryStore(join(dir, `store-${++n}`)),
    openUnavailable: () => {
      // a file where the store's directory should be: nothing can be created under it
      const blocker = join(dir, `file-not-dir-${++n}`);
      writeFileSync(blocker, '');
      return new DirectoryStore(blocker);
    },
    close: () => rm(dir, { recursive: true, force: true }),
  };
});

describe('DirectoryStore beyond the contract', () => {
  let dir: string;
  let store: DirectoryStore;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mngd-dirstore-'));
    store = new DirectoryStore(join(dir, 'bucket'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('tags an object with the SHA-256 of its content and leaves no temp file or lock beside it', async () => {
    const body = Buffer.from('{"a":1}\n');
    const etag = await store.put('channels/beta/latest.json', body, json);
    assert.equal(etag, createHash('sha256').update(body).digest('hex'));
    assert.equal((await store.get('channels/beta/latest.json'))?.etag, etag);
    assert.deepEqual(await readdir(join(dir, 'bucket', 'channels', 'beta')), ['latest.json']);
  });

  it('treats an object locked by another live publisher as a conflict', async () => {
    await store.put('z.json', Buffer.from('one'), json);
    await writeFile(join(dir, 'bucket', 'z.json.lock'), '');
    await rejectsWith(store.put('z.json', Buffer.from('two'), json), 'STORE_CONFLICT');
    assert.equal((await store.get('z.json'))?.body.toString(), 'one');
    await rm(join(dir, 'bucket', 'z.json.lock'));
  });

  it('lists without its own temp and lock files', async () => {
    const s = new DirectoryStore(join(dir, 'listing'));
    await s.put('history/stable/1.json', Buffer.from('1'), json);
    await s.put('history/stable/2.json', Buffer.from('2'), json);
    await writeFile(join(dir, 'listing', 'history', 'stable', '.abc.tmp'), '');
    await writeFile(join(dir, 'listing', 'history', 'stable', '2.json.lock'), '');
    assert.deepEqual((await s.list('history/stable/')).sort(), ['history/stable/1.json', 'history/stable/2.json']);
  });

  it('never creates a file outside its root', async () => {
    await assert.rejects(store.put('../escape.json', Buffer.from('x'), json), /invalid object key/);
    await assert.rejects(readFile(join(dir, 'escape.json')));
  });
});
