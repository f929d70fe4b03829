/**
 * The ObjectStore contract: one describe body, run against every store (the directory store and
 * S3Store against s3rver). Publish and drift rely on exactly these properties; what only one store
 * does (a lock file, Content-Type metadata, listing pages) is tested beside that store.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { ObjectStore } from '../../../../pipeline/manifests/store/object-store.js';
import { MngdError } from '../../../../schema/errors.js';

export interface StoreUnderTest {
  /** a fresh, empty store: its own directory or key prefix, so tests never see each other's objects */
  open(): ObjectStore;
  /** a store whose writes must fail from outside: a file where its directory should be, a bucket that does not exist */
  openUnavailable(): ObjectStore;
  close(): Promise<void>;
}

export async function rejectsWith(p: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof MngdError, `expected a MngdError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    return true;
  });
}

export const json = { contentType: 'application/json' };

/**
 * Registers the contract for one store. `enforcesConditions` is false for s3rver, which ignores
 * If-Match / If-None-Match: the writes a condition allows are still proven for it, the refusals
 * against the stores that enforce them (for S3Store: a loopback endpoint answering 412 / 409 as
 * AWS S3 does, in s3-store.test.ts).
 */
export function objectStoreContract(
  name: string,
  opts: { enforcesConditions: boolean },
  start: () => Promise<StoreUnderTest>,
): void {
  const { enforcesConditions } = opts;
  describe(`ObjectStore contract: ${name}`, () => {
    let sut: StoreUnderTest;
    const opened: ObjectStore[] = [];
    const fresh = (): ObjectStore => {
      const store = sut.open();
      opened.push(store);
      return store;
    };
    before(async () => {
      sut = await start();
    });
    after(async () => {
      for (const store of opened) store.close?.();
      await sut.close();
    });

    it('returns null for an object that was never written', async () => {
      assert.equal(await fresh().get('channels/beta/latest.json'), null);
    });

    it('writes whole objects in nested keys and reads the exact bytes back with the etag put returned', async () => {
      const store = fresh();
      const body = Buffer.from('{\n  "hello": "wörld"\n}\n');
      const etag = await store.put('channels/beta/latest.json', body, json);
      assert.notEqual(etag, '');
      const got = await store.get('channels/beta/latest.json');
      assert.deepEqual(got?.body, body);
      assert.equal(got?.etag, etag);
      // If-Match relies on it: other bytes, another etag
      const next = await store.put('channels/beta/latest.json', Buffer.from('{}\n'), json);
      assert.notEqual(next, etag);
      assert.equal((await store.get('channels/beta/latest.json'))?.etag, next);
    });

    it('lists the keys under a prefix, relative to its root, a prefix being a folder', async () => {
      const store = fresh();
      for (const n of [1, 2, 3, 4, 5]) await store.put(`history/stable/${n}.json`, Buffer.from(`${n}`), json);
      await store.put('history/beta/9.json', Buffer.from('9'), json);
      const stable = [1, 2, 3, 4, 5].map((n) => `history/stable/${n}.json`);
      assert.deepEqual((await store.list('history/stable/')).sort(), stable);
      assert.deepEqual((await store.list('history/stable')).sort(), stable);
      assert.deepEqual((await store.list('history/')).sort(), ['history/beta/9.json', ...stable]);
      assert.deepEqual(await store.list('history/sta'), []);
      assert.deepEqual(await store.list('history/none/'), []);
    });

    it('never addresses a key outside its root', async () => {
      const store = fresh();
      for (const key of ['../escape.json', 'a/../../b', '/etc/passwd', '', 'a//b', 'a/./b']) {
        await assert.rejects(store.put(key, Buffer.from('x'), json), /invalid object key/, key);
        await assert.rejects(store.get(key), /invalid object key/, key);
      }
    });

    it('writes with If-None-Match: * when the object does not exist yet', async () => {
      const store = fresh();
      const etag = await store.put('x.json', Buffer.from('one'), { ...json, condition: { ifNoneMatch: '*' } });
      assert.equal((await store.get('x.json'))?.etag, etag);
    });

    it('writes with If-Match on the current etag', async () => {
      const store = fresh();
      const first = await store.put('y.json', Buffer.from('one'), json);
      const second = await store.put('y.json', Buffer.from('two'), { ...json, condition: { ifMatch: first } });
      const got = await store.get('y.json');
      assert.equal(got?.body.toString(), 'two');
      assert.equal(got?.etag, second);
    });

    it('reports a store it cannot write as an outside failure (STORE_UNAVAILABLE, exit 3), not a crash', async () => {
      const store = sut.openUnavailable();
      opened.push(store);
      await rejectsWith(store.put('latest.json', Buffer.from('x'), json), 'STORE_UNAVAILABLE');
    });

    // Registered only for a store that enforces conditions (no test that asserts nothing).
    if (enforcesConditions) {
      describe('refuses a write whose condition fails (a lost update between two publishers)', () => {
        it('refuses If-None-Match: * when the object exists, and leaves it untouched', async () => {
          const store = fresh();
          await store.put('x.json', Buffer.from('one'), json);
          await rejectsWith(
            store.put('x.json', Buffer.from('two'), { ...json, condition: { ifNoneMatch: '*' } }),
            'STORE_CONFLICT',
          );
          assert.equal((await store.get('x.json'))?.body.toString(), 'one');
        });

        it('refuses If-Match on a stale etag or an absent object, and leaves them as they were', async () => {
          const store = fresh();
          const first = await store.put('y.json', Buffer.from('one'), json);
          const second = await store.put('y.json', Buffer.from('two'), { ...json, condition: { ifMatch: first } });
          await rejectsWith(
            store.put('y.json', Buffer.from('three'), { ...json, condition: { ifMatch: first } }),
            'STORE_CONFLICT',
          );
          assert.equal((await store.get('y.json'))?.etag, second);
          await rejectsWith(
            store.put('absent.json', Buffer.from('z'), { ...json, condition: { ifMatch: first } }),
            'STORE_CONFLICT',
          );
          assert.equal(await store.get('absent.json'), null);
        });

        it('lets exactly one of several racing conditional writers win', async () => {
          const store = fresh();
          const etag = await store.put('race.json', Buffer.from('base'), json);
          const results = await Promise.allSettled(
            ['a', 'b', 'c', 'd'].map((v) =>
              store.put('race.json', Buffer.from(v), { ...json, condition: { ifMatch: etag } }),
            ),
          );
          assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
          for (const r of results) {
            if (r.status === 'rejected') assert.equal((r.reason as MngdError).code, 'STORE_CONFLICT');
          }
        });
      });
    }
  });
}
