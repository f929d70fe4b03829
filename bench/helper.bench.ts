/**
 * The helper's two costs, each against a baseline measured in the same run:
 * 1. staging a package (copy into the staging folder, then read the copy back for SHA-256)
 *    against `cp` + `sha256sum` (or `shasum -a 256`) of the same file;
 * 2. an installer flooding its output: peak RSS after 400 MB of output against after 4 MB
 *    (the tail is bounded, so memory must not grow with the flood).
 */
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { envCount, machine, peakRssMiB, type Bench, type BenchContext } from './bench.js';
import { runInstaller } from '../helper/installer.js';
import { stagePackage } from '../helper/staging.js';

const MIB = 1024 * 1024;
const PKG = envCount('MNGD_BENCH_HELPER_PKG_BYTES', 256 * MIB);
const STAND_IN = fileURLToPath(new URL('../../test/support/stand-in-installer', import.meta.url));

async function writeRandom(path: string, size: number): Promise<string> {
  const f = await open(path, 'w');
  const hash = createHash('sha256');
  const block = randomBytes(MIB);
  for (let done = 0; done < size; done += MIB) {
    const b = block.subarray(0, Math.min(MIB, size - done));
    hash.update(b);
    await f.write(b);
  }
  await f.close();
  return hash.digest('hex');
}

function shaTool(): [string, string[]] {
  try {
    execFileSync('sha256sum', ['--version'], { stdio: 'ignore' });
    return ['sha256sum', []];
  } catch {
    return ['shasum', ['-a', '256']];
  }
}

async function stagingCost(ctx: BenchContext, dir: string): Promise<void> {
  const pkg = join(dir, 'agent.pkg');
  const sha256 = await writeRandom(pkg, PKG);
  const [tool, toolArgs] = shaTool();
  const runs = 3;
  let base = Infinity;
  let ours = Infinity;
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    execFileSync('cp', [pkg, join(dir, 'copy.pkg')]);
    execFileSync(tool, [...toolArgs, join(dir, 'copy.pkg')], { stdio: 'ignore' });
    base = Math.min(base, performance.now() - t0);
    await rm(join(dir, 'copy.pkg'));
    const t1 = performance.now();
    const staged = await stagePackage(pkg, join(dir, 'staging'), { size: PKG, sha256 }, process.getuid?.() ?? 0);
    ours = Math.min(ours, performance.now() - t1);
    await rm(staged);
  }
  ctx.log(
    `stage ${PKG / MIB} MiB (best of ${runs}): helper ${ours.toFixed(0)} ms, cp + ${tool} ${base.toFixed(0)} ms, ratio ${(ours / base).toFixed(2)}x; peak RSS ${(await peakRssMiB()).toFixed(0)} MiB`,
  );
}

async function floodCost(ctx: BenchContext): Promise<void> {
  process.env['STANDIN_MODE'] = 'flood';
  const measure = async (bytes: number): Promise<{ ms: number; rss: number; tail: number }> => {
    process.env['STANDIN_FLOOD_BYTES'] = String(bytes);
    const t0 = performance.now();
    const r = await runInstaller(STAND_IN, ['-pkg', '/dev/null', '-target', '/'], 600_000);
    return { ms: performance.now() - t0, rss: await peakRssMiB(), tail: r.outputTail.length };
  };
  // Peak RSS only rises, so the sizes go up: a bounded tail shows as a plateau (garbage
  // collection headroom is reached by the middle size and not exceeded by the 10x larger one).
  const rows: string[] = [];
  let prev: number | null = null;
  let last = { ms: 0, rss: 0, tail: 0 };
  for (const mb of [4, 40, 400, 2000]) {
    last = await measure(mb * 1000 * 1000);
    rows.push(
      `${mb} MB -> ${last.rss.toFixed(0)} MiB${prev === null ? '' : ` (${(last.rss / prev).toFixed(2)}x)`} in ${last.ms.toFixed(0)} ms`,
    );
    prev = last.rss;
  }
  ctx.log(`installer flood, peak RSS after each: ${rows.join('; ')}; reply tail ${last.tail} chars`);
}

export const bench: Bench = {
  name: 'helper',
  async run(ctx) {
    ctx.log(`machine: ${machine()}`);
    const dir = await mkdtemp(join(tmpdir(), 'mngd-helper-bench-'));
    try {
      await floodCost(ctx);
      await stagingCost(ctx, dir);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  },
};
