/**
 * Reading `agent_releases` as rows, whatever migrations it has had: columns that do not exist yet
 * read as their migration defaults, so `plan` never needs to alter the table to show what sync
 * would do.
 */
import { ValidationError } from '../../../schema/errors.js';
import { COLUMNS, type Column, type ReleaseRow } from '../../../schema/sql/columns.js';
import type { Sql } from './database.js';

export type { ReleaseRow } from '../../../schema/sql/columns.js';

const ALL: readonly Column[] = COLUMNS;

/** What a column reads as: its migration default when not added yet; text for text and bigint. */
function select(c: Column, present: boolean): string {
  if (!present) return `${c.missing ?? 'NULL'} AS ${c.name}`;
  // bigint as text: JavaScript numbers are read from the exact digits; text: a seed may use varchar
  const value = c.type === 'text' || c.type === 'bigint' ? `${c.name}::text` : c.name;
  return `${c.nullAs === undefined ? value : `coalesce(${value}, ${c.nullAs})`} AS ${c.name}`;
}

function decode(c: Column, v: unknown): unknown {
  if (v === null) return null;
  if (c.type === 'bigint') return Number(v);
  if (c.type === 'timestamptz') return new Date(v as string | Date);
  return v;
}

export async function tableColumns(sql: Sql): Promise<Set<string> | null> {
  const { rows } = await sql.query<{ column_name: string }>(
    "SELECT column_name::text FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = 'agent_releases'",
  );
  return rows.length === 0 ? null : new Set(rows.map((r) => r.column_name));
}

/** Every row, in no particular order; [] when the table does not exist yet. */
export async function readRows(sql: Sql): Promise<ReleaseRow[]> {
  const columns = await tableColumns(sql);
  if (columns === null) return [];
  // The seed's own columns: nothing sensible reads in their place.
  const missingSeed = ALL.filter((c) => !c.nullable && c.missing === undefined && !columns.has(c.name)).map(
    (c) => c.name,
  );
  if (missingSeed.length > 0) {
    throw new ValidationError(
      'DB_TABLE_SHAPE',
      `agent_releases exists but has no column ${missingSeed.join(', ')}; expected at least the seed columns (version, download_url, sha256, active). Point DATABASE_URL at the mngd server's database.`,
    );
  }
  const list = ALL.map((c) => select(c, columns.has(c.name)));
  const { rows } = await sql.query<Record<string, unknown>>(`SELECT ${list.join(', ')} FROM agent_releases`);
  return rows.map((r) => Object.fromEntries(ALL.map((c) => [c.name, decode(c, r[c.name])])) as ReleaseRow);
}
