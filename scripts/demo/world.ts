/**
 * The setting of the closing-the-loop stories (guard.ts, bad-updater.ts): sample packages on the
 * loopback HTTPS CDN, a git working copy of releases with a policy for this machine, the real
 * `mngd-release` run in it (into PGlite under the workspace, or DATABASE_URL), a fleet of Macs
 * with a real helper each, the stand-in mngd server their agents check in with, and launchd
 * keeping their agents running.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CommandContext } from '../../pipeline/cli/command.js';
import { runCli } from '../../pipeline/cli/dispatch.js';
import { renderReleaseYaml } from '../../pipeline/releases/release-yaml.js';
import { openDatabase } from '../../pipeline/table/index.js';
import { generateSigningKey } from '../../schema/keys.js';
import type { ReleaseFile, SignedManifest } from '../../schema/types.js';
import { makeLoopbackTls } from '../loopback-tls.js';
import { macTools } from '../mac-tools.js';
import { samplePackage, sampleDigest } from '../sample-packages.js';
import { startCdn, type Cdn } from './cdn.js';
import { Fleet, type Device } from './fleet.js';
import { Launchd } from './launchd.js';
import { startMngdServer, type MngdServer } from './mngd-server.js';

export interface WorldOptions {
  /** an empty folder for everything the story makes */
  dir: string;
  fleetSize: number;
  initialVersion: string;
  versions: string[];
  /** lines added to releases/policy.yaml (the guard's thresholds) */
  policy: string[];
  /** PostgreSQL; without it, embedded PGlite in <dir>/state */
  databaseUrl?: string;
  /** more flags for every helper */
  helperArgs?: string[];
  helperEnv?: (d: Device) => Record<string, string>;
  /** versions whose agent build broke the updater */
  broken?: ReadonlySet<string>;
  out: (text: string) => void;
}

export interface World {
  fleet: Fleet;
  server: MngdServer;
  launchd: Launchd;
  cdn: Cdn;
  /** the loopback CA (apply's --ca-file) */
  caFile: string;
  /** the release repository */
  repo: string;
  /** writes releases/<version>.yaml */
  release(version: string, extra?: Partial<ReleaseFile>): void;
  git(...args: string[]): string;
  /** `mngd-release <args>` in the release repository, shown with its output (unless `quiet`) */
  cli(args: string[], quiet?: boolean): Promise<{ code: number; text: string }>;
  manifest(): SignedManifest;
  /**
   * One check round of `devices`, `concurrency` at a time: launchd starts each one's agent and
   * stops it once it has checked in (after an install and a restart, or a rollback, that is the
   * agent of the version it ended on).
   */
  round(devices: readonly Device[], concurrency: number): Promise<void>;
  /** every helper and agent process started (none runs once close() returned) */
  pids(): number[];
  close(): Promise<void>;
}

