/**
 * Runs the benchmarks: every dist/bench/*.bench.js, each in its own child process so that peak
 * memory is its own. `npm run bench -- validate` runs those whose name contains "validate".
 */
import { readdirSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { cpus, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import type { Bench } from './bench.js';

const here = dirname(fileURLToPath(import.meta.url));
const filters = process.argv.slice(2);
const single = process.env['MNGD_BENCH_FILE'];

if (single) {
  try {
    const mod = (await import(single)) as { bench: Bench };
    await mod.bench.run({ log: (line) => console.log(`  ${line}`) });
  } catch (err) {
    console.error(`  failed: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  }
} else {
  const files = readdirSync(here)
    .filter((f) => f.endsWith('.bench.js'))
    .filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)))
    .sort();
  console.log(
    `machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(1)} GiB, node ${process.version}`,
  );
  let failed = 0;
  for (const f of files) {
    console.log(`\n== ${f.replace('.bench.js', '')}`);
    const r = spawnSync(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url)], {
      stdio: 'inherit',
      env: { ...process.env, MNGD_BENCH_FILE: join(here, f) },
    });
    if (r.status !== 0) failed++;
  }
  process.exitCode = failed === 0 ? 0 : 1;
}
