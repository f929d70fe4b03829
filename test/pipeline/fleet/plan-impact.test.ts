/**
 * `plan` with real numbers: what a raised floor blocks and leaves unsupported, and what a yank
 * leaves behind, counted from agent_devices, equal to a direct SQL count, on PGlite and on
 * PostgreSQL; and `mngd-release plan` printing them in its load events.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fleetImpact, floorLine, impactSection, stopLine } from '../../../pipeline/fleet/plan-impact.js';
import { migrateFleet } from '../../../pipeline/fleet/ingest.js';
import type { Plan, PlannedYank } from '../../../pipeline/table/plan-types.js';
import type { Database } from '../../../pipeline/table/db/database.js';
import { testBackends, type TestDatabase } from '../../support/db.js';
import { cliDatabase } from '../../support/cli-db.js';
import { runRelease, tempRepo } from '../../support/cli.js';

const NOW = new Date('2026-12-04T12:00:00Z');
const VERSIONS = ['1.0.1', '1.0.2', '1.0.3', '1.0.4', '1.0.10'];
const MACOS = ['12.7.4', '13.6', '14.5', '15.1'];

/** 1,000 devices: versions, macOS, channels and staleness spread by their number. */
async function fleet(db: Database): Promise<void> {
  await migrateFleet(db);
  const values: string[] = [];
  const params: unknown[] = [];
  for (let i = 0; i < 1000; i++) {
    const seen =
      i % 11 === 0 ? new Date(NOW.getTime() - 10 * 86_400_000) : new Date(NOW.getTime() - (i % 5) * 3_600_000);
    const row = [
      `d${i}`,
      i % 7 === 0 ? 'beta' : 'stable',
      VERSIONS[i % VERSIONS.length],
      MACOS[(i >> 1) % MACOS.length],
      'arm64',
      seen.toISOString(),
    ];
    values.push(`(${row.map((_, k) => `$${params.length + k + 1}`).join(', ')})`);
    params.push(...row);
  }
  await db.query(
    `INSERT INTO agent_devices (device, channel, current_version, macos, hw_arch, last_seen) VALUES ${values.join(', ')}`,
    params,
  );
}

function plan(over: Partial<Plan>): Plan {
  return {
    migrations: [],
    inserts: [],
    updates: [],
    yanks: [],
    unmanaged: [],
    unchanged: 0,
    floors: [],
    legacy: { before: null, after: null },
    warnings: [],
    problems: [],
    sections: [],
    immutableChanges: [],
    artifacts: [],
    ...over,
  };
}

