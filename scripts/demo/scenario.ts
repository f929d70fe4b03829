/**
 * The whole flow on one machine, offline: sample packages on a loopback HTTPS CDN, the real
 * pipeline (`mngd-release apply`) on a git working copy of releases into embedded PGlite (or
 * DATABASE_URL) and a local bucket folder, a real helper per device with a stand-in installer,
 * and a fleet of real agents. Plays the stories that matter and returns what happened, so that
 * `npm start` can show it and test/e2e asserts it.
 */
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { offeredText } from '../../schema/channel.js';
import type { ReleaseFile, SignedManifest } from '../../schema/types.js';
import { sampleDigest } from '../sample-packages.js';
import { openStage } from './stage.js';
import { Fleet, type CheckRun } from './fleet.js';
import { yankUnderFire } from './under-fire.js';

export interface ScenarioOptions {
  /** an empty folder for everything the run makes (kept afterwards for reading) */
  dir: string;
  fleetSize?: number;
  /** PostgreSQL to sync into; without it, embedded PGlite in <dir>/state */
  databaseUrl?: string;
  /** where the story is told */
  out: (text: string) => void;
}

export interface StoryResult {
  name: string;
  /** device id -> version before and after the story's checks */
  before: Map<string, string>;
  after: Map<string, string>;
  manifest: SignedManifest;
  /** what the legacy endpoint (`WHERE active ... LIMIT 1`) serves after the story */
  legacy: string | null;
  applyExit: number;
  /** the exit of an apply the story runs after the checks (the yank under fire: the catch-up) */
  followUpExit?: number;
  checks: CheckRun[];
}

export interface ScenarioResult {
  stories: StoryResult[];
  cdnRequests: number;
  /** the helper processes the run started (all stopped when it returns) */
  helperPids: number[];
}

const VERSIONS = ['1.0.0', '1.0.1', '1.0.2', '1.0.3', '1.0.4'];

export async function runScenario(opts: ScenarioOptions): Promise<ScenarioResult> {
  const out = opts.out;
  const stage = await openStage(opts);
  const { cdn, env, git } = stage;

  // 1. Packages and the CDN.
  for (const v of VERSIONS) stage.addPackage(v);
  const fleet = new Fleet({
    dir: join(opts.dir, 'fleet'),
    size: opts.fleetSize ?? 20,
    initialVersion: '1.0.0',
    manifestUrl: cdn.url('/manifests/latest.json'),
    trustedKey: stage.key.public_key,
    caFile: stage.tls.caFile,
  });
  const stories: StoryResult[] = [];
  try {
    out(
      `CDN on ${cdn.origin} serves ${VERSIONS.length} sample packages; ${fleet.devices.length} Macs run mngd-agent ${'1.0.0'}.\n`,
    );

    // 2. A git working copy of the releases, with a policy for this machine.
    stage.writePolicy();
    const release = (version: string, extra: Partial<ReleaseFile> = {}) =>
      stage.writeRelease({
        version,
        download_url: cdn.url(`/agent/mngd-agent-${version}.pkg`),
        ...sampleDigest(version),
        ...extra,
      });

    await fleet.startHelpers();
    out(`Started ${fleet.devices.length} helpers (mngd-helper serve, one per Mac, installer: a stand-in script).\n`);

    let lastApply = 0;
    const apply = async (): Promise<number> => (lastApply = await stage.apply());
    const legacy = () => stage.legacy();
    const manifest = () => stage.manifest();

    const story = async (
      name: string,
      intro: string,
      change: () => void,
      checks: () => Promise<CheckRun[]>,
    ): Promise<StoryResult> => {
      out(`\n━━ ${name} ━━\n${intro}\n`);
      change();
      const applyExit = await apply();
      const m = manifest();
      out(
        `latest.json: sequence ${m.sequence}, offers ${offeredText(m.releases)}, floor ${m.min_required_version ?? 'none'}\n`,
      );
      const before = fleet.versions();
      const runs = await checks();
      const after = fleet.versions();
      const result: StoryResult = { name, before, after, manifest: m, legacy: await legacy(), applyExit, checks: runs };
      out(describeFleet(result));
      out(`legacy endpoint (agent_releases WHERE active) serves: ${result.legacy ?? 'nothing (404)'}\n`);
      stories.push(result);
      return result;
    };

    await story(
      'First release through the pipeline',
      'releases/1.0.0.yaml and 1.0.1.yaml are merged; every Mac runs 1.0.0.',
      () => {
        release('1.0.0', { release_notes: 'The release every Mac runs today.' });
        release('1.0.1', { release_notes: 'First release shipped by the pipeline.' });
        git('add', '-A');
        git('commit', '-qm', 'Release 1.0.0 and 1.0.1');
      },
      () => fleet.checkAll(),
    );

    await story(
      'Staged rollout at 25 %',
      'releases/1.0.2.yaml with rollout_percent: 25 is merged: about a quarter of the fleet moves.',
      () => {
        release('1.0.2', { release_notes: 'New inventory collector (staged).', rollout_percent: 25 });
        git('add', '-A');
        git('commit', '-qm', 'Release 1.0.2 to 25 %');
      },
      () => fleet.checkAll(),
    );

    await story(
      'Yank by git revert',
      'On-call reverts the 1.0.2 commit: the manifest falls back to 1.0.1 with a higher sequence; nobody downgrades.',
      () => {
        git('revert', '--no-edit', 'HEAD');
      },
      () => fleet.checkAll(),
    );

    const stuck = fleet.devices[fleet.devices.length - 1]!;
    await story(
      'Forced update with min_required_version',
      `releases/1.0.3.yaml at 10 % with min_required_version 1.0.3: every Mac below it must update, whatever its cohort.\n${stuck.id}'s helper is down for now: its checkin stays blocked until it has updated.`,
      () => {
        release('1.0.3', {
          release_notes: 'Security fix: every device must update.',
          rollout_percent: 10,
          min_required_version: '1.0.3',
        });
        git('add', '-A');
        git('commit', '-qm', 'Release 1.0.3, required');
      },
      async () => {
        await fleet.stopHelper(stuck);
        const first = await fleet.checkAll();
        const blocked = first.find((r) => r.device === stuck);
        out(
          `${stuck.id}: ${blocked?.result?.outcome ?? 'no result'} at ${blocked?.result?.step ?? '?'} (${blocked?.result?.code ?? '?'}), checkin blocked: ${String(blocked?.result?.blocked)}\n`,
        );
        await fleet.startHelper(stuck);
        const retry = await fleet.check(stuck);
        out(
          `${stuck.id}: helper back; retry -> ${retry.result?.outcome ?? 'no result'}, checkin blocked: ${String(retry.result?.blocked)}\n`,
        );
        return [...first, retry];
      },
    );
    const fire = await yankUnderFire({ story, release, git, env, pkgs: stage.pkgs, fleet, apply, out });
    fire.followUpExit = lastApply;
    return { stories, cdnRequests: cdn.stats.requests, helperPids: fleet.helperPids };
  } finally {
    await fleet.stopHelpers();
    await stage.close();
  }
}

