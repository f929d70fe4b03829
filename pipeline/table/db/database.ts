/**
 * The one interface the pipeline talks to a database through: PostgreSQL (pg) and embedded
 * PGlite implement it, so sync, plan, import and their tests run the same code on both.
 */
export interface QueryResult<R> {
  rows: R[];
}

/** What a connection or an open transaction can do. */
export interface Sql {
  query<R = Record<string, unknown>>(text: string, params?: readonly unknown[]): Promise<QueryResult<R>>;
  /** one or more statements without parameters (migrations) */
  exec(text: string): Promise<void>;
}

export interface Database extends Sql {
  readonly kind: 'postgres' | 'pglite';
  /** where it is, safe to print: the URL without its password, or the PGlite folder */
  readonly label: string;
  /** how long a sync waits for another sync's lock (MNGD_SYNC_LOCK_WAIT_MS); default 5 min */
  readonly lockWaitMs?: number;
  /** runs `fn` in one transaction: COMMIT when it resolves, ROLLBACK when it throws */
  transaction<T>(fn: (tx: Sql) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}
