/**
 * The columns of `agent_releases` after every migration, written once: reading, writing, the
 * plan's mutable/immutable split and the row type all derive from this list. A new column is
 * one entry here plus the migration that adds it.
 */

type SqlType = 'text' | 'bigint' | 'integer' | 'boolean' | 'timestamptz';

export interface Column {
  name: string;
  type: SqlType;
  /** may hold NULL after every migration (and so reads as null) */
  nullable: boolean;
  /**
   * key: names the row. immutable: never changes once written; a bad package is yanked and
   * replaced by a new version. fill: immutable too, but a NULL (a seed row) may be filled in.
   * mutable: sync changes it to what git says. stamp: written by sync itself, not from git.
   */
  change: 'key' | 'immutable' | 'fill' | 'mutable' | 'stamp';
  /** the release file's field of the same name, copied as is (absent in the file: NULL) */
  release?: true;
  /** how it reads before the migration that adds it has run (plan never alters the table) */
  missing?: string;
  /** how a NULL reads, on a column the seed left nullable */
  nullAs?: string;
  /**
   * hex: the same value in either case (a raw-SQL row may hold an uppercase hash). Compared
   * without case; sync writes it lowercase, the only change an immutable column ever gets.
   */
  caseless?: true;
}

export const COLUMNS = [
  { name: 'version', type: 'text', nullable: false, change: 'key', release: true },
  { name: 'download_url', type: 'text', nullable: false, change: 'immutable', release: true },
  { name: 'sha256', type: 'text', nullable: false, change: 'immutable', release: true, caseless: true },
  // null on rows from before the pipeline (the seed had no size)
  { name: 'size', type: 'bigint', nullable: true, change: 'fill', release: true, missing: 'NULL::bigint' },
  { name: 'release_notes', type: 'text', nullable: true, change: 'mutable', release: true },
  { name: 'min_required_version', type: 'text', nullable: true, change: 'mutable', release: true },
  // what the legacy endpoint serves: true only when not yanked, stable and at 100 %
  { name: 'active', type: 'boolean', nullable: false, change: 'mutable', nullAs: 'false' },
  { name: 'channel', type: 'text', nullable: false, change: 'mutable', release: true, missing: "'stable'::text" },
  { name: 'rollout_percent', type: 'integer', nullable: false, change: 'mutable', release: true, missing: '100' },
  // the release file said active: false, or its file is gone
  {
    name: 'yanked',
    type: 'boolean',
    nullable: false,
    change: 'mutable',
    missing: '(active IS NOT TRUE)',
    nullAs: 'true',
  },
  // null: a row from the raw-SQL era the pipeline has never written
  { name: 'managed_by', type: 'text', nullable: true, change: 'mutable', missing: 'NULL::text' },
  { name: 'synced_at', type: 'timestamptz', nullable: true, change: 'stamp', missing: 'NULL::timestamptz' },
] as const satisfies readonly Column[];

type Columns = (typeof COLUMNS)[number];
type TsOf<T extends SqlType> = T extends 'text'
  ? string
  : T extends 'boolean'
    ? boolean
    : T extends 'timestamptz'
      ? Date
      : number;
type ValueOf<C extends Columns> = C['nullable'] extends true ? TsOf<C['type']> | null : TsOf<C['type']>;

/** One row of agent_releases after every migration. */
export type ReleaseRow = { [C in Columns as C['name']]: ValueOf<C> };
/** A row as sync writes it (the sync time aside). */
export type WrittenRow = { [C in Exclude<Columns, { change: 'stamp' }> as C['name']]: ValueOf<C> };

type NamesOf<K extends Column['change']> = Extract<Columns, { change: K }>['name'];
const namesOf = <K extends Column['change']>(...kinds: K[]): NamesOf<K>[] =>
  COLUMNS.filter((c) => (kinds as string[]).includes(c.change)).map((c) => c.name as NamesOf<K>);

/** The columns that copy a release field of the same name. */
export const RELEASE_FIELD_COLUMNS = COLUMNS.filter((c) => 'release' in c);
export type ReleaseFieldColumn = (typeof RELEASE_FIELD_COLUMNS)[number]['name'];
/** What sync writes from a release file (all but the sync time). */
export const WRITTEN_COLUMNS = COLUMNS.filter((c) => c.change !== 'stamp');
/** The fields sync may change on an existing row. */
export const MUTABLE_FIELDS: readonly NamesOf<'mutable'>[] = namesOf('mutable');
/** Never changed once in the table (a NULL from the seed may be filled in). */
export const IMMUTABLE_FIELDS: readonly NamesOf<'immutable' | 'fill'>[] = namesOf('immutable', 'fill');
/** What an UPDATE of sync may set: never the key, never an immutable value. */
export const UPDATED_COLUMNS = COLUMNS.filter((c) => c.change === 'fill' || c.change === 'mutable');

/** The columns compared without case (a hash in hex). */
export const CASELESS_COLUMNS: readonly string[] = COLUMNS.filter((c) => 'caseless' in c).map((c) => c.name);

/** Two values of a column that mean the same: equal, or equal but for case in a caseless column. */
export function sameColumnValue(name: string, a: unknown, b: unknown): boolean {
  if (a === b) return true;
  return (
    typeof a === 'string' &&
    typeof b === 'string' &&
    CASELESS_COLUMNS.includes(name) &&
    a.toLowerCase() === b.toLowerCase()
  );
}
