import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, rm, writeFile, mkdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DirectoryStore } from '../../../pipeline/manifests/store/directory-store.js';
import { S3Store } from '../../../pipeline/manifests/store/s3-store.js';
import type { ObjectStore } from '../../../pipeline/manifests/store/object-store.js';
import { MngdError } from '../../../schema/errors.js';
import { startS3rver, type TestS3 } from '../../support/s3rver.js';
import { runBin, tempRepo } from '../../support/cli.js';

async function rejectsWith(p: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof MngdError, `expected a MngdError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    return true;
  });
}

const json = { contentType: 'application/json' };

describe('DirectoryStore', () => {
  let dir: string;
  let store: DirectoryStore;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mngd-dirstore-'));
    store = new DirectoryStore(join(dir, 'bucket'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('returns null for an object that was never written', async () => {
    assert.equal(await store.get('channels/beta/latest.json'), null);
  });

  it('writes whole objects in nested keys and reads them back with a SHA-256 etag', async () => {
    const body = Buffer.from('{"a":1}\n');
    const etag = await store.put('channels/beta/latest.json', body, json);
    assert.equal(etag, createHash('sha256').update(body).digest('hex'));
    const got = await store.get('channels/beta/latest.json');
    assert.deepEqual(got?.body, body);
    assert.equal(got?.etag, etag);
    // no temp files or locks are left beside it
    assert.deepEqual(await readdir(join(dir, 'bucket', 'channels', 'beta')), ['latest.json']);
  });

  it('refuses If-None-Match: * when the object exists, and leaves it untouched', async () => {
    await store.put('x.json', Buffer.from('one'), json);
    await rejectsWith(
      store.put('x.json', Buffer.from('two'), { ...json, condition: { ifNoneMatch: '*' } }),
      'STORE_CONFLICT',
    );
    assert.equal((await store.get('x.json'))?.body.toString(), 'one');
  });

  it('writes with If-Match on the current etag and refuses a stale one', async () => {
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

  it('treats an object locked by another live publisher as a conflict', async () => {
    await store.put('z.json', Buffer.from('one'), json);
    await writeFile(join(dir, 'bucket', 'z.json.lock'), '');
    await rejectsWith(store.put('z.json', Buffer.from('two'), json), 'STORE_CONFLICT');
    assert.equal((await store.get('z.json'))?.body.toString(), 'one');
    await rm(join(dir, 'bucket', 'z.json.lock'));
  });

  it('lets exactly one of two racing conditional writers win', async () => {
    const etag = await store.put('race.json', Buffer.from('base'), json);
    const results = await Promise.allSettled(
      ['a', 'b', 'c', 'd'].map((v) =>
        store.put('race.json', Buffer.from(v), { ...json, condition: { ifMatch: etag } }),
      ),
    );
    assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
    for (const r of results) if (r.status === 'rejected') assert.equal((r.reason as MngdError).code, 'STORE_CONFLICT');
  });

  it('lists the keys under a prefix, without its own temp and lock files', async () => {
    const s = new DirectoryStore(join(dir, 'listing'));
    await s.put('history/stable/1.json', Buffer.from('1'), json);
    await s.put('history/stable/2.json', Buffer.from('2'), json);
    await s.put('history/beta/3.json', Buffer.from('3'), json);
    await writeFile(join(dir, 'listing', 'history', 'stable', '.abc.tmp'), '');
    assert.deepEqual((await s.list('history/stable/')).sort(), ['history/stable/1.json', 'history/stable/2.json']);
    assert.deepEqual(await s.list('history/none/'), []);
  });

  it('never addresses a file outside its root', async () => {
    for (const key of ['../escape.json', 'a/../../b', '/etc/passwd', '', 'a//b']) {
      await assert.rejects(store.put(key, Buffer.from('x'), json), /invalid object key/);
    }
    await assert.rejects(readFile(join(dir, 'escape.json')));
  });

  it('reports an unwritable directory as an outside failure (exit 3), not a crash', async () => {
    const blocker = join(dir, 'file-not-dir');
    await writeFile(blocker, '');
    const s = new DirectoryStore(blocker);
    await rejectsWith(s.put('latest.json', Buffer.from('x'), json), 'STORE_UNAVAILABLE');
    await mkdir(join(dir, 'ok'));
  });
});

describe('S3Store against s3rver', () => {
  let s3: TestS3;
  let store: S3Store;
  const open = (prefix: string, extra: Partial<ConstructorParameters<typeof S3Store>[0]> = {}): S3Store =>
    new S3Store({
      bucket: s3.bucket,
      prefix,
      endpoint: s3.endpoint,
      forcePathStyle: true,
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
      maxAttempts: 1,
      ...extra,
    });
  before(async () => {
    s3 = await startS3rver();
    store = open('agents/mngd');
  });
  after(async () => {
    store.close();
    await s3.close();
  });

  it('returns null for a missing object', async () => {
    assert.equal(await store.get('latest.json'), null);
  });

  it('stores the exact bytes under the prefix with Content-Type and Cache-Control', async () => {
    const body = Buffer.from('{\n  "hello": "wörld"\n}\n');
    const etag = await store.put('latest.json', body, {
      contentType: 'application/json',
      cacheControl: 'public, max-age=60',
    });
    assert.notEqual(etag, '');
    const head = await s3.head('agents/mngd/latest.json');
    assert.equal(head?.ContentType, 'application/json');
    assert.equal(head?.CacheControl, 'public, max-age=60');
    assert.equal(head?.ContentLength, body.length);
    // no aws-chunked framing stored in the object
    assert.equal(await s3.getText('agents/mngd/latest.json'), body.toString());
    const got = await store.get('latest.json');
    assert.deepEqual(got?.body, body);
    assert.equal(got?.etag, etag);
    assert.equal(got?.cacheControl, 'public, max-age=60');
  });

  it('lists keys relative to the prefix across several pages', async () => {
    const small = open('agents/mngd', { pageSize: 2 });
    for (const n of [1, 2, 3, 4, 5]) await small.put(`history/stable/${n}.json`, Buffer.from(`${n}`), json);
    await small.put('history/beta/9.json', Buffer.from('9'), json);
    assert.deepEqual(
      (await small.list('history/stable/')).sort(),
      [1, 2, 3, 4, 5].map((n) => `history/stable/${n}.json`),
    );
    small.close();
  });

  it('works at the bucket root (no prefix)', async () => {
    const root: ObjectStore = open('');
    await root.put('channels/beta/latest.json', Buffer.from('b'), json);
    assert.equal(await s3.getText('channels/beta/latest.json'), 'b');
    assert.deepEqual(await root.list('channels/beta'), ['channels/beta/latest.json']);
    root.close?.();
  });

  it('reports an unknown bucket as an outside failure (exit 3)', async () => {
    const missing = new S3Store({
      bucket: 'no-such-bucket',
      prefix: '',
      endpoint: s3.endpoint,
      forcePathStyle: true,
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
      maxAttempts: 1,
    });
    await rejectsWith(missing.put('latest.json', Buffer.from('x'), json), 'STORE_UNAVAILABLE');
    missing.close();
  });

  it('reports a stopped server as an outside failure (exit 3) and works again once it is back', async () => {
    await s3.stop();
    try {
      await rejectsWith(store.get('latest.json'), 'STORE_UNAVAILABLE');
      await rejectsWith(store.put('latest.json', Buffer.from('x'), json), 'STORE_UNAVAILABLE');
    } finally {
      await s3.start();
    }
    assert.equal((await store.get('latest.json'))?.contentType, 'application/json');
  });
});

describe('S3Store conditional writes (a loopback endpoint that enforces them, as AWS S3 does)', () => {
  // s3rver ignores If-Match / If-None-Match; this endpoint answers like AWS S3 so the request
  // headers and the mapping of 412 / 409 to STORE_CONFLICT are proven.
  it('sends If-Match / If-None-Match and maps 412 and 409 to STORE_CONFLICT (exit 3)', async () => {
    const seen: IncomingHttpHeaders[] = [];
    const answers = [
      [200, ''],
      [
        412,
        '<?xml version="1.0" encoding="UTF-8"?><Error><Code>PreconditionFailed</Code><Message>At least one of the pre-conditions you specified did not hold</Message></Error>',
      ],
      [
        409,
        '<?xml version="1.0" encoding="UTF-8"?><Error><Code>ConditionalRequestConflict</Code><Message>A conflicting conditional operation is in progress</Message></Error>',
      ],
    ] as const;
    const server = createServer((req, res) => {
      seen.push(req.headers);
      req.resume();
      req.on('end', () => {
        const [status, body] = answers[Math.min(seen.length - 1, answers.length - 1)] ?? [500, ''];
        res.writeHead(status, { 'content-type': 'application/xml', ...(status === 200 ? { etag: '"abc"' } : {}) });
        res.end(body);
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    const store = new S3Store({
      bucket: 'b-test',
      prefix: 'p',
      endpoint: `http://127.0.0.1:${port}`,
      forcePathStyle: true,
      credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
      maxAttempts: 1,
    });
    try {
      assert.equal(
        await store.put('latest.json', Buffer.from('x'), {
          contentType: 'application/json',
          condition: { ifNoneMatch: '*' },
        }),
        '"abc"',
      );
      await rejectsWith(
        store.put('latest.json', Buffer.from('y'), {
          contentType: 'application/json',
          condition: { ifMatch: '"abc"' },
        }),
        'STORE_CONFLICT',
      );
      await rejectsWith(
        store.put('latest.json', Buffer.from('z'), {
          contentType: 'application/json',
          condition: { ifMatch: '"abc"' },
        }),
        'STORE_CONFLICT',
      );
      assert.equal(seen[0]?.['if-none-match'], '*');
      assert.equal(seen[1]?.['if-match'], '"abc"');
      assert.equal(seen[0]?.['if-match'], undefined);
    } finally {
      store.close();
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });
});

