/**
 * `mngd-release guard`, table-driven, on PGlite and on PostgreSQL (TEST_DATABASE_URL), one
 * database per backend for the file: below min_attempts nothing happens; a breach halts the version
 * with the evidence as the reason; a rerun with nothing new writes nothing; the guard never
 * raises a share.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Report, ReportEvent } from '../../../schema/types.js';
import { ingestReport, migrateFleet } from '../../../pipeline/fleet/ingest.js';
import { GUARD_DEFAULTS, guardSettings, judge, type GuardCounts } from '../../../pipeline/fleet/guard.js';
import type { Database } from '../../../pipeline/table/db/database.js';
import { openPglite } from '../../../pipeline/table/db/pglite.js';
import { runRelease, tempRepo } from '../../support/cli.js';
import { preparePgliteDir, testBackends, type TestDatabase } from '../../support/db.js';
import { runGuard } from '../../../pipeline/cli/guard.js';
import { renderGuardText } from '../../../pipeline/fleet/guard-render.js';
import { loadReleaseSet } from '../../../pipeline/releases/load.js';

const NOW = new Date('2026-12-04T12:00:00Z');
const ago = (h: number) => new Date(NOW.getTime() - h * 3_600_000).toISOString().replace('.000Z', 'Z');
const device = (n: number) => createHash('sha256').update(`salt/mac-${n}`).digest('hex');

const POLICY_GUARD = 'guard:\n  window: 6h\n  min_attempts: 20\n  max_failure_rate: 0.1\n  max_rollbacks: 3\n';
const release = (version: string, extra = '') =>
  `version: "${version}"\ndownload_url: https://cdn.mngd.app/agent/mngd-agent-${version}.pkg\nsha256: ${version.replace(/\./g, '').padStart(64, 'c')}\nsize: 1000\n${extra}`;

interface Outcome {
  /** per device: its install result, and a rollback after an ok install */
  installs: { ok: number; error: number; rollback?: number; hoursAgo?: number };
}

/** Reports of `n` devices, each with one install of 1.0.4 (and a rollback for some). */
async function ingest(db: Database, o: Outcome, first = 0): Promise<void> {
  await migrateFleet(db);
  const at = ago(o.installs.hoursAgo ?? 1);
  const total = o.installs.ok + o.installs.error;
  for (let i = 0; i < total; i++) {
    const n = first + i;
    const failed = i < o.installs.error;
    const rolledBack = !failed && i - o.installs.error < (o.installs.rollback ?? 0);
    const events: ReportEvent[] = [
      {
        id: `install-${n}`,
        at,
        kind: 'install',
        from: '1.0.3',
        to: '1.0.4',
        result: failed ? 'error' : 'ok',
        code: failed ? 'INSTALLER_FAILED' : null,
        duration_ms: 1000,
        bytes: null,
      },
    ];
    if (rolledBack)
      events.push({ ...events[0]!, id: `rollback-${n}`, kind: 'rollback', from: '1.0.4', to: '1.0.3', result: 'ok' });
    const r: Report = {
      device: device(n),
      channel: 'stable',
      current: failed || rolledBack ? '1.0.3' : '1.0.4',
      macos: '14.6',
      hw_arch: 'arm64',
      events,
    };
    await ingestReport(db, Buffer.from(JSON.stringify(r)), NOW);
  }
}

/** Loads the repository the way the command does, and runs the guard on the test's database. */
async function guard(db: Database, root: string, now = NOW, dryRun = false) {
  const set = await loadReleaseSet(root, {});
  assert.ok(set.policy, JSON.stringify(set.problems));
  const loaded = { set, policy: set.policy, releases: set.releases.map((r) => r.release) };
  const run = await runGuard(db, loaded, {
    cwd: root,
    releasesDir: undefined,
    channels: ['stable', 'beta'],
    now,
    dryRun,
  });
  return { ...run, text: renderGuardText(run.settings, run.decisions, run.halts) };
}

