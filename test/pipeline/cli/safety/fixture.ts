/**
 * A release repository for the safety-publish tests, driven through the real mngd-release bin:
 * stable offers 1.0.3 at 100 % and the bad 1.0.4 at 20 %, applied once with everything up. The
 * packages come from a loopback HTTPS server whose routes a test can pull; the manifests go to a
 * folder; the table is PostgreSQL when one runs here (fast), else the embedded PGlite.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { publicKeyFromBase64 } from '../../../../schema/keys.js';
import { verifyManifest } from '../../../../schema/manifest.js';
import { runBin } from '../../../support/cli.js';
import { cliDatabase, type CliDatabase } from '../../../support/cli-db.js';
import { preparePgliteDir } from '../../../support/db.js';
import {
  generatedBytes,
  routes,
  servePackage,
  startHttpsServer,
  type Handler,
  type TestServer,
} from '../../../support/https-server.js';
import { makeReleaseRepo, testKey, type ReleaseRepo } from '../../../support/publish-repo.js';
import { testTls } from '../../../support/tls.js';

const PKGS: Record<string, Buffer> = {
  '1.0.3': generatedBytes(3, 30_000),
  '1.0.4': generatedBytes(4, 30_000),
  '1.0.5': generatedBytes(5, 30_000),
};
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** A port nothing listens on: bound, then closed. */
export async function closedPort(): Promise<number> {
  const s = createServer().listen(0, '127.0.0.1');
  await once(s, 'listening');
  const port = (s.address() as { port: number }).port;
  s.close();
  await once(s, 'close');
  return port;
}

export interface SafetyFixture {
  repo: ReleaseRepo;
  db: CliDatabase;
  env: Record<string, string>;
  /** the CDN "pulls" a package: its URL answers 404 from now on */
  pull(version: string): void;
  bin(argv: string[], env?: Record<string, string>): ReturnType<typeof runBin>;
  apply(env?: Record<string, string>): ReturnType<typeof runBin>;
  /** versions@share the stable manifest lists, verified as an agent would */
  offered(): Promise<string[]>;
  release(v: string, extra?: { active?: boolean; rollout_percent?: number }): Promise<string>;
  close(): Promise<void>;
}

export async function safetyFixture(opts: { pglite?: boolean } = {}): Promise<SafetyFixture> {
  const table: Record<string, Handler> = {};
  for (const [v, b] of Object.entries(PKGS)) table[`/pkg/mngd-agent-${v}.pkg`] = servePackage(b);
  const srv: TestServer = await startHttpsServer(routes(table));
  const key = testKey();
  const repo = await makeReleaseRepo({ trusted: [key], prefix: `${srv.origin}/pkg/`, channels: ['stable'] });
  const state = join(repo.root, '.state');
  const bucket = join(repo.root, 'bucket');
  const previous = process.env['MNGD_TEST_PGLITE'];
  if (opts.pglite) process.env['MNGD_TEST_PGLITE'] = '1';
  const db = await cliDatabase(state);
  if (previous === undefined) delete process.env['MNGD_TEST_PGLITE'];
  else process.env['MNGD_TEST_PGLITE'] = previous;
  if (db.kind === 'pglite') await preparePgliteDir(join(state, 'pglite'));
  const env = { ...db.env, MNGD_STATE_DIR: state, MNGD_SIGNING_KEY: key.private, MNGD_PUBLISH_TARGET: bucket };
  const f: SafetyFixture = {
    repo,
    db,
    env,
    pull: (v) => void delete table[`/pkg/mngd-agent-${v}.pkg`],
    bin: (argv, extra = {}) => runBin(argv, { cwd: repo.root, env: { ...env, ...extra } }),
    apply: (extra = {}) => f.bin(['apply', '--ca-file', testTls().caFile], extra),
    async offered() {
      const text = await readFile(join(bucket, 'latest.json'), 'utf8');
      const v = verifyManifest(text, {
        trustedKeys: [publicKeyFromBase64(key.public_key)],
        channel: 'stable',
        now: new Date(),
      });
      return v.signed.releases.map((r) => `${r.version}@${r.rollout_percent}`);
    },
    release: (v, extra = {}) =>
      repo.writeRelease({ version: v, sha256: sha(PKGS[v] as Buffer), size: (PKGS[v] as Buffer).length, ...extra }),
    async close() {
      await db.close();
      await srv.close();
      await repo.close();
    },
  };
  await f.release('1.0.3');
  await f.release('1.0.4', { rollout_percent: 20 });
  const first = await f.apply();
  assert.equal(first.code, 0, first.stdout + first.stderr);
  assert.deepEqual(await f.offered(), ['1.0.4@20', '1.0.3@100']);
  return f;
}

/** The yank: 1.0.4's file says active: false. */
export const yank = (f: SafetyFixture) => f.release('1.0.4', { rollout_percent: 20, active: false });
