/**
 * What apply tells a person and a machine: each channel's floor and its offer with the shares,
 * and the load events; --json carries them as data (offers as {version, rollout_percent}, never
 * "1.0.2 (10%)"); and plan afterwards says nothing is left to apply.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { cliDatabase, type CliDatabase } from '../../support/cli-db.js';
import { generatedBytes, routes, servePackage, startHttpsServer, type TestServer } from '../../support/https-server.js';
import { makeReleaseRepo, testKey, type ReleaseRepo } from '../../support/publish-repo.js';
import { testTls } from '../../support/tls.js';

const T0 = new Date('2026-11-27T02:00:00Z');
const T1 = new Date('2026-11-27T03:00:00Z');
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
const PKGS: Record<string, Buffer> = { '1.0.1': generatedBytes(11, 30_000), '1.0.2': generatedBytes(12, 30_000) };

describe('apply tells what it did', () => {
  let srv: TestServer;
  let db: CliDatabase;
  let repo: ReleaseRepo;
  let env: Record<string, string>;
  let bucket: string;
  const release = (v: string, extra: { min_required_version?: string; rollout_percent?: number } = {}) =>
    repo.writeRelease({ version: v, sha256: sha(PKGS[v]!), size: PKGS[v]!.length, ...extra });
  const apply = (now: Date, ...argv: string[]) => repo.run(['apply', '--ca-file', testTls().caFile, ...argv], env, now);

  before(async () => {
    srv = await startHttpsServer(
      routes(Object.fromEntries(Object.entries(PKGS).map(([v, b]) => [`/pkg/mngd-agent-${v}.pkg`, servePackage(b)]))),
    );
    const key = testKey();
    repo = await makeReleaseRepo({ trusted: [key], prefix: `${srv.origin}/pkg/` });
    db = await cliDatabase(`${repo.root}/.state`);
    bucket = `${repo.root}/bucket`;
    env = { ...db.env, MNGD_SIGNING_KEY: key.private, MNGD_PUBLISH_TARGET: bucket };
    await release('1.0.1');
    await release('1.0.2', { min_required_version: '1.0.1', rollout_percent: 10 });
  });
  after(async () => {
    await db.close();
    await srv.close();
    await repo.close();
  });

  it('names the load events, and each manifest with its shares and floor', async () => {
    const run = await apply(T0);
    assert.equal(run.code, 0, run.stdout + run.stderr);
    const lines = run.stdout.split('\n');
    assert.match(
      lines[1]!,
      /^✓ sync: (\d+ migration\(s\), )?2 to insert, 0 to update, 0 to yank, 0 unchanged \(\S+\)$/,
    );
    const manifest = (channel: string, key: string) =>
      `    ${channel}: published ${key} sequence 1795744800, expires 2026-12-11T02:00:00Z: nothing was published on this channel yet; offers 1.0.2 (10%), 1.0.1; floor 1.0.1`;
    assert.deepEqual(lines.slice(2), [
      '    FLOOR_RAISED [stable]: the floor of stable rises none -> 1.0.1: every stable agent below 1.0.1 must update before it checks in again',
      '    FLOOR_RAISED [beta]: the floor of beta rises none -> 1.0.1: every beta agent below 1.0.1 must update before it checks in again',
      `✓ publish: 4 of 4 manifest(s) written to ${bucket}`,
      manifest('stable', 'latest.json'),
      manifest('stable', 'v2/latest.json'),
      manifest('beta', 'channels/beta/latest.json'),
      manifest('beta', 'v2/channels/beta/latest.json'),
      'Applied: the artifacts are verified, the table and the manifests match git.',
      '',
    ]);
    const plan = await repo.run(['plan'], env, T0);
    assert.match(plan.stdout, /\nNothing to apply: the table and the published manifests already match git\.\n$/);
  });

  it('--json: the load events and every manifest as data, offers as {version, rollout_percent}', async () => {
    await release('1.0.2', { min_required_version: '1.0.2', rollout_percent: 50 });
    const run = await apply(T1, '--json');
    assert.equal(run.code, 0, run.stdout + run.stderr);
    const out = JSON.parse(run.stdout) as { load_events: unknown[]; manifests: unknown[] };
    assert.deepEqual(out.load_events, [
      {
        code: 'FLOOR_RAISED',
        channel: 'stable',
        message:
          'the floor of stable rises 1.0.1 -> 1.0.2: every stable agent below 1.0.2 must update before it checks in again',
      },
      {
        code: 'FLOOR_RAISED',
        channel: 'beta',
        message:
          'the floor of beta rises 1.0.1 -> 1.0.2: every beta agent below 1.0.2 must update before it checks in again',
      },
    ]);
    const offers = [
      { version: '1.0.2', rollout_percent: 50 },
      { version: '1.0.1', rollout_percent: 100 },
    ];
    const m = (channel: string, spec: number, key: string) => ({
      channel,
      spec,
      key,
      action: 'updated',
      sequence: 1795748400,
      expires_at: '2026-12-11T03:00:00Z',
      floor: '1.0.2',
      offers,
    });
    assert.deepEqual(out.manifests, [
      m('stable', 1, 'latest.json'),
      m('stable', 2, 'v2/latest.json'),
      m('beta', 1, 'channels/beta/latest.json'),
      m('beta', 2, 'v2/channels/beta/latest.json'),
    ]);
  });
});
