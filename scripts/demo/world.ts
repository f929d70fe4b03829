/**
 * The setting of the closing-the-loop stories (guard.ts, bad-updater.ts): on the stage every story
 * stands on (stage.ts: packages on the loopback CDN, the release repository, the real
 * `mngd-release`), a fleet of Macs with a real helper each, the stand-in mngd server their agents
 * check in with (into the stage's database), and launchd keeping their agents running.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { openDatabase } from '../../pipeline/table/index.js';
import type { ReleaseFile, SignedManifest } from '../../schema/types.js';
import { macTools } from '../mac-tools.js';
import type { Cdn } from './cdn.js';
import { Fleet, type Device } from './fleet.js';
import { Launchd } from './launchd.js';
import { startMngdServer, type MngdServer } from './mngd-server.js';
import { openStage, singlePackage } from './stage.js';

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
  /** writes releases/<version>.yaml (one of `versions`: its package is on the CDN) */
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
  const stage = await openStage({
    dir: opts.dir,
    out: opts.out,
    ...(opts.databaseUrl ? { databaseUrl: opts.databaseUrl } : {}),
  });
  stage.writePolicy(opts.policy, ['stable']);
  const packages = new Map(opts.versions.map((v) => [v, singlePackage(stage.addPackage(v))]));
  const server = await startMngdServer(stage.tls, () => openDatabase(stage.repo, stage.env));
  const fleet = new Fleet({
    dir: join(opts.dir, 'fleet'),
    size: opts.fleetSize,
    initialVersion: opts.initialVersion,
    manifestUrl: stage.cdn.url('/manifests/latest.json'),
    trustedKey: stage.key.public_key,
    caFile: stage.tls.caFile,
    ...(opts.helperArgs ? { helperArgs: opts.helperArgs } : {}),
    ...(opts.helperEnv ? { helperEnv: opts.helperEnv } : {}),
  });
  const tools = macTools(join(opts.dir, 'mac-tools'), '14.6', 'apple');
  const launchd = new Launchd({
    fleet,
    ...(opts.broken ? { broken: opts.broken } : {}),
    // At once, then hourly: a round ends at the first checkin.
    runFlags: ['--checkin-url', server.url, '--sw-vers', tools.swVers, '--sysctl', tools.sysctl, '--first-delay', '0'],
  });
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
    cdn: stage.cdn,
    caFile: stage.tls.caFile,
    repo: stage.repo,
    release: (version, extra = {}) => {
      const pkg = packages.get(version);
      if (pkg === undefined) throw new Error(`no package of ${version} in this story`);
      stage.writeRelease({ version, ...pkg, ...extra });
    },
    git: stage.git,
    cli: async (args, quiet = false) => {
      await server.release(); // embedded PGlite: one holder at a time
      return stage.runText(args, quiet);
    },
    manifest: stage.manifest,
    round,
    pids: () => [...fleet.helperPids, ...launchd.pids],
    async close() {
      await launchd.stopAll();
      await fleet.stopHelpers();
      await server.close();
      await stage.close();
    },
  };
}

/** min / median / max of `xs` (sorted copy), or null when empty. */
export function spread(xs: readonly number[]): { min: number; median: number; max: number } | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length / 2;
  const median = s.length % 2 === 1 ? s[Math.floor(mid)]! : (s[mid - 1]! + s[mid]!) / 2;
  return { min: s[0]!, median, max: s[s.length - 1]! };
}

/** What `mngd-release guard` did to one version: its exit, the halt's reason (null: not halted), the offers after. */
export interface GuardRun {
  guardExit: number;
  haltReason: string | null;
  offeredAfterHalt: string[];
}

/**
 * Runs the guard; where it halted `version`, takes the break-glass path as release-halt does:
 * publish at once, and git records the halt (a pull request in production).
 */
export async function guardAndHalt(w: World, version: string): Promise<GuardRun> {
  const guard = await w.cli(['guard']);
  const file = readFileSync(join(w.repo, 'releases', `${version}.yaml`), 'utf8');
  const haltReason = /^ {2}reason: (.*)$/m.exec(file)?.[1] ?? null;
  if (haltReason !== null) {
    await w.cli(['publish']);
    w.git('commit', '-qam', `Halt ${version} (guard)`);
  }
  return { guardExit: guard.code, haltReason, offeredAfterHalt: w.manifest().releases.map((r) => r.version) };
}
