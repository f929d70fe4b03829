/**
 * Sync: makes agent_releases match git, applying exactly the plan, in one transaction under a
 * transaction-scoped advisory lock (two syncs never interleave). Never deletes a row. Any error
 * in the plan (a changed immutable field, an unmanaged row without a file) aborts before the
 * first write, and rolls back the migrations with it: all or nothing.
 */
import { ExternalError, ValidationError } from '../../schema/errors.js';
import { insertArtifactRows, readArtifactRows } from './db/artifact-rows.js';
import { DEFAULT_DB_TIMEOUTS, formatMs } from './db/timeouts.js';
import type { Database, Sql } from './db/database.js';
import { migrate, pendingMigrations } from './db/migrate.js';
import { readRows } from './db/rows.js';
import { insertRows, updateRows } from './db/write.js';
import { blockingProblems, computePlan, isNoop, type Plan } from './plan.js';
import type { Problem } from '../releases/index.js';
import type { LoadedRelease } from '../releases/index.js';

/** pg_advisory_xact_lock(1835952996, 1): "mngd" as int4, and 1 for agent_releases. */
export const SYNC_LOCK = [1835952996, 1] as const;

/** What sync needs of a release set (a ReleaseSet fits). */
export interface SyncInput {
  releases: readonly LoadedRelease[];
  policy?: { channels: readonly string[]; supported_macos?: { oldest: string; newest: string } } | null;
}

export interface SyncOptions {
  /** compute and return the plan without writing (read-only: no lock, no migration) */
  dryRun?: boolean;
  /** yank rows the pipeline never managed that have no file, instead of refusing */
  yankUnmanaged?: boolean;
  /** the releases directory relative to the repository (for messages) */
  releasesDir?: string;
  /** the time written to synced_at */
  now?: () => Date;
  /**
   * how long a migration or write may wait for a table lock (default 10 s). An ALTER TABLE queued
   * behind a long read would block every later read of the server's legacy endpoint; failing fast
   * (exit 3, retry) is better than stalling it.
   */
  lockTimeoutMs?: number;
  /** how long to wait for another sync's advisory lock before giving up with SYNC_LOCKED (default 5 min) */
  lockWaitMs?: number;
  /** called inside the transaction after the writes, before COMMIT (tests kill the connection here) */
  beforeCommit?: (tx: Sql) => Promise<void>;
}

export interface SyncResult {
  plan: Plan;
  /** false for a dry run or a plan with nothing to do */
  wrote: boolean;
  migrated: string[];
}

export class SyncRefusedError extends ValidationError<'SYNC_REFUSED'> {
  readonly problems: Problem[];

  constructor(problems: Problem[]) {
    super(
      'SYNC_REFUSED',
      `sync refused: ${problems.length} problem(s) in the plan; nothing was written. Fix them (see above) and run again.`,
    );
    this.problems = problems;
  }
}

import { supportedMacosOf } from '../../schema/artifacts.js';

function channelsOf(input: SyncInput): string[] {
  return [...(input.policy?.channels ?? [])];
}

/** Reads the table (read-only, whatever its migrations) and computes the plan. */
export async function planFor(
  sql: Sql,
  input: SyncInput,
  opts: Pick<SyncOptions, 'yankUnmanaged' | 'releasesDir'> = {},
): Promise<Plan> {
  const pending = await pendingMigrations(sql);
  const rows = await readRows(sql);
  const artifactRows = await readArtifactRows(sql);
  return computePlan({
    releases: input.releases,
    rows,
    channels: channelsOf(input),
    pendingMigrations: pending,
    yankUnmanaged: opts.yankUnmanaged ?? false,
    releasesDir: opts.releasesDir ?? 'releases',
    supported: supportedMacosOf(input.policy ?? null),
    artifactRows,
  });
}

/** The SQLSTATE under a wrapped driver error (pg and PGlite both keep the driver's error as cause). */
function sqlStateOf(err: unknown): string | undefined {
  const cause = (err as { cause?: { code?: unknown } }).cause;
  return typeof cause?.code === 'string' ? cause.code : undefined;
}

/**
 * The advisory lock, waited for in bounded steps (each a real wait the server shows in pg_locks,
 * each under the query time-out): a run stuck behind a stalled session gives up with the
 * holder's pid and since when, instead of queueing for ever.
 */
async function takeSyncLock(tx: Sql, waitMs: number): Promise<void> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    const step = Math.max(1, Math.min(deadline - Date.now(), 10_000));
    await tx.exec(`SAVEPOINT sync_lock; SET LOCAL lock_timeout = ${Math.floor(step)}`);
    try {
      await tx.query('SELECT pg_advisory_xact_lock($1, $2)', [...SYNC_LOCK]);
      await tx.exec('RELEASE SAVEPOINT sync_lock');
      return;
    } catch (err) {
      if (sqlStateOf(err) !== '55P03') throw err;
      await tx.exec('ROLLBACK TO SAVEPOINT sync_lock');
      if (Date.now() >= deadline) break;
    }
  }
  const holder = await tx.query<{ pid: number; since: string | null; state: string | null; app: string | null }>(
    `SELECT a.pid, to_char(a.xact_start AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS since, a.state, a.application_name AS app
       FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
      WHERE l.locktype = 'advisory' AND l.classid = $1 AND l.objid = $2 AND l.granted
        AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) LIMIT 1`,
    [...SYNC_LOCK],
  );
  const h = holder.rows[0];
  const who = h
    ? `sync lock held by pid ${h.pid} since ${h.since ?? '?'} (${h.app || 'unnamed'}, ${h.state ?? 'unknown state'})`
    : 'sync lock held by another session';
  throw new ExternalError(
    'SYNC_LOCKED',
    `${who}; waited ${formatMs(waitMs)}. Another sync or apply is running: retry when it ends.${h ? ` If that session is stuck, end it with SELECT pg_terminate_backend(${h.pid}).` : ''} The wait is MNGD_SYNC_LOCK_WAIT_MS.`,
  );
}

export async function syncReleases(db: Database, input: SyncInput, opts: SyncOptions = {}): Promise<SyncResult> {
  if (opts.dryRun) return { plan: await planFor(db, input, opts), wrote: false, migrated: [] };
  const now = opts.now ?? (() => new Date());
  return db.transaction(async (tx) => {
    await takeSyncLock(tx, opts.lockWaitMs ?? db.lockWaitMs ?? DEFAULT_DB_TIMEOUTS.lockWaitMs);
    // After the advisory lock: waiting for another sync is fine, waiting on the table is not.
    await tx.query(`SET LOCAL lock_timeout = ${Math.max(1, Math.floor(opts.lockTimeoutMs ?? 10_000))}`);
    // The plan is computed again under the lock: what another sync committed meanwhile counts.
    const plan = await planFor(tx, input, opts);
    const problems = blockingProblems(plan);
    if (problems.length > 0) throw new SyncRefusedError(problems);
    const migrated = await migrate(tx);
    const syncedAt = now();
    if (plan.inserts.length > 0)
      await insertRows(
        tx,
        plan.inserts.map((i) => i.row),
        syncedAt,
      );
    const changed = [...plan.updates, ...plan.yanks].map((u) => u.row);
    if (changed.length > 0) await updateRows(tx, changed, syncedAt);
    // the per-arch packages, in the same transaction: both tables or neither
    await insertArtifactRows(tx, plan.artifacts, syncedAt);
    if (opts.beforeCommit) await opts.beforeCommit(tx);
    return { plan, wrote: !isNoop(plan), migrated };
  });
}
