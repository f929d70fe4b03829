import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { migrate } from '../../../../pipeline/table/db/migrate.js';
import { COLUMNS } from '../../../../schema/sql/columns.js';
import { testBackends, type TestDatabase } from '../../../support/db.js';

const PG_TYPE = {
  text: 'text',
  bigint: 'bigint',
  integer: 'integer',
  boolean: 'boolean',
  timestamptz: 'timestamp with time zone',
};

const byName = ([a]: unknown[], [b]: unknown[]): number => String(a).localeCompare(String(b), 'en');

for (const backend of testBackends()) {
  describe(`the column registry on ${backend.name}`, () => {
    let t: TestDatabase;
    before(async () => (t = await backend.open()));
    after(async () => t.close());

    // Reading, writing and the plan derive from COLUMNS: a column the migrations do not create
    // (or create with another type or nullability) must fail here, not in a sync.
    it('names exactly the columns the migrations create, with their types and nullability', async () => {
      await t.db.transaction((tx) => migrate(tx));
      const { rows } = await t.db.query<{ column_name: string; data_type: string; is_nullable: string }>(
        "SELECT column_name::text, data_type::text, is_nullable::text FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = 'agent_releases'",
      );
      assert.deepEqual(
        rows.map((r) => [r.column_name, r.data_type, r.is_nullable === 'YES']).sort(byName),
        COLUMNS.map((c) => [c.name, PG_TYPE[c.type], c.nullable]).sort(byName),
      );
    });
  });
}
