/**
 * A temporary repository with releases/ (policy.yaml + <version>.yaml files) and a
 * CommandContext that captures output, for tests that publish, apply or check drift.
 *
 *   const repo = await makeReleaseRepo({ keys: [key.public] });
 *   await repo.writeRelease({ version: '1.0.2', ... });
 *   const run = await repo.run(['publish'], { MNGD_SIGNING_KEY: key.private });
 *   run.code; run.stdout; run.stderr;
 */
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateSigningKey } from '../../schema/keys.js';
import { runCli } from '../../pipeline/cli/dispatch.js';
import type { CommandContext } from '../../pipeline/cli/command.js';
import { setWorldTime } from './world-time.js';

export interface TestKey {
  /** ed25519:<base64>: the value of MNGD_SIGNING_KEY */
  private: string;
  keyid: string;
  public_key: string;
}

export function testKey(): TestKey {
  const k = generateSigningKey();
  return { private: k.privateKeyText, keyid: k.keyid, public_key: k.public_key };
}

export interface ReleaseSpec {
  version: string;
  download_url?: string;
  sha256?: string;
  size?: number;
  release_notes?: string;
  min_required_version?: string;
  active?: boolean;
  channel?: string;
  rollout_percent?: number;
  /** YAML lines appended as they are (a rollout_schedule block, rings: [...]) */
  extra?: string;
}

export interface PolicySpec {
  trusted: readonly Pick<TestKey, 'keyid' | 'public_key'>[];
  prefix?: string;
  channels?: readonly string[];
  /** extra YAML appended to the policy (e.g. a publish: section) */
  extra?: string;
  lifetimeDays?: number;
  refreshWindowDays?: number;
  cacheControl?: string;
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface ReleaseRepo {
  root: string;
  releases: string;
  prefix: string;
  writePolicy(spec: PolicySpec): Promise<void>;
  writeRelease(spec: ReleaseSpec): Promise<string>;
  removeRelease(version: string): Promise<void>;
  context(env?: Record<string, string | undefined>, now?: Date): CommandContext & { out: () => RunResult };
  run(argv: readonly string[], env?: Record<string, string | undefined>, now?: Date): Promise<RunResult>;
  close(): Promise<void>;
}

const fakeSha = (version: string): string => {
  const hex = Buffer.from(version.padEnd(32, '.')).toString('hex');
  return hex.slice(0, 64).padEnd(64, '0');
};

export async function makeReleaseRepo(policy: PolicySpec): Promise<ReleaseRepo> {
  const root = await mkdtemp(join(tmpdir(), 'mngd-repo-'));
  const releases = join(root, 'releases');
  await mkdir(releases);
  const prefix = policy.prefix ?? 'https://cdn.example.test/agent/';
  const repo: ReleaseRepo = {
    root,
    releases,
    prefix,
    async writePolicy(spec) {
      const lines = [
        'allowed_url_prefixes:',
        `  - ${spec.prefix ?? prefix}`,
        `channels: [${(spec.channels ?? ['stable', 'beta']).join(', ')}]`,
        'manifest:',
        `  lifetime_days: ${spec.lifetimeDays ?? 14}`,
        `  refresh_window_days: ${spec.refreshWindowDays ?? 7}`,
        `  cache_control: "${spec.cacheControl ?? 'public, max-age=60'}"`,
        'trusted_keys:',
        ...spec.trusted.flatMap((k) => [`  - keyid: ${k.keyid}`, `    public_key: ${k.public_key}`]),
      ];
      await writeFile(join(releases, 'policy.yaml'), `${lines.join('\n')}\n${spec.extra ?? ''}`);
    },
    async writeRelease(spec) {
      const r: Record<string, unknown> = {
        version: spec.version,
        download_url: spec.download_url ?? `${prefix}mngd-agent-${spec.version}.pkg`,
        sha256: spec.sha256 ?? fakeSha(spec.version),
        size: spec.size ?? 1000,
      };
      for (const k of ['release_notes', 'min_required_version', 'active', 'channel', 'rollout_percent'] as const) {
        if (spec[k] !== undefined) r[k] = spec[k];
      }
      const text = Object.entries(r)
        .map(([k, v]) => `${k}: ${typeof v === 'string' ? JSON.stringify(v) : String(v)}`)
        .join('\n');
      const file = join(releases, `${spec.version}.yaml`);
      await writeFile(file, `${text}\n${spec.extra ?? ''}`);
      return file;
    },
    async removeRelease(version) {
      await rm(join(releases, `${version}.yaml`));
    },
    context(env = {}, given) {
      // The world (s3rver's clock among it) is at the time the command is given.
      setWorldTime(given ?? null);
      const now = given ?? new Date();
      let stdout = '';
      let stderr = '';
      return {
        cwd: root,
        env: { MNGD_STATE_DIR: join(root, '.state'), ...env },
        stdout: { write: (t: string) => void (stdout += t) },
        stderr: { write: (t: string) => void (stderr += t) },
        isTTY: false,
        now: () => now,
        out: () => ({ code: -1, stdout, stderr }),
      };
    },
    async run(argv, env, now) {
      const ctx = repo.context(env, now);
      const code = await runCli(argv, ctx);
      return { ...ctx.out(), code };
    },
    close: () => rm(root, { recursive: true, force: true }),
  };
  await repo.writePolicy(policy);
  return repo;
}
