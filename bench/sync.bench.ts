/**
 * Sync of agent_releases against the local PostgreSQL server (TEST_DATABASE_URL, else
 * postgres://postgres@127.0.0.1:5432/postgres), in a database of its own:
 * 1. first sync of 10,000 releases into an empty database (migrations included). Target <= 5 s.
 * 2. a re-sync with no change. Target <= 1 s and zero rows written (counted through xmin).
 * Baseline in the same run: one bare multi-row INSERT of the same 10,000 rows, and one bare
 * SELECT of them, so the ratios say what sync adds on top of the database itself.
 * Then the same two syncs on embedded PGlite (in memory), for comparison.
 */
import { performance } from 'node:perf_hooks';
import { envCount, machine, peakRssMiB, type Bench } from './bench.js';
import type { Database } from '../pipeline/table/db/database.js';
import { openPglite } from '../pipeline/table/db/pglite.js';
import { insertRows } from '../pipeline/table/db/write.js';
import { migrate } from '../pipeline/table/db/migrate.js';
import { readRows } from '../pipeline/table/db/rows.js';
import { rowOf } from '../pipeline/table/release-row.js';
import { syncReleases } from '../pipeline/table/sync.js';
import { localPostgresUrl, openTestPostgres, rowVersions } from '../test/support/db.js';
import { loaded } from '../test/support/releases.js';

const N = envCount('MNGD_BENCH_RELEASES', 10_000);

function releases() {
  const out = [];
  for (let i = 0; i < N; i++) {
    const v = `${1 + Math.floor(i / 10_000)}.${Math.floor(i / 100) % 100}.${i % 100}`;
    out.push(
      loaded(v, {
        release_notes: `Release ${v}: fixes and improvements. `.repeat(3),
        rollout_percent: i % 7 === 0 ? 25 : 100,
        channel: i % 11 === 0 ? 'beta' : 'stable',
        ...(i % 50 === 0 ? { min_required_version: '1.0.0' } : {}),
      }),
    );
  }
  return { releases: out, policy: { channels: ['stable', 'beta'] } };
}

async function time<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const t0 = performance.now();
  const r = await fn();
  return [r, (performance.now() - t0) / 1000];
}

async function changedRows(db: Database, before: Map<string, string>): Promise<number> {
  const after = await rowVersions(db);
  let n = 0;
  for (const [v, x] of after) if (before.get(v) !== x) n++;
  return n + Math.max(0, before.size - after.size);
}

async function twoSyncs(
  db: Database,
  set: ReturnType<typeof releases>,
  log: (l: string) => void,
  label: string,
): Promise<{ first: number; again: number; written: number }> {
  const [r1, first] = await time(() => syncReleases(db, set));
  if (r1.plan.inserts.length !== N) throw new Error(`expected ${N} inserts, got ${r1.plan.inserts.length}`);
  const before = await rowVersions(db);
  const [r2, again] = await time(() => syncReleases(db, set));
  const written = await changedRows(db, before);
  if (r2.wrote || written !== 0) throw new Error(`the re-sync wrote ${written} rows`);
  log(
    `${label}: first sync of ${N} releases ${first.toFixed(2)} s; re-sync with no change ${again.toFixed(3)} s, ${written} rows written (xmin)`,
  );
  return { first, again, written };
}

export const bench: Bench = {
  name: 'sync',
  async run({ log }) {
    log(machine());
    const set = releases();
    const server = await localPostgresUrl();
    if (server === null) throw new Error('no PostgreSQL: set TEST_DATABASE_URL or start the server at 127.0.0.1:5432');

    const t = await openTestPostgres(server);
    try {
      // Baselines: the database alone, same rows, same round-trip shape.
      await t.db.transaction((tx) => migrate(tx));
      const rows = set.releases.map((l) => rowOf(l.release));
      const [, bareInsert] = await time(() => t.db.transaction((tx) => insertRows(tx, rows, new Date())));
      const [, bareSelect] = await time(() => readRows(t.db));
      log(
        `baseline (PostgreSQL): bare multi-row INSERT of ${N} rows ${bareInsert.toFixed(2)} s; bare SELECT of them ${bareSelect.toFixed(3)} s`,
      );
      await t.reset();

      const pg = await twoSyncs(t.db, set, log, 'PostgreSQL');
      log(
        `  ratios: first sync / bare INSERT = ${(pg.first / bareInsert).toFixed(2)}x; re-sync / bare SELECT = ${(pg.again / bareSelect).toFixed(2)}x`,
      );
      log(
        `  targets: first <= 5 s ${pg.first <= 5 ? 'OK' : 'MISSED'}; re-sync <= 1 s with 0 writes ${pg.again <= 1 && pg.written === 0 ? 'OK' : 'MISSED'}`,
      );
      if (pg.first > 5 || pg.again > 1) process.exitCode = 1;
    } finally {
      await t.close();
    }

    const lite = await openPglite();
    try {
      await twoSyncs(lite, set, log, 'PGlite (in memory)');
    } finally {
      await lite.close();
    }
    log(`peak RSS ${(await peakRssMiB()).toFixed(0)} MiB`);
  },
};