/** A repository of 1.0.3 (100 %) and 1.0.4 (10 %), with the guard policy. */
function repo(extraReleases: Record<string, string> = {}): {
  root: string;
  releases: string;
  files: () => Record<string, string>;
} {
  const r = tempRepo();
  writeFileSync(join(r.releases, 'policy.yaml'), readFileSync(join(r.releases, 'policy.yaml'), 'utf8') + POLICY_GUARD);
  writeFileSync(join(r.releases, '1.0.3.yaml'), release('1.0.3'));
  writeFileSync(join(r.releases, '1.0.4.yaml'), release('1.0.4', 'rollout_percent: 10 # canary\n'));
  for (const [v, text] of Object.entries(extraReleases)) writeFileSync(join(r.releases, `${v}.yaml`), text);
  const files = () =>
    Object.fromEntries(
      readdirSync(r.releases).map((f) => {
        const p = join(r.releases, f);
        return [f, `${statSync(p).mtimeMs} ${readFileSync(p, 'utf8')}`];
      }),
    );
  return { root: r.root, releases: r.releases, files };
}

const CASES: {
  name: string;
  outcome: Outcome;
  halted: boolean;
  evidence?: RegExp;
}[] = [
  { name: 'below min_attempts: 10 of 10 failed, nothing', outcome: { installs: { ok: 0, error: 10 } }, halted: false },
  { name: 'healthy: 1 of 30 failed, nothing', outcome: { installs: { ok: 29, error: 1 } }, halted: false },
  {
    name: 'failure rate breached: 9 of 30, halt',
    outcome: { installs: { ok: 21, error: 9 } },
    halted: true,
    evidence:
      /guard: 9 of 30 install attempt\(s\) of 1\.0\.4 on stable failed or rolled back in the last 6h: 9 error\(s\) \(INSTALLER_FAILED ×9\), 0 rollback\(s\); failure rate 30\.0 % > max_failure_rate 10\.0 %/,
  },
  {
    name: 'rollbacks breached at a low rate: 4 rollbacks of 60, halt',
    outcome: { installs: { ok: 60, error: 0, rollback: 4 } },
    halted: true,
    evidence: /0 error\(s\), 4 rollback\(s\); 4 rollbacks > max_rollbacks 3/,
  },
  {
    name: 'failures older than the window: not counted, nothing',
    outcome: { installs: { ok: 0, error: 30, hoursAgo: 7 } },
    halted: false,
  },
];

for (const backend of testBackends()) {
  describe(`guard decisions on ${backend.name}`, () => {
    let t: TestDatabase;
    before(async () => {
      t = await backend.open();
    });
    after(async () => t?.close());

    for (const c of CASES) {
      it(c.name, async () => {
        await t.reset();
        const r = repo();
        await ingest(t.db, c.outcome);
        const before = r.files();
        const res = await guard(t.db, r.root);
        const file = readFileSync(join(r.root, 'releases', '1.0.4.yaml'), 'utf8');
        if (!c.halted) {
          assert.deepEqual(r.files(), before, 'nothing written');
          assert.match(res.text, /nothing to halt: nothing written/);
          return;
        }
        // Only the halt is added: every other byte (the share, its comment) stays. It never raises a share.
        const original = release('1.0.4', 'rollout_percent: 10 # canary\n');
        assert.ok(file.startsWith(original), file);
        const added = file.slice(original.length);
        assert.match(added, /^halted:\n {2}reason: "guard: .*"\n {2}at: "2026-12-04T12:00:00Z"\n$/);
        assert.match(added, c.evidence!);
        assert.match(res.text, /stable 1\.0\.4: HALT/);
        assert.match(res.text, /^halted 1\.0\.4 \(releases\/1\.0\.4\.yaml\): guard: /m);
        const others = r.files();
        delete others['1.0.4.yaml'];
        const beforeOthers = { ...before };
        delete beforeOthers['1.0.4.yaml'];
        assert.deepEqual(others, beforeOthers, 'no other file changes');

        // A rerun with nothing new: 1.0.4 is no longer offered, so it is not judged; 0 writes.
        const counts = async () =>
          (
            await t.db.query<{ n: string }>(
              `SELECT (SELECT count(*) FROM agent_update_events) || '/' || (SELECT count(*) FROM agent_devices) AS n`,
            )
          ).rows[0]!.n;
        const rowsBefore = await counts();
        const halted = r.files();
        const again = await guard(t.db, r.root, new Date(NOW.getTime() + 15 * 60_000));
        assert.deepEqual(r.files(), halted, 'the rerun writes no file');
        assert.equal(await counts(), rowsBefore, 'and no row');
        assert.deepEqual(again.halts, []);
        assert.match(again.text, /nothing to halt: nothing written/);
      });
    }

    it('refuses a halt that would leave releases/ invalid: the reason, nothing written', async () => {
      // 1.0.5 is paused and raises the floor to 1.0.4: halting 1.0.4 would leave the floor above
      // every release offered with a share, a lockout; validate refuses it, so the guard must too.
      await t.reset();
      const r = repo({ '1.0.5': release('1.0.5', 'rollout_percent: 0\nmin_required_version: "1.0.4"\n') });
      await ingest(t.db, { installs: { ok: 21, error: 9 } });
      const before = r.files();
      const res = await guard(t.db, r.root);
      assert.deepEqual(r.files(), before);
      assert.deepEqual(
        res.halts.map((h) => [h.version, h.result]),
        [['1.0.4', 'refused']],
      );
      assert.match(res.text, /could not halt 1\.0\.4: releases\/1\.0\.4\.yaml would not be valid: RELEASE_FLOOR/);
    });
  });
}

