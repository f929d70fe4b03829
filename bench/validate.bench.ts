/**
 * Validate 10,000 release files, against a baseline of merely reading and parsing the same files
 * with `yaml`, each in its own process (so peak RSS is its own), alternating, median of 3.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { loadReleaseSet } from '../pipeline/releases/load.js';
import { renderReleaseYaml } from '../pipeline/releases/release-yaml.js';
import { peakRssMiB, type Bench } from './bench.js';

const N = 10_000;

function makeRepo(): string {
  const root = mkdtempSync(join(tmpdir(), 'mngd-bench-validate-'));
  const dir = join(root, 'releases');
  mkdirSync(dir);
  writeFileSync(
    join(dir, 'policy.yaml'),
    readFileSync(new URL('../../test/fixtures/base/policy.yaml', import.meta.url)),
  );
  for (let i = 0; i < N; i++) {
    const version = `1.${Math.floor(i / 1000)}.${i % 1000}`;
    const sha = Buffer.alloc(32);
    sha.writeUInt32BE(i, 0);
    writeFileSync(
      join(dir, `${version}.yaml`),
      renderReleaseYaml({
        version,
        download_url: `https://cdn.mngd.app/agent/mngd-agent-${version}.pkg`,
        sha256: sha.toString('hex'),
        size: 18_000_000 + i,
        release_notes: `Release ${version}: fixes and improvements to inventory, checkin and the menubar.`,
        rollout_percent: i === N - 1 ? 100 : 100,
      }),
    );
  }
  return root;
}

async function child(mode: string, root: string): Promise<void> {
  const t0 = process.hrtime.bigint();
  let count: number;
  if (mode === 'baseline') {
    const dir = join(root, 'releases');
    count = 0;
    for (const f of readdirSync(dir)) {
      parse(readFileSync(join(dir, f), 'utf8'));
      count++;
    }
  } else {
    const set = await loadReleaseSet(root);
    if (set.problems.length > 0) throw new Error(`unexpected problems: ${set.problems[0]?.message}`);
    count = set.releases.length;
  }
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  console.log(JSON.stringify({ ms, rss: await peakRssMiB(), count }));
}

function run(mode: string, root: string): { ms: number; rss: number } {
  const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url)], {
    env: { ...process.env, BENCH_VALIDATE_MODE: mode, BENCH_VALIDATE_ROOT: root },
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as { ms: number; rss: number };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export const bench: Bench = {
  name: 'validate',
  async run(ctx) {
    const root = makeRepo();
    const base: { ms: number; rss: number }[] = [];
    const ours: { ms: number; rss: number }[] = [];
    for (let i = 0; i < 5; i++) {
      base.push(run('baseline', root));
      ours.push(run('ours', root));
    }
    const b = median(base.map((x) => x.ms));
    const o = median(ours.map((x) => x.ms));
    ctx.log(
      `validate ${N} release files: ${o.toFixed(0)} ms (median of 5), peak RSS ${Math.max(...ours.map((x) => x.rss)).toFixed(0)} MiB`,
    );
    ctx.log(
      `baseline (read + yaml.parse): ${b.toFixed(0)} ms, peak RSS ${Math.max(...base.map((x) => x.rss)).toFixed(0)} MiB`,
    );
    ctx.log(`ratio: ${(o / b).toFixed(2)}x the baseline (target <= 1.5x; peak RSS target <= 300 MiB)`);
  },
};

if (process.env['BENCH_VALIDATE_MODE'])
  await child(process.env['BENCH_VALIDATE_MODE'], process.env['BENCH_VALIDATE_ROOT']!);
