/**
 * A black-holed or stalled S3 endpoint (issue 22): publish ends with exit 3 within its bounds
 * instead of hanging the job. Real sockets: a black hole that accepts and never answers, and a
 * proxy in front of s3rver that stops forwarding mid-run.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { storeTimeouts } from '../../../pipeline/manifests/target.js';
import { makeReleaseRepo, testKey, type ReleaseRepo, type TestKey } from '../../support/publish-repo.js';
import { startS3rver, type TestS3 } from '../../support/s3rver.js';
import { startBlackHole, startTcpProxy } from '../../support/tcp-proxy.js';

const CREDS = { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', AWS_REGION: 'us-east-1' };

describe('S3 time-outs', () => {
  let repo: ReleaseRepo;
  let key: TestKey;
  let s3: TestS3;
  before(async () => {
    key = testKey();
    s3 = await startS3rver();
    repo = await makeReleaseRepo({ trusted: [key] });
    await repo.writeRelease({ version: '1.0.1' });
  });
  after(async () => {
    await repo.close();
    await s3.close();
  });

  it('settings come from the environment; a bad one is a setting to fix', () => {
    assert.deepEqual(storeTimeouts({ MNGD_S3_REQUEST_TIMEOUT_MS: '2500' }), { requestMs: 2500, deadlineMs: 300_000 });
    assert.equal(storeTimeouts({}), null);
    assert.throws(() => storeTimeouts({ MNGD_S3_DEADLINE_MS: 'soon' }), /MNGD_S3_DEADLINE_MS=soon is not a time-out/);
  });

  it('publish to a black-holed endpoint exits 3 once each request has had its time', async () => {
    const hole = await startBlackHole();
    try {
      const started = Date.now();
      const run = await repo.run(['publish'], {
        ...CREDS,
        MNGD_S3_ENDPOINT: `http://127.0.0.1:${hole.port}`,
        MNGD_PUBLISH_TARGET: 's3://bucket/agent',
        MNGD_SIGNING_KEY: key.private,
        MNGD_S3_REQUEST_TIMEOUT_MS: '400',
      });
      assert.equal(run.code, 3, run.stderr);
      assert.match(run.stderr, /no answer within 0\.4 s per request \(MNGD_S3_REQUEST_TIMEOUT_MS\)/);
      assert.ok(hole.accepted() >= 1);
      assert.ok(Date.now() - started < 20_000, 'bounded');
    } finally {
      await hole.close();
    }
  });

  it('the store deadline ends the command even while requests would keep retrying', async () => {
    const proxy = await startTcpProxy({ host: '127.0.0.1', port: Number(new URL(s3.endpoint).port) });
    try {
      proxy.stall();
      const run = await repo.run(['publish'], {
        ...s3.env,
        MNGD_S3_ENDPOINT: `http://127.0.0.1:${proxy.port}`,
        MNGD_PUBLISH_TARGET: s3.target('agent'),
        MNGD_SIGNING_KEY: key.private,
        MNGD_S3_REQUEST_TIMEOUT_MS: '5000',
        MNGD_S3_DEADLINE_MS: '600',
      });
      assert.equal(run.code, 3, run.stderr);
      assert.match(run.stderr, /within the store's 0\.6 s deadline \(MNGD_S3_DEADLINE_MS\)/);
      assert.equal(await s3.getText('agent/latest.json'), null, 'nothing was written');
    } finally {
      await proxy.close();
    }
  });
});
