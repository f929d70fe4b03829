/**
 * Writes a repository's releases/ folder (policy.yaml + <version>.yaml files) into a directory,
 * for tests that load it with loadReleaseSet or run commands against it.
 *
 *   const root = await releaseRepo({ prefix: srv.url('/'), releases: [{ version: '1.0.0', url, body }] });
 */
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestRelease {
  version: string;
  url: string;
  /** the package: sha256 and size are computed from it unless given */
  body?: Buffer;
  sha256?: string;
  size?: number;
  channel?: string;
  rollout_percent?: number;
  active?: boolean;
  release_notes?: string;
}

/** A trusted key entry that passes the policy schema (the repository's example key). */
export const EXAMPLE_TRUSTED_KEY = {
  keyid: 'd00b4e5d251d0991b0d66f5f143eb6900b00661f2184cc48f3054da69e04d639',
  public_key: '3v+fb0pWQNJPOqvI01saPnESdOX7I6mucrmFQyaLDVE=',
};

export function sha256Hex(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}

export function releaseYaml(r: TestRelease): string {
  const sha256 = r.sha256 ?? (r.body ? sha256Hex(r.body) : '0'.repeat(64));
  const size = r.size ?? r.body?.length ?? 1;
  const lines = [`version: "${r.version}"`, `download_url: ${r.url}`, `sha256: ${sha256}`, `size: ${size}`];
  if (r.release_notes !== undefined) lines.push(`release_notes: ${JSON.stringify(r.release_notes)}`);
  if (r.channel !== undefined) lines.push(`channel: ${r.channel}`);
  if (r.rollout_percent !== undefined) lines.push(`rollout_percent: ${r.rollout_percent}`);
  if (r.active !== undefined) lines.push(`active: ${r.active}`);
  return `${lines.join('\n')}\n`;
}

export function policyYaml(opts: { prefixes: string[]; channels?: string[] }): string {
  return [
    'allowed_url_prefixes:',
    ...opts.prefixes.map((p) => `  - ${p}`),
    `channels: [${(opts.channels ?? ['stable', 'beta']).join(', ')}]`,
    'trusted_keys:',
    `  - keyid: ${EXAMPLE_TRUSTED_KEY.keyid}`,
    `    public_key: ${EXAMPLE_TRUSTED_KEY.public_key}`,
    '',
  ].join('\n');
}

/** Writes releases/ under `root` (a new temp dir when absent) and returns the root. */
export async function releaseRepo(opts: {
  root?: string;
  prefixes: string[];
  channels?: string[];
  releases: TestRelease[];
}): Promise<string> {
  const root = opts.root ?? (await mkdtemp(join(tmpdir(), 'mngd-repo-')));
  const dir = join(root, 'releases');
  await mkdir(dir, { recursive: true });
  await writeFile(
    join(dir, 'policy.yaml'),
    policyYaml({ prefixes: opts.prefixes, ...(opts.channels ? { channels: opts.channels } : {}) }),
  );
  for (const r of opts.releases) await writeFile(join(dir, `${r.version}.yaml`), releaseYaml(r));
  return root;
}