describe('an S3 target without AWS credentials', () => {
  it('exits 2 with what to set, not "re-run the job", and no SDK warning', async () => {
    const { root } = tempRepo();
    try {
      const r = await runBin(
        ['drift', '--only', 'manifests', '--target', 's3://mngd-bucket/agent', '--endpoint', 'http://127.0.0.1:1'],
        {
          cwd: root,
          // Nowhere to find credentials: no variables, no files, no instance metadata.
          env: {
            AWS_CONFIG_FILE: join(root, 'no-config'),
            AWS_SHARED_CREDENTIALS_FILE: join(root, 'no-credentials'),
            AWS_EC2_METADATA_DISABLED: 'true',
          },
        },
      );
      assert.equal(r.code, 2, r.stderr);
      assert.match(
        r.stderr,
        /^mngd-release drift: cannot list s3:\/\/mngd-bucket\/agent\/\S+: no AWS credentials were found; set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY or AWS_PROFILE, or give the job its AWS role \(docs\/github-setup\.md, step 3\) \[STORE_NO_CREDENTIALS\]\n/,
      );
      assert.doesNotMatch(r.stderr, /re-run|NodeVersionSupportWarning|\n\s+at /);
      assert.doesNotMatch(r.stderr, /--help/, 'not a matter of flags');
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
