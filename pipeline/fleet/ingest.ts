/**
 * The reference ingest of fleet reports: validate, then store one report in one transaction.
 * What the mngd server calls (or mirrors: the SQL contract is in schema/sql/fleet.ts), and what
 * the demo's stand-in server and the tests use. A refused report stores nothing.
 */
import { ValidationError, messageOf } from '../../schema/errors.js';
import { MAX_REPORT_BYTES } from '../../schema/report.schema.js';
import { FLEET_MIGRATIONS } from '../../schema/sql/fleet.js';
import { LEDGER_DDL, LEDGER_TABLE } from '../../schema/sql/index.js';
import type { Report } from '../../schema/types.js';
import { describeSchemaErrors, validateReport } from '../../schema/validators.js';
import type { Database, Sql } from '../table/index.js';

/** Events may be stamped this far ahead of the server's clock (a device clock running fast). */
export const MAX_FUTURE_MS = 24 * 3600 * 1000;
/** pg_advisory_xact_lock(mngd, 2): fleet migrations never interleave. */
const FLEET_LOCK = [1835952996, 2] as const;

export class ReportRefusedError extends ValidationError<'REPORT_REFUSED'> {
  constructor(reason: string) {
    super('REPORT_REFUSED', `report refused, nothing stored: ${reason}`);
  }
}

/** Bytes -> a valid report, or REPORT_REFUSED with the reason (size, JSON, schema, times, ids). */
export function parseReport(bytes: Buffer, now: Date): Report {
  if (bytes.length > MAX_REPORT_BYTES)
    throw new ReportRefusedError(`${bytes.length} bytes is over the ${MAX_REPORT_BYTES}-byte limit; send fewer events`);
  let data: unknown;
  try {
    data = JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    throw new ReportRefusedError(`not JSON (${messageOf(err)})`);
  }
  if (!validateReport(data)) throw new ReportRefusedError(describeSchemaErrors(validateReport.errors));
  const ids = new Set<string>();
  for (const [i, e] of data.events.entries()) {
    if (Date.parse(e.at) > now.getTime() + MAX_FUTURE_MS)
      throw new ReportRefusedError(`/events/${i}: at ${e.at} is more than 24 h after the server's clock`);
    if (ids.has(e.id)) throw new ReportRefusedError(`/events/${i}: id ${e.id} appears twice in one report`);
    ids.add(e.id);
  }
  return data;
}

/** Creates the fleet tables if needed (idempotent, under a lock, recorded in the migration ledger). */
export async function migrateFleet(db: Database): Promise<string[]> {
  return db.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock($1, $2)', [...FLEET_LOCK]);
    await tx.exec(LEDGER_DDL);
    const done = new Set((await tx.query<{ id: string }>(`SELECT id FROM ${LEDGER_TABLE}`)).rows.map((r) => r.id));
    const pending = FLEET_MIGRATIONS.filter((m) => !done.has(m.id));
    for (const m of pending) {
      await tx.exec(m.sql);
      await tx.query(`INSERT INTO ${LEDGER_TABLE} (id) VALUES ($1) ON CONFLICT (id) DO NOTHING`, [m.id]);
    }
    return pending.map((m) => m.id);
  });
}

export interface IngestResult {
  /** events stored now */
  stored: number;
  /** events of this report already stored (a report sent again) */
  duplicates: number;
}

const EVENT_COLUMNS = [
  'device',
  'event_id',
  'at',
  'received_at',
  'channel',
  'kind',
  'from_version',
  'to_version',
  'result',
  'code',
  'duration_ms',
  'bytes',
] as const;

async function insertEvents(tx: Sql, r: Report, now: Date): Promise<number> {
  if (r.events.length === 0) return 0;
  const params: unknown[] = [];
  const rows = r.events.map((e) => {
    const values: unknown[] = [r.device, e.id, e.at, now.toISOString(), r.channel, e.kind, e.from, e.to, e.result];
    values.push(e.code, e.duration_ms, e.bytes);
    const at = params.length;
    params.push(...values);
    return `(${values.map((_, i) => `$${at + i + 1}`).join(', ')})`;
  });
  const { rows: inserted } = await tx.query<{ n: number }>(
    `WITH ins AS (INSERT INTO agent_update_events (${EVENT_COLUMNS.join(', ')}) VALUES ${rows.join(', ')}
       ON CONFLICT (device, event_id) DO NOTHING RETURNING 1) SELECT count(*)::int AS n FROM ins`,
    params,
  );
  return inserted[0]?.n ?? 0;
}

/** Validates a report and stores it: its new events, and the device's latest facts. */
export async function ingestReport(db: Database, bytes: Buffer, now: Date): Promise<IngestResult> {
  const report = parseReport(bytes, now);
  const last = report.events.reduce<Report['events'][number] | null>(
    (acc, e) => (acc === null || Date.parse(e.at) >= Date.parse(acc.at) ? e : acc),
    null,
  );
  return db.transaction(async (tx) => {
    const stored = await insertEvents(tx, report, now);
    await tx.query(
      `INSERT INTO agent_devices (device, channel, current_version, macos, hw_arch, last_seen, last_result, last_code, dropped_events)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
       ON CONFLICT (device) DO UPDATE SET channel = EXCLUDED.channel, current_version = EXCLUDED.current_version,
         macos = EXCLUDED.macos, hw_arch = EXCLUDED.hw_arch, last_seen = EXCLUDED.last_seen,
         last_result = COALESCE(EXCLUDED.last_result, agent_devices.last_result),
         last_code = CASE WHEN EXCLUDED.last_result IS NULL THEN agent_devices.last_code ELSE EXCLUDED.last_code END,
         dropped_events = agent_devices.dropped_events + EXCLUDED.dropped_events`,
      [
        report.device,
        report.channel,
        report.current,
        report.macos,
        report.hw_arch,
        now.toISOString(),
        last?.result ?? null,
        last?.code ?? null,
        report.dropped ?? 0,
      ],
    );
    return { stored, duplicates: report.events.length - stored };
  });
}
