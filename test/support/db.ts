/**
 * A fresh database for each test file, on the real thing.
 *
 *   const t = await openTestDatabase();      // in before()
 *   await t.reset();                          // in beforeEach(): an empty public schema
 *   ... t.db is a pipeline Database (pipeline/table/db/database.ts) ...
 *   await t.close();                          // in after(): drops the database
 *
 * - TEST_DATABASE_URL set (CI sets postgres://postgres@127.0.0.1:5432/test): creates
 *   `mngd_test_<random>` on that server, so files running in parallel never collide, and drops it
 *   in close(). If the server cannot be reached, openTestDatabase() THROWS: the test fails, it is
 *   never skipped (a CI run that silently tested nothing would be worse than a red one).
 * - Not set: one in-memory PGlite per call (open one per file). The first ever runs initdb (~7 s)
 *   and leaves a template in the temp folder that later ones load in a fraction of that.
 *
 * testBackends() lists PGlite, plus PostgreSQL when TEST_DATABASE_URL is set, for suites that
 * must prove the same behaviour on both.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { LEGACY_QUERY } from '../../schema/sql/index.js';
import type { Database } from '../../pipeline/table/db/database.js';
import { openPglite } from '../../pipeline/table/db/pglite.js';
import { openPostgres } from '../../pipeline/table/db/pg.js';
import { redactUrl } from '../../pipeline/table/db/redact.js';

/** The template depends on PGlite's version (dist/test/support -> the repository's node_modules). */
const PGLITE_VERSION = (
  JSON.parse(
    readFileSync(new URL('../../../node_modules/@electric-sql/pglite/package.json', import.meta.url), 'utf8'),
  ) as { version: string }
).version;

export interface TestDatabase {
  kind: 'postgres' | 'pglite';
  db: Database;
  /** PostgreSQL only: the URL of this file's own database (give it to a command as DATABASE_URL) */
  url?: string;
  /** another independent connection to the same database (PostgreSQL); PGlite has one, returns db */
  connect(): Promise<Database>;
  /** drops and recreates the public schema: every test starts from an empty database */
  reset(): Promise<void>;
  /** closes every connection and drops the database */
  close(): Promise<void>;
}

export interface Backend {
  name: 'postgres' | 'pglite';
  open(): Promise<TestDatabase>;
}

export function testBackends(env: Record<string, string | undefined> = process.env): Backend[] {
  const out: Backend[] = [{ name: 'pglite', open: openTestPglite }];
  const url = env['TEST_DATABASE_URL'];
  if (url) out.push({ name: 'postgres', open: () => openTestPostgres(url) });
  return out;
}

/** PostgreSQL when TEST_DATABASE_URL is set, otherwise PGlite. */
export async function openTestDatabase(env: Record<string, string | undefined> = process.env): Promise<TestDatabase> {
  const url = env['TEST_DATABASE_URL'];
  return url ? openTestPostgres(url) : openTestPglite();
}

async function resetSchema(db: Database): Promise<void> {
  await db.exec('DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public;');
}

/**
 * PGlite's initdb costs seconds of CPU per instance; a data directory dumped once per machine
 * (per PGlite version) and loaded by every later test file costs a fraction of that.
 */
async function pgliteTemplate(): Promise<Blob | undefined> {
  try {
    return new Blob([await readFile(TEMPLATE)]);
  } catch {
    return undefined;
  }
}

const TEMPLATE = join(tmpdir(), `mngd-pglite-template-${PGLITE_VERSION}-${process.getuid?.() ?? 0}.tar`);

/**
 * Prepares an on-disk PGlite folder (what commands open by default under MNGD_STATE_DIR) from the
 * template, so the first command does not pay for initdb.
 */
export async function preparePgliteDir(dir: string): Promise<void> {
  const template = await pgliteTemplate();
  const db = await openPglite(dir, template ? { loadDataDir: template } : {});
  await db.close();
}

export async function openTestPglite(): Promise<TestDatabase> {
  const template = await pgliteTemplate();
  const db = await openPglite(undefined, template ? { loadDataDir: template } : {});
  if (template === undefined) {
    // Written beside and renamed: a file running in parallel never reads half a template.
    const tmp = `${TEMPLATE}.${randomBytes(4).toString('hex')}`;
    await writeFile(tmp, Buffer.from(await (await db.dump()).arrayBuffer()));
    await rename(tmp, TEMPLATE);
  }
  return { kind: 'pglite', db, connect: async () => db, reset: () => resetSchema(db), close: () => db.close() };
}

export async function openTestPostgres(serverUrl: string): Promise<TestDatabase> {
  const name = `mngd_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: serverUrl, connectionTimeoutMillis: 5000 });
  try {
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name}`);
  } catch (err) {
    await admin.end().catch(() => undefined);
    throw new Error(
      `TEST_DATABASE_URL (${redactUrl(serverUrl)}) is not usable: ${(err as Error).message}. Start PostgreSQL or unset TEST_DATABASE_URL to test on PGlite.`,
      { cause: err },
    );
  }
  await admin.end();
  const u = new URL(serverUrl);
  u.pathname = `/${name}`;
  const url = u.toString();
  const opened: Database[] = [];
  const connect = async () => {
    const d = openPostgres(url);
    opened.push(d);
    return d;
  };
  const db = await connect();
  return {
    kind: 'postgres',
    db,
    url,
    connect,
    reset: () => resetSchema(db),
    async close() {
      for (const d of opened) await d.close();
      const c = new pg.Client({ connectionString: serverUrl });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

/** TEST_DATABASE_URL, else the local server at 127.0.0.1:5432 if something listens there, else null. */
export async function localPostgresUrl(env: Record<string, string | undefined> = process.env): Promise<string | null> {
  if (env['TEST_DATABASE_URL']) return env['TEST_DATABASE_URL'];
  const listening = await new Promise<boolean>((resolve) => {
    const s = createConnection({ host: '127.0.0.1', port: 5432 });
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });
  return listening ? 'postgres://postgres@127.0.0.1:5432/postgres' : null;
}

/** What the mngd server's legacy endpoint serves now: the version, or null (its 404). */
export async function legacyServed(db: Database): Promise<string | null> {
  const { rows } = await db.query<{ version: string }>(LEGACY_QUERY);
  return rows[0]?.version ?? null;
}

/** Each row's xmin (the transaction that last wrote it): unchanged xmins prove nothing was written. */
export async function rowVersions(db: Database): Promise<Map<string, string>> {
  const { rows } = await db.query<{ version: string; xmin: string }>(
    'SELECT version::text AS version, xmin::text AS xmin FROM agent_releases',
  );
  return new Map(rows.map((r) => [r.version, r.xmin]));
}
