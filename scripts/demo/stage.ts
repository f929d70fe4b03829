/**
 * What every demo story stands on: a folder for everything it makes, sample packages on a
 * loopback HTTPS CDN, a signing key made for the run, a git working copy of releases with a policy
 * for this machine, and the real pipeline (`mngd-release`, in process) syncing into embedded PGlite
 * (or DATABASE_URL) and publishing into a local bucket folder the CDN serves.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli } from '../../pipeline/cli/dispatch.js';
import type { CommandContext } from '../../pipeline/cli/command.js';
import { openDatabase } from '../../pipeline/table/db/connect.js';
import { renderReleaseYaml } from '../../pipeline/releases/release-yaml.js';
import { LEGACY_QUERY } from '../../schema/sql/index.js';
import { generateSigningKey } from '../../schema/keys.js';
import type { ReleaseFile, SignedManifest, SignedManifest2 } from '../../schema/types.js';
import { makeLoopbackTls, type LoopbackTls } from '../loopback-tls.js';
import { samplePackage, sampleDigest } from '../sample-packages.js';
import { startCdn, type Cdn } from './cdn.js';

export interface StageOptions {
  /** an empty folder for everything the story makes (kept afterwards for reading) */
  dir: string;
  /** PostgreSQL to sync into; without it, embedded PGlite in <dir>/state */
  databaseUrl?: string;
  /** where the story is told */
  out: (text: string) => void;
  /** the pipeline's clock: when it signs, pauses, halts (default: the real time) */
  now?: () => Date;
}

export interface Artifact {
  arch: 'universal' | 'arm64' | 'x86_64';
  download_url: string;
  sha256: string;
  size: number;
}

export interface Stage {
  dir: string;
  repo: string;
  /** the folder the CDN serves packages from, at /agent/ */
  pkgs: string;
  /** the publish target, served at /manifests/ */
  bucket: string;
  tls: LoopbackTls;
  cdn: Cdn;
  key: ReturnType<typeof generateSigningKey>;
  /** the environment the pipeline runs with (a story may change it: a database outage) */
  env: Record<string, string | undefined>;
  git(...args: string[]): string;
  /** releases/policy.yaml: URL prefix, channels, the run's key, the bucket, and `extra` lines */
  writePolicy(extra?: readonly string[], channels?: readonly string[]): void;
  /** writes a sample package of `version` (for one arch, or universal) to the CDN; its release-file fields */
  addPackage(version: string, arch?: 'arm64' | 'x86_64'): Artifact;
  /** releases/<version>.yaml */
  writeRelease(release: ReleaseFile): void;
  /** `mngd-release <args>` in the repository, told as `$ mngd-release …` and its output (the lines `show` keeps); the exit code */
  run(args: readonly string[], show?: (line: string) => boolean): Promise<number>;
  /** `mngd-release <args>` as run() tells it (or not at all: `quiet`); the exit code and the whole output */
  runText(args: readonly string[], quiet?: boolean): Promise<{ code: number; text: string }>;
  /** `mngd-release apply` (the CDN's CA trusted); the exit code */
  apply(): Promise<number>;
  /** what the legacy endpoint (`agent_releases WHERE active … LIMIT 1`) serves */
  legacy(): Promise<string | null>;
  /** the spec-1 manifest of stable as published */
  manifest(): SignedManifest;
  /** the spec-2 manifest of stable as published */
  manifest2(): SignedManifest2;
  close(): Promise<void>;
}

