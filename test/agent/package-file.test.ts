import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, open, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { INLINE_MAX, PackageFile } from '../../agent/package-file.js';

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** Feeds `data` in chunks of `size`, honouring the backpressure promise like the HTTP stream does. */
async function feed(file: PackageFile, data: Buffer, size: number): Promise<number> {
  let waits = 0;
  for (let off = 0; off < data.length; off += size) {
    const pending = file.add(data.subarray(off, off + size));
    if (pending) {
      waits++;
      await pending;
    }
  }
  return waits;
}

for (const mode of [
  { name: 'on a worker thread', inlineMax: 0 },
  { name: 'inline, for a small package', inlineMax: Infinity },
]) {
  describe(`PackageFile: hash and write ${mode.name}`, () => {
    let dir: string;
    before(async () => (dir = await mkdtemp(join(tmpdir(), 'mngd-pkgfile-'))));
    after(() => rm(dir, { recursive: true, force: true }));
    const opts = (size: number) => ({ size, inlineMax: mode.inlineMax });

    it('hashes and writes every byte in order, across block boundaries', async () => {
      const data = randomBytes((3 << 20) + 12_345);
      const path = join(dir, 'a.partial');
      const fh = await open(path, 'w', 0o600);
      const file = await PackageFile.open(fh, 0, opts(data.length));
      await feed(file, data, 16_381); // an odd size, so chunks straddle the 1 MiB blocks
      const r = await file.finish();
      await fh.close();
      assert.deepEqual(r, { digest: sha256(data), size: data.length });
      assert.equal(file.received, data.length);
      assert.ok((await readFile(path)).equals(data));
    });

    it('continues a partial: the bytes already in the file are part of the hash', async () => {
      const data = randomBytes(2_500_000);
      const path = join(dir, 'b.partial');
      await writeFile(path, data.subarray(0, 1_700_000));
      const fh = await open(path, 'r+');
      const file = await PackageFile.open(fh, 1_700_000, opts(data.length));
      await feed(file, data.subarray(1_700_000), 16_384);
      const r = await file.finish();
      await fh.close();
      assert.deepEqual(r, { digest: sha256(data), size: data.length });
      assert.equal(file.received, data.length - 1_700_000);
      assert.ok((await readFile(path)).equals(data));
    });

    it('starts over on restart: the old partial leaves nothing in the file or the hash', async () => {
      const data = randomBytes(1_200_000);
      const path = join(dir, 'c.partial');
      // Longer than the new data: a restart that did not empty the file would leave its tail.
      await writeFile(path, randomBytes(2_000_000));
      const fh = await open(path, 'r+');
      const file = await PackageFile.open(fh, 2_000_000, opts(data.length));
      file.restart();
      await feed(file, data, 65_536);
      const r = await file.finish();
      await fh.close();
      assert.deepEqual(r, { digest: sha256(data), size: data.length });
      assert.ok((await readFile(path)).equals(data));
    });

    it('reports a write error, with its code, and writes nothing more', async () => {
      const path = join(dir, 'e.partial');
      await writeFile(path, '');
      const fh = await open(path, 'r'); // read-only: every write fails with EBADF
      const file = await PackageFile.open(fh, 0, opts(3 << 20));
      let thrown: unknown = null;
      try {
        await feed(file, randomBytes(3 << 20), 16_384);
      } catch (err) {
        thrown = err; // the next add after the failure reached the main thread
      }
      await assert.rejects(file.finish(), (err: NodeJS.ErrnoException) => err.code === 'EBADF');
      if (thrown !== null) assert.equal((thrown as NodeJS.ErrnoException).code, 'EBADF');
      await fh.close();
      assert.equal((await readFile(path)).length, 0);
    });

    it('reports a restart that cannot empty the file, at finish', async () => {
      const path = join(dir, 'r.partial');
      await writeFile(path, randomBytes(1000));
      const fh = await open(path, 'r'); // read-only: the truncate fails
      const file = await PackageFile.open(fh, 1000, opts(5000));
      file.restart();
      await assert.rejects(
        file.finish(),
        (err: NodeJS.ErrnoException) => typeof err.code === 'string' && err.code.startsWith('E'),
      );
      await fh.close();
      assert.equal((await readFile(path)).length, 1000);
    });

    it('refuses to open on a partial shorter than it should be', async () => {
      const path = join(dir, 'f.partial');
      await writeFile(path, randomBytes(1000));
      const fh = await open(path, 'r+');
      await assert.rejects(PackageFile.open(fh, 5000, opts(10_000)), /ended at 1000 bytes, 5000 expected/);
      await fh.close();
    });
  });
}

describe('PackageFile on a worker thread', () => {
  let dir: string;
  before(async () => (dir = await mkdtemp(join(tmpdir(), 'mngd-pkgfile-'))));
  after(() => rm(dir, { recursive: true, force: true }));
  const opts = (size: number, worker?: URL) => ({ size, inlineMax: 0, ...(worker ? { worker } : {}) });

  it('asks the sender to wait while blocks are queued, and never holds more than a few', async () => {
    const fh = await open(join(dir, 'd.partial'), 'w');
    const file = await PackageFile.open(fh, 0, opts(64 << 20));
    // Synchronous adds: the worker cannot hand a block back until the event loop turns.
    let first: Promise<void> | undefined;
    let adds = 0;
    while (first === undefined && adds < 64) {
      first = file.add(Buffer.alloc(1 << 20, adds));
      adds++;
    }
    assert.ok(first instanceof Promise, 'add returned a promise once the queue was full');
    assert.ok(adds <= 5, `backpressure after ${adds} MiB`);
    await first;
    const r = await file.finish();
    await fh.close();
    assert.equal(r.size, adds << 20);
  });

  it(`starts a worker only for a package above ${INLINE_MAX} bytes`, async () => {
    const missing = new URL('./no-such-worker.js', import.meta.url);
    const fh = await open(join(dir, 'm.partial'), 'w');
    const small = await PackageFile.open(fh, 0, { size: INLINE_MAX, worker: missing });
    assert.deepEqual(await small.finish(), { digest: sha256(Buffer.alloc(0)), size: 0 });
    await assert.rejects(PackageFile.open(fh, 0, { size: INLINE_MAX + 1, worker: missing }), /no-such-worker/);
    await fh.close();
  });

  it('refuses to open when its worker cannot start, rather than hang', { timeout: 10_000 }, async () => {
    const fh = await open(join(dir, 'g.partial'), 'w');
    await assert.rejects(
      PackageFile.open(fh, 0, opts(1 << 30, new URL('./no-such-worker.js', import.meta.url))),
      /no-such-worker/,
    );
    await fh.close();
  });

  it('stops a sender waiting on a full queue when the worker dies, rather than hang', { timeout: 10_000 }, async () => {
    // A stand-in worker that starts, then dies on its first block.
    const worker = join(dir, 'crashing-worker.mjs');
    await writeFile(
      worker,
      "import { parentPort } from 'node:worker_threads';\nparentPort.postMessage({ kind: 'ready' });\nparentPort.on('message', () => { throw new Error('writer crashed'); });\n",
    );
    const fh = await open(join(dir, 'h.partial'), 'w');
    const file = await PackageFile.open(fh, 0, opts(16 << 20, pathToFileURL(worker)));
    await assert.rejects(feed(file, Buffer.alloc(16 << 20), 1 << 20), /writer crashed/);
    await assert.rejects(file.finish(), /writer crashed/);
    await fh.close();
  });
});
