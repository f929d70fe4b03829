/**
 * A real S3-compatible server (s3rver) on 127.0.0.1, in its own temporary directory, with one
 * bucket. Reusable by any test that publishes:
 *
 *   const s3 = await startS3rver();
 *   s3.env  // AWS_* and MNGD_S3_ENDPOINT for a CommandContext
 *   await s3.stop(); await s3.start();   // same port, same objects: an outage and a recovery
 *   await s3.close();
 *
 * Quirks: s3rver ignores If-Match / If-None-Match, so conditional-write conflicts are tested
 * against the directory store and a loopback endpoint (test/pipeline/manifests/store/); objects
 * keep their Content-Type and Cache-Control.
 *
 * Its clock (the Date header of every answer, which publish holds its own clock against) is the
 * test world's (world-time.ts: the time the last command was given), unless a test sets one:
 * startS3rver({ clock }) or s3.setClock(() => date).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ServerResponse } from 'node:http';
import S3rver from 's3rver';
import { GetObjectCommand, HeadObjectCommand, S3Client, type HeadObjectCommandOutput } from '@aws-sdk/client-s3';
import { worldTime } from './world-time.js';

export interface TestS3 {
  /** http://127.0.0.1:<port> */
  endpoint: string;
  /** the folder s3rver keeps its objects in (a test may read every byte the bucket holds) */
  dir: string;
  bucket: string;
  /** s3://<bucket>/<prefix> */
  target(prefix?: string): string;
  /** environment for a CommandContext: credentials, region and the endpoint */
  env: Record<string, string>;
  /** a client for reading back what was written */
  client: S3Client;
  head(key: string): Promise<HeadObjectCommandOutput | null>;
  getText(key: string): Promise<string | null>;
  /** stops serving (connections are cut); objects stay on disk */
  stop(): Promise<void>;
  /** serves again on the same port */
  start(): Promise<void>;
  /** the clock its answers' Date header tells from now on; null: the test world's again */
  setClock(clock: (() => Date) | null): void;
  close(): Promise<void>;
}

/** Every answer's Date header from `clock` (Node writes the real time only when none is set). */
function dateFrom(res: ServerResponse, clock: () => Date): void {
  const writeHead = res.writeHead;
  res.writeHead = ((...args: Parameters<typeof writeHead>) => {
    if (!res.headersSent) res.setHeader('Date', clock().toUTCString());
    return writeHead.apply(res, args);
  }) as typeof writeHead;
}

// s3rver checks each signature's time against the host's real clock while its Date header tells
// the test world's; the SDK would sign with the Date header's time once it differs by minutes
// (its clock-skew correction), so clients sign with their own clock here (an SDK setting).
// Set on import, before any client resolves it.
process.env['AWS_DISABLE_CLOCK_SKEW_CORRECTION'] ??= 'true';

export async function startS3rver(opts: { bucket?: string; clock?: () => Date } = {}): Promise<TestS3> {
  let clock = opts.clock ?? null;
  // As S3Store does: the SDK's Node 22 notice is noise in every test log.
  process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] ??= 'true';
  const dir = await mkdtemp(join(tmpdir(), 'mngd-s3rver-'));
  const bucket = opts.bucket ?? 'mngd-test';
  let port = 0;
  let server: S3rver | null = null;
  const start = async (): Promise<void> => {
    const s = new S3rver({
      address: '127.0.0.1',
      port,
      silent: true,
      directory: dir,
      configureBuckets: [{ name: bucket }],
    });
    const addr = await s.run();
    s.httpServer?.prependListener('request', (_req, res) => dateFrom(res, () => (clock ?? worldTime)()));
    port = addr.port;
    server = s;
  };
  const stop = async (): Promise<void> => {
    const s = server;
    server = null;
    if (s === null) return;
    s.httpServer?.closeAllConnections();
    await s.close();
  };
  await start();
  const endpoint = `http://127.0.0.1:${port}`;
  const credentials = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };
  const client = new S3Client({
    region: 'us-east-1',
    endpoint,
    forcePathStyle: true,
    credentials,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  const notFound = (err: unknown): boolean =>
    (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404;
  return {
    endpoint,
    dir,
    bucket,
    target: (prefix = '') => `s3://${bucket}${prefix ? `/${prefix}` : ''}`,
    env: {
      AWS_ACCESS_KEY_ID: credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
      AWS_REGION: 'us-east-1',
      MNGD_S3_ENDPOINT: endpoint,
    },
    client,
    head: async (key) => {
      try {
        return await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
      } catch (err) {
        if (notFound(err)) return null;
        throw err;
      }
    },
    getText: async (key) => {
      try {
        const out = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
        return (await out.Body?.transformToString('utf8')) ?? '';
      } catch (err) {
        if (notFound(err)) return null;
        throw err;
      }
    },
    stop,
    start,
    setClock: (c) => {
      clock = c;
    },
    close: async () => {
      client.destroy();
      await stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