export async function openStage(opts: StageOptions): Promise<Stage> {
  const { dir, out } = opts;
  const repo = join(dir, 'repo');
  const pkgs = join(dir, 'cdn', 'agent');
  const bucket = join(dir, 'bucket');
  const stateDir = join(dir, 'state');
  const tlsDir = join(dir, 'tls');
  for (const d of [repo, join(repo, 'releases'), pkgs, bucket, stateDir, tlsDir]) mkdirSync(d, { recursive: true });
  const tls = makeLoopbackTls(tlsDir);
  const cdn = await startCdn(tls, { '/agent/': pkgs, '/manifests/': bucket });
  const key = generateSigningKey();
  const env: Record<string, string | undefined> = {
    MNGD_SIGNING_KEY: key.privateKeyText,
    MNGD_STATE_DIR: stateDir,
    ...(opts.databaseUrl ? { DATABASE_URL: opts.databaseUrl } : {}),
  };
  const git = (...args: string[]) =>
    execFileSync(
      'git',
      ['-c', 'user.name=mngd demo', '-c', 'user.email=demo@localhost', '-c', 'commit.gpgsign=false', ...args],
      { cwd: repo, stdio: 'pipe' },
    ).toString();
  git('init', '-q', '-b', 'main');
  const runText = async (
    args: readonly string[],
    quiet = false,
    show?: (line: string) => boolean,
  ): Promise<{ code: number; text: string }> => {
    let text = '';
    const ctx: CommandContext = {
      cwd: repo,
      env,
      stdout: { write: (t) => void (text += t) },
      stderr: { write: (t) => void (text += t) },
      isTTY: false,
      now: opts.now ?? (() => new Date()),
    };
    const code = await runCli([...args], ctx);
    if (quiet) return { code, text };
    const shown = args.filter((a) => a !== '--ca-file' && a !== tls.caFile);
    const kept = show === undefined ? text : `${text.split('\n').filter(show).join('\n')}\n…\n`;
    out(
      `$ mngd-release ${shown.map((a) => (/^[\w./:,%-]+$/.test(a) ? a : JSON.stringify(a))).join(' ')}\n${indent(kept)}`,
    );
    return { code, text };
  };
  const run = async (args: readonly string[], show?: (line: string) => boolean): Promise<number> =>
    (await runText(args, false, show)).code;
  const read = <M>(path: string) => (JSON.parse(readFileSync(join(bucket, path), 'utf8')) as { signed: M }).signed;
  return {
    dir,
    repo,
    pkgs,
    bucket,
    tls,
    cdn,
    key,
    env,
    git,
    writePolicy: (extra = [], channels = ['stable', 'beta']) =>
      writeFileSync(
        join(repo, 'releases', 'policy.yaml'),
        [
          '# yaml-language-server: $schema=../schema/policy.schema.json',
          'allowed_url_prefixes:',
          `  - ${cdn.url('/agent/')}`,
          `channels: [${channels.join(', ')}]`,
          'trusted_keys:',
          `  - keyid: ${key.keyid}`,
          `    public_key: ${key.public_key}`,
          '    comment: "demo key, made for this run"',
          'publish:',
          `  target: ${bucket}`,
          ...extra,
          '',
        ].join('\n'),
      ),
    addPackage: (version, arch) => {
      const name = arch === undefined ? `mngd-agent-${version}.pkg` : `mngd-agent-${version}-${arch}.pkg`;
      writeFileSync(join(pkgs, name), samplePackage(version, undefined, arch));
      return {
        arch: arch ?? 'universal',
        download_url: cdn.url(`/agent/${name}`),
        ...sampleDigest(version, undefined, arch),
      };
    },
    writeRelease: (release) =>
      writeFileSync(join(repo, 'releases', `${release.version}.yaml`), renderReleaseYaml(release)),
    run,
    runText: (args, quiet) => runText(args, quiet),
    apply: () => run(['apply', '--ca-file', tls.caFile]),
    legacy: async () => {
      const db = await openDatabase(repo, env);
      try {
        const r = await db.query<{ version: string }>(LEGACY_QUERY);
        return r.rows[0]?.version ?? null;
      } finally {
        await db.close();
      }
    },
    manifest: () => read<SignedManifest>('latest.json'),
    manifest2: () => read<SignedManifest2>(join('v2', 'latest.json')),
    close: () => cdn.close(),
  };
}

/** A universal package as a release file's single download_url, sha256 and size. */
export function singlePackage(a: Artifact): { download_url: string; sha256: string; size: number } {
  return { download_url: a.download_url, sha256: a.sha256, size: a.size };
}

export function indent(text: string): string {
  return text
    .trimEnd()
    .split('\n')
    .map((l) => `  ${l}`)
    .join('\n')
    .concat('\n');
}
