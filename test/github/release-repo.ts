/** A temporary git repository of releases, as a workflow's checkout sees it. */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

export interface ReleaseRepo {
  dir: string;
  git(...args: string[]): string;
  write(path: string, text: string): void;
  remove(path: string): void;
  /** commits everything and returns the commit's SHA */
  commit(message: string): string;
}

export function releaseRepo(): ReleaseRepo {
  const dir = mkdtempSync(join(tmpdir(), 'mngd-gh-repo-'));
  const git = (...args: string[]) =>
    execFileSync(
      'git',
      [
        '-c',
        'user.name=Release Engineer',
        '-c',
        'user.email=releases@example.com',
        '-c',
        'commit.gpgsign=false',
        ...args,
      ],
      {
        cwd: dir,
        encoding: 'utf8',
        env: { ...process.env, GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null' },
      },
    ).trim();
  git('init', '-q', '-b', 'main');
  writeFileSync(join(dir, '.gitignore'), '.state/\n');
  return {
    dir,
    git,
    write(path, text) {
      mkdirSync(dirname(join(dir, path)), { recursive: true });
      writeFileSync(join(dir, path), text);
    },
    remove(path) {
      rmSync(join(dir, path));
    },
    commit(message) {
      git('add', '-A');
      git('commit', '-q', '-m', message);
      return git('rev-parse', 'HEAD');
    },
  };
}

export interface KeyEntry {
  keyid: string;
  public_key: string;
}

export function policyYaml(opts: { prefix: string; keys: KeyEntry[]; target?: string; region?: string }): string {
  return [
    'allowed_url_prefixes:',
    `  - ${opts.prefix}`,
    'channels: [stable, beta]',
    'manifest:',
    '  lifetime_days: 14',
    '  refresh_window_days: 7',
    'trusted_keys:',
    ...opts.keys.flatMap((k) => [`  - keyid: ${k.keyid}`, `    public_key: ${k.public_key}`]),
    ...(opts.target
      ? ['publish:', `  target: ${opts.target}`, ...(opts.region ? [`  region: ${opts.region}`] : [])]
      : []),
    '',
  ].join('\n');
}

export function releaseYaml(r: {
  version: string;
  url: string;
  sha256: string;
  size: number;
  extra?: string[];
}): string {
  return [
    `version: "${r.version}"`,
    `download_url: ${r.url}`,
    `sha256: ${r.sha256}`,
    `size: ${r.size}`,
    ...(r.extra ?? []),
    '',
  ].join('\n');
}

/** A bare repository as `origin` of `repo` (what the workflows push branches to), and git run on it. */
export function addOrigin(repo: ReleaseRepo): { dir: string; git(...args: string[]): string } {
  const dir = mkdtempSync(join(tmpdir(), 'mngd-origin-'));
  execFileSync('git', ['init', '-q', '--bare', dir]);
  repo.git('remote', 'add', 'origin', dir);
  const git = (...args: string[]) =>
    execFileSync('git', ['--git-dir', dir, ...args], {
      encoding: 'utf8',
      env: { ...process.env, GIT_CONFIG_GLOBAL: '/dev/null' },
    });
  return { dir, git };
}

/** The versions the published latest.json of the repository's local target lists, newest first. */
export function liveVersions(repo: ReleaseRepo): string[] {
  const text = readFileSync(join(repo.dir, '.state', 'bucket', 'latest.json'), 'utf8');
  return (JSON.parse(text) as { signed: { releases: { version: string }[] } }).signed.releases.map((r) => r.version);
}