describe('mngd-release guard', () => {
  it('--dry-run --json reports the decisions and the halt, writes nothing; a refused halt exits 1', async () => {
    const r = repo();
    const stateDir = join(r.root, '.state');
    const env = { MNGD_STATE_DIR: stateDir };
    await preparePgliteDir(join(stateDir, 'pglite'));
    const db = await openPglite(join(stateDir, 'pglite'));
    try {
      await ingest(db, { installs: { ok: 21, error: 9 } });
    } finally {
      await db.close();
    }
    const before = r.files();
    const res = await runRelease(['guard', '--dry-run', '--json'], { cwd: r.root, env, now: NOW });
    assert.equal(res.code, 0, res.stderr);
    assert.deepEqual(r.files(), before);
    const out = JSON.parse(res.stdout) as {
      decisions: { channel: string; version: string; verdict: string; attempts: number; errors: number }[];
      halts: { version: string; channel: string; result: string }[];
    };
    assert.deepEqual(
      out.decisions.map((d) => [d.channel, d.version, d.verdict, d.attempts, d.errors]),
      [['stable', '1.0.4', 'halt', 30, 9]],
    );
    assert.deepEqual(
      out.halts.map((h) => [h.version, h.channel, h.result]),
      [['1.0.4', 'stable', 'planned']],
    );
    writeFileSync(
      join(r.releases, '1.0.5.yaml'),
      release('1.0.5', 'rollout_percent: 0\nmin_required_version: "1.0.4"\n'),
    );
    const refused = await runRelease(['guard'], { cwd: r.root, env, now: NOW });
    assert.equal(refused.code, 1, refused.stdout);
    assert.match(refused.stdout, /could not halt 1\.0\.4/);
  });
});

describe('judge (pure)', () => {
  const s = guardSettings({ guard: { min_attempts: 20, max_failure_rate: 0.1, max_rollbacks: 3 } });
  const c = (attempts: number, errors: number, rollbacks: number): GuardCounts => ({
    channel: 'stable',
    version: '1.0.4',
    attempts,
    errors,
    rollbacks,
    codes: [],
  });
  const table: [GuardCounts, string][] = [
    [c(19, 19, 0), 'too-few'],
    [c(20, 2, 0), 'ok'], // exactly 10 %: not above
    [c(20, 2, 1), 'halt'],
    [c(100, 0, 3), 'ok'],
    [c(100, 0, 4), 'halt'],
    [c(0, 0, 0), 'too-few'],
  ];
  for (const [counts, verdict] of table)
    it(`${counts.attempts} attempts, ${counts.errors} errors, ${counts.rollbacks} rollbacks: ${verdict}`, () => {
      assert.equal(judge(counts, s, 'stable').verdict, verdict);
    });

  it('uses the policy defaults for what the policy leaves out', () => {
    const d = guardSettings({});
    assert.deepEqual(
      {
        window: d.window,
        min_attempts: d.min_attempts,
        max_failure_rate: d.max_failure_rate,
        max_rollbacks: d.max_rollbacks,
      },
      GUARD_DEFAULTS,
    );
    assert.equal(d.windowMs, 6 * 3_600_000);
  });
});
