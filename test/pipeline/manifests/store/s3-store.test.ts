import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { S3Store, type S3StoreOptions } from '../../../../pipeline/manifests/store/s3-store.js';
import type { ObjectStore } from '../../../../pipeline/manifests/store/object-store.js';
import { startS3rver, type TestS3 } from '../../../support/s3rver.js';
import { runBin, tempRepo } from '../../../support/cli.js';
import { json, objectStoreContract, rejectsWith } from './contract.js';

function s3Store(s3: TestS3, prefix: string, extra: Partial<S3StoreOptions> = {}): S3Store {
  return new S3Store({
    bucket: s3.bucket,
    prefix,
    endpoint: s3.endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    maxAttempts: 1,
    ...extra,
  });
}

objectStoreContract('S3Store against s3rver', { enforcesConditions: false }, async () => {
  const s3 = await startS3rver();
  let n = 0;
  return {
    open: () => s3Store(s3, `contract/${++n}`),
    openUnavailable: () => s3Store(s3, '', { bucket: 'no-such-bucket' }),
    close: () => s3.close(),
  };
});

describe("S3Store's deadline", () => {
  it('runs from the first request, not from when the store was opened (apply opens it before sync)', async () => {
    const s3 = await startS3rver();
    try {
      const store = s3Store(s3, 'deadline', { timeouts: { requestMs: 2000, deadlineMs: 300 } });
      // apply's verify-artifacts and sync (a wait for the sync lock) take longer than the deadline
      await new Promise((resolve) => setTimeout(resolve, 400));
      await store.put('a.json', Buffer.from('{}'), {
        contentType: 'application/json',
        condition: { ifNoneMatch: '*' },
      });
      assert.equal(await s3.getText('deadline/a.json'), '{}');
      // and it still ends the command: past it, the next request fails at once
      await new Promise((resolve) => setTimeout(resolve, 400));
      await assert.rejects(store.get('a.json'), /deadline for this command has passed \(MNGD_S3_DEADLINE_MS\)/);
    } finally {
      await s3.close();
    }
  });
});

describe('S3Store against s3rver, beyond the contract', () => {
  let s3: TestS3;
  let store: S3Store;
  before(async () => {
    s3 = await startS3rver();
    store = s3Store(s3, 'agents/mngd');
  });
  after(async () => {
    store.close();
    await s3.close();
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
    assert.equal(got?.contentType, 'application/json');
    assert.equal(got?.cacheControl, 'public, max-age=60');
  });

  it('lists keys relative to the prefix across several pages', async () => {
    const small = s3Store(s3, 'agents/mngd', { pageSize: 2 });
    for (const n of [1, 2, 3, 4, 5]) await small.put(`history/stable/${n}.json`, Buffer.from(`${n}`), json);
    await small.put('history/beta/9.json', Buffer.from('9'), json);
    assert.deepEqual(
      (await small.list('history/stable/')).sort(),
      [1, 2, 3, 4, 5].map((n) => `history/stable/${n}.json`),
    );
    small.close();
  });

  it('works at the bucket root (no prefix)', async () => {
    const root: ObjectStore = s3Store(s3, '');
    await root.put('channels/beta/latest.json', Buffer.from('b'), json);
    assert.equal(await s3.getText('channels/beta/latest.json'), 'b');
    assert.deepEqual(await root.list('channels/beta'), ['channels/beta/latest.json']);
    root.close?.();
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
