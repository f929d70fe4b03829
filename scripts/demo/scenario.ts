/**
 * The whole flow on one machine, offline: sample packages on a loopback HTTPS CDN, the real
 * pipeline (`mngd-release apply`) on a git working copy of releases into embedded PGlite (or
 * DATABASE_URL) and a local bucket folder, a real helper per device with a stand-in installer,
 * and a fleet of real agents. Plays the stories that matter and returns what happened, so that
 * `npm start` can show it and test/e2e asserts it.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli } from '../../pipeline/cli/dispatch.js';
import type { CommandContext } from '../../pipeline/cli/command.js';
import { openDatabase } from '../../pipeline/table/db/connect.js';
import { renderReleaseYaml } from '../../pipeline/releases/release-yaml.js';
import { LEGACY_QUERY } from '../../schema/sql/index.js';
import { generateSigningKey } from '../../schema/keys.js';
import type { ReleaseFile, SignedManifest } from '../../schema/types.js';
import { makeLoopbackTls } from '../loopback-tls.js';
import { samplePackage, sampleDigest } from '../sample-packages.js';
import { startCdn, type Cdn } from './cdn.js';
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
  const dir = opts.dir;
  const repo = join(dir, 'repo');
  const pkgs = join(dir, 'cdn', 'agent');
  const bucket = join(dir, 'bucket');
  const stateDir = join(dir, 'state');
  const tlsDir = join(dir, 'tls');
  for (const d of [repo, join(repo, 'releases'), pkgs, bucket, stateDir, tlsDir]) mkdirSync(d, { recursive: true });

  // 1. Packages and the CDN.
  for (const v of VERSIONS) writeFileSync(join(pkgs, `mngd-agent-${v}.pkg`), samplePackage(v));
  const tls = makeLoopbackTls(tlsDir);
  const cdn: Cdn = await startCdn(tls, { '/agent/': pkgs, '/manifests/': bucket });
  const key = generateSigningKey();
  const fleet = new Fleet({
    dir: join(dir, 'fleet'),
    size: opts.fleetSize ?? 20,
    initialVersion: '1.0.0',
    manifestUrl: cdn.url('/manifests/latest.json'),
    trustedKey: key.public_key,
    caFile: tls.caFile,
  });
  const stories: StoryResult[] = [];
  try {
    out(
      `CDN on ${cdn.origin} serves ${VERSIONS.length} sample packages; ${fleet.devices.length} Macs run mngd-agent ${'1.0.0'}.\n`,
    );

    // 2. A git working copy of the releases, with a policy for this machine.
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
        'channels: [stable, beta]',
        'trusted_keys:',
        `  - keyid: ${key.keyid}`,
        `    public_key: ${key.public_key}`,
        '    comment: "demo key, made for this run"',
        'publish:',
        `  target: ${bucket}`,
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

    await fleet.startHelpers();
    out(`Started ${fleet.devices.length} helpers (mngd-helper serve, one per Mac, installer: a stand-in script).\n`);

    const env: Record<string, string | undefined> = {
      MNGD_SIGNING_KEY: key.privateKeyText,
      MNGD_STATE_DIR: stateDir,
      ...(opts.databaseUrl ? { DATABASE_URL: opts.databaseUrl } : {}),
    };
    let lastApply = 0;
    const apply = async (): Promise<number> => {
      let text = '';
      const ctx: CommandContext = {
        cwd: repo,
        env,
        stdout: { write: (t) => void (text += t) },
        stderr: { write: (t) => void (text += t) },
        isTTY: false,
        now: () => new Date(),
      };
      const code = await runCli(['apply', '--ca-file', tls.caFile], ctx);
      out(`$ mngd-release apply\n${indent(text)}`);
      return (lastApply = code);
    };
    const legacy = async (): Promise<string | null> => {
      const db = await openDatabase(repo, env);
      try {
        const r = await db.query<{ version: string }>(LEGACY_QUERY);
        return r.rows[0]?.version ?? null;
      } finally {
        await db.close();
      }
    };
    const manifest = () =>
      (JSON.parse(readFileSync(join(bucket, 'latest.json'), 'utf8')) as { signed: SignedManifest }).signed;

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
        `latest.json: sequence ${m.sequence}, offers ${m.releases.map((r) => `${r.version}${r.rollout_percent < 100 ? ` (${r.rollout_percent}%)` : ''}`).join(', ') || 'nothing'}, floor ${m.min_required_version ?? 'none'}\n`,
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
    const fire = await yankUnderFire({ story, release, git, env, pkgs, fleet, apply, out });
    fire.followUpExit = lastApply;
    return { stories, cdnRequests: cdn.stats.requests, helperPids: fleet.helperPids };
  } finally {
    await fleet.stopHelpers();
    await cdn.close();
  }
}

function indent(text: string): string {
  return text
    .trimEnd()
    .split('\n')
    .map((l) => `  ${l}`)
    .join('\n')
    .concat('\n');
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