/** What `npm start` says about the five stories at the end. */
export function summarizeScenario(result: ScenarioResult): string[] {
  const [first, staged, yank, forced, fire] = result.stories;
  const fleet = first ? first.after.size : 0;
  return [
    `1. ${sum(first && moves(first))} of ${fleet} Macs updated 1.0.0 -> 1.0.1 on their next check.`,
    `2. The 25 % rollout of 1.0.2 moved ${sum(staged && moves(staged))} of ${fleet} Macs (each version draws its own cohort).`,
    `3. The revert yanked 1.0.2: latest.json fell back to 1.0.1 (sequence ${staged?.manifest.sequence ?? '?'} -> ${yank?.manifest.sequence ?? '?'}); ${sum(yank && moves(yank))} devices changed version (no downgrades).`,
    `4. min_required_version 1.0.3 moved ${sum(forced && moves(forced))} Macs despite a 10 % rollout; the one whose helper was down stayed blocked until it had updated.`,
    `5. Under fire (1.0.4's package pulled, 1.0.1 404ing, the database down), apply still published the yank (exit ${fire?.applyExit ?? '?'}: the job is red, the manifest went out); ${fire ? [...fire.after.values()].filter((v) => v === '1.0.4').length : '?'} of ${fleet} Macs took 1.0.4, and the following apply caught the table up (exit ${fire?.followUpExit ?? '?'}).`,
  ];
}

function sum(m: Map<string, number> | undefined): number {
  return m ? [...m.values()].reduce((a, b) => a + b, 0) : 0;
}

export function moves(s: StoryResult): Map<string, number> {
  const m = new Map<string, number>();
  for (const [id, v] of s.after) {
    const from = s.before.get(id);
    if (from !== v) m.set(`${from} -> ${v}`, (m.get(`${from} -> ${v}`) ?? 0) + 1);
  }
  return m;
}

function describeFleet(s: StoryResult): string {
  const changed = moves(s);
  const counts = new Map<string, number>();
  for (const v of s.after.values()) counts.set(v, (counts.get(v) ?? 0) + 1);
  const lines = [
    changed.size === 0
      ? 'fleet: no device changed version'
      : `fleet: ${[...changed].map(([k, n]) => `${n} updated ${k}`).join(', ')}`,
    `now running: ${[...counts]
      .sort()
      .map(([v, n]) => `${v} × ${n}`)
      .join(', ')}`,
  ];
  const failed = s.checks.filter((c) => c.result?.outcome === 'failed' || c.result === null);
  if (failed.length > 0)
    lines.push(
      `checks that failed: ${failed.map((c) => `${c.device.id} (${c.result?.code ?? c.stderr.trim().split('\n')[0]})`).join(', ')}`,
    );
  return `${lines.join('\n')}\n`;
}

export function cleanDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
}