export async function openWorld(opts: WorldOptions): Promise<World> {
  const { dir, out } = opts;
  const repo = join(dir, 'repo');
  const pkgs = join(dir, 'cdn', 'agent');
  const bucket = join(dir, 'bucket');
  for (const d of [join(repo, 'releases'), pkgs, bucket, join(dir, 'tls')]) mkdirSync(d, { recursive: true });
  for (const v of opts.versions) writeFileSync(join(pkgs, `mngd-agent-${v}.pkg`), samplePackage(v));
  const tls = makeLoopbackTls(join(dir, 'tls'));
  const cdn = await startCdn(tls, { '/agent/': pkgs, '/manifests/': bucket });
  const key = generateSigningKey();
  const env: Record<string, string | undefined> = {
    MNGD_SIGNING_KEY: key.privateKeyText,
    MNGD_STATE_DIR: join(dir, 'state'),
    ...(opts.databaseUrl ? { DATABASE_URL: opts.databaseUrl } : {}),
  };
  const server = await startMngdServer(tls, () => openDatabase(repo, env));
  const fleet = new Fleet({
    dir: join(dir, 'fleet'),
    size: opts.fleetSize,
    initialVersion: opts.initialVersion,
    manifestUrl: cdn.url('/manifests/latest.json'),
    trustedKey: key.public_key,
    caFile: tls.caFile,
    ...(opts.helperArgs ? { helperArgs: opts.helperArgs } : {}),
    ...(opts.helperEnv ? { helperEnv: opts.helperEnv } : {}),
  });
  const tools = macTools(join(dir, 'mac-tools'), '14.6', 'apple');
  const launchd = new Launchd({
    fleet,
    ...(opts.broken ? { broken: opts.broken } : {}),
    // At once, then hourly: a round ends at the first checkin.
    runFlags: ['--checkin-url', server.url, '--sw-vers', tools.swVers, '--sysctl', tools.sysctl, '--first-delay', '0'],
  });

  const git = (...args: string[]) =>
    execFileSync(
      'git',
      ['-c', 'user.name=mngd demo', '-c', 'user.email=demo@localhost', '-c', 'commit.gpgsign=false', ...args],
      { cwd: repo, stdio: 'pipe' },
    ).toString();
  git('init', '-q', '-b', 'main');
  writeFileSync(
    join(repo, 'releases', 'policy.yaml'),
    [
      '# yaml-language-server: $schema=../schema/policy.schema.json',
      'allowed_url_prefixes:',
      `  - ${cdn.url('/agent/')}`,
      'channels: [stable]',
      'trusted_keys:',
      `  - keyid: ${key.keyid}`,
      `    public_key: ${key.public_key}`,
      '    comment: "demo key, made for this run"',
      'publish:',
      `  target: ${bucket}`,
      ...opts.policy,
      '',
    ].join('\n'),
  );
  const release = (version: string, extra: Partial<ReleaseFile> = {}) =>
    writeFileSync(
      join(repo, 'releases', `${version}.yaml`),
      renderReleaseYaml({
        version,
        download_url: cdn.url(`/agent/mngd-agent-${version}.pkg`),
        ...sampleDigest(version),
        ...extra,
      }),
    );
  const cli = async (args: string[], quiet = false): Promise<{ code: number; text: string }> => {
    await server.release(); // embedded PGlite: one holder at a time
    let text = '';
    const ctx: CommandContext = {
      cwd: repo,
      env,
      stdout: { write: (t) => void (text += t) },
      stderr: { write: (t) => void (text += t) },
      isTTY: false,
      now: () => new Date(),
    };
    const code = await runCli(args, ctx);
    if (!quiet) out(`$ mngd-release ${args.join(' ')}\n${indent(text)}`);
    return { code, text };
  };
  const round = async (devices: readonly Device[], concurrency: number): Promise<void> => {
    let next = 0;
    const worker = async () => {
      while (next < devices.length) {
        const d = devices[next++]!;
        const checkedIn = server.nextCheckin(d.id);
        launchd.start(d);
        await checkedIn;
        await launchd.stop(d);
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
  };
  await fleet.startHelpers();
  return {
    fleet,
    server,
    launchd,
    cdn,
    caFile: tls.caFile,
    repo,
    release,
    git,
    cli,
    manifest: () =>
      (JSON.parse(readFileSync(join(bucket, 'latest.json'), 'utf8')) as { signed: SignedManifest }).signed,
    round,
    pids: () => [...fleet.helperPids, ...launchd.pids],
    async close() {
      await launchd.stopAll();
      await fleet.stopHelpers();
      await server.close();
      await cdn.close();
    },
  };
}

export function indent(text: string): string {
  return text
    .trimEnd()
    .split('\n')
    .map((l) => `  ${l}`)
    .join('\n')
    .concat('\n');
}

/** min / median / max of `xs` (sorted copy), or null when empty. */
export function spread(xs: readonly number[]): { min: number; median: number; max: number } | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length / 2;
  const median = s.length % 2 === 1 ? s[Math.floor(mid)]! : (s[mid - 1]! + s[mid]!) / 2;
  return { min: s[0]!, median, max: s[s.length - 1]! };
}