const count = async (db: Database, where: string) =>
  (
    await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM agent_devices WHERE last_seen >= $1 AND ${where}`, [
      new Date(NOW.getTime() - 7 * 86_400_000).toISOString(),
    ])
  ).rows[0]!.n;

for (const backend of testBackends()) {
  describe(`plan's fleet numbers on ${backend.name}`, () => {
    let t: TestDatabase;
    before(async () => {
      t = await backend.open();
      await fleet(t.db);
    });
    after(async () => t?.close());

    it('a raised floor: blocked and unsupported equal a direct SQL count', async () => {
      const impact = await fleetImpact(
        t.db,
        plan({ floors: [{ channel: 'stable', before: '1.0.1', after: '1.0.3' }] }),
        {
          now: NOW,
          satisfying: () => ['1.0.10', '1.0.4', '1.0.3'],
          macosMin: () => '13.0', // every release at or above the floor needs macOS 13
        },
      );
      assert.ok(impact);
      const [f] = impact.floors;
      const active = await count(t.db, `channel = 'stable'`);
      const below = await count(t.db, `channel = 'stable' AND current_version IN ('1.0.1', '1.0.2')`);
      const on12 = await count(
        t.db,
        `channel = 'stable' AND current_version IN ('1.0.1', '1.0.2') AND macos LIKE '12.%'`,
      );
      assert.ok(on12 > 0 && below > on12 && active > below, `${active} ${below} ${on12}`);
      assert.deepEqual(f, {
        channel: 'stable',
        from: '1.0.1',
        to: '1.0.3',
        active,
        blocked: below - on12,
        unsupported: on12,
        unsupportedByMacos: { '12': on12 },
      });
      assert.equal(
        floorLine(f!),
        `raising the floor of stable to 1.0.3 blocks ${below - on12} device(s) (${(((below - on12) / active) * 100).toFixed(1)} % of ${active} active) until they update; ${on12} on macOS 12 become unsupported (no release at or above 1.0.3 runs there: not blocked, one warning)`,
      );
    });

    it('a yank: the devices left on the version equal a direct SQL count (1.0.10 is not 1.0.1)', async () => {
      const yank = {
        version: '1.0.1',
        row: { channel: 'stable' },
        reason: 'file-says-inactive',
      } as unknown as PlannedYank;
      const p = plan({
        yanks: [yank],
        warnings: [
          {
            code: 'NEWEST_YANKED',
            channel: 'stable',
            version: '1.0.1',
            message: 'the newest release of stable, 1.0.1, is yanked',
          },
        ],
      });
      const impact = await fleetImpact(t.db, p, { now: NOW, satisfying: () => [], macosMin: () => null });
      const on = await count(t.db, `channel = 'stable' AND current_version = '1.0.1'`);
      assert.deepEqual(
        impact?.stops.map((s) => [s.version, s.how, s.devices]),
        [['1.0.1', 'yank', on]],
      );
      const section = impactSection(impact!, p);
      assert.equal(section.lines[0], stopLine(impact!.stops[0]!));
      assert.match(p.warnings[0]!.message, new RegExp(`is yanked: this yank leaves ${on} device\\(s\\)`));
      assert.match(section.lines[0]!, /the rescue rule moves them to the next release$/);
    });

    it('without the fleet tables: no numbers, no error', async () => {
      await t.db.exec('DROP TABLE agent_devices; DROP TABLE agent_update_events;');
      try {
        assert.equal(await fleetImpact(t.db, plan({}), { now: NOW, satisfying: () => [], macosMin: () => null }), null);
      } finally {
        await t.db.exec(`DELETE FROM mngd_schema_migrations WHERE id LIKE 'fleet_%'`);
        await fleet(t.db);
      }
    });
  });
}

describe('mngd-release plan with a fleet database', () => {
  it('puts the numbers into the floor load event and its own section', async () => {
    const repo = tempRepo();
    const stateDir = join(repo.root, '.state');
    const db = await cliDatabase(stateDir);
    try {
      const env = { ...db.env, MNGD_STATE_DIR: stateDir };
      const rel = (v: string, extra = '') =>
        `version: "${v}"\ndownload_url: https://cdn.mngd.app/agent/mngd-agent-${v}.pkg\nsha256: ${v.replace(/\./g, '').padStart(64, 'e')}\nsize: 1000\n${extra}`;
      writeFileSync(join(repo.releases, '1.0.3.yaml'), rel('1.0.3'));
      const sync = await runRelease(['sync'], { cwd: repo.root, env, now: NOW });
      assert.equal(sync.code, 0, sync.stderr + sync.stdout);
      await db.use(fleet);
      writeFileSync(join(repo.releases, '1.0.3.yaml'), rel('1.0.3', 'min_required_version: "1.0.3"\n'));
      const res = await runRelease(['plan', '--skip-manifests', '--json'], { cwd: repo.root, env, now: NOW });
      assert.equal(res.code, 0, res.stderr + res.stdout);
      const out = JSON.parse(res.stdout) as {
        plan: {
          warnings: { code: string; message: string }[];
          sections: { id: string; data: unknown; lines: string[] }[];
        };
      };
      // The direct count: active stable devices below 1.0.3 (1.0.10 is above it).
      const blocked = await db.use((d) => count(d, `channel = 'stable' AND current_version IN ('1.0.1', '1.0.2')`));
      const fleetSection = out.plan.sections.find((s) => s.id === 'fleet');
      assert.equal((fleetSection?.data as { floors: { blocked: number }[] }).floors[0]?.blocked, blocked);
      const raised = out.plan.warnings.find((w) => w.code === 'FLOOR_RAISED');
      assert.match(
        raised?.message ?? '',
        new RegExp(`raising the floor of stable to 1\\.0\\.3 blocks ${blocked} device\\(s\\)`),
      );
    } finally {
      await db.close();
    }
  });
});
