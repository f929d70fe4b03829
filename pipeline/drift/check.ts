/**
 * Drift: what git says against what the table and the published manifests say, and how close
 * each manifest is to expiry. The comparisons are pure; `checkManifests` and `checkTable` read.
 */
import { shareAt } from '../../schema/rollout.js';
import type { Policy, Release, SignedManifest } from '../../schema/types.js';
import type { Sql } from '../table/index.js';
import { compareChannel, DAY_MS, judgeChannel, usable, type ChannelComparison } from '../manifests/index.js';
import { compareChannel2, NO_COMMIT } from '../manifests/index.js';

/** drift compares content; provenance is not content */
const DRIFT_PROVENANCE = { commit: NO_COMMIT, workflow_run: null, actor: null };
import type { FieldValue, Plan } from '../table/index.js';
import { MANIFEST_CONTENT_TYPE } from '../manifests/index.js';
import { trustedKeysOf, type Published } from '../manifests/index.js';
import type { LoadedRelease } from '../releases/index.js';
import { planFor, restoreSql } from '../table/index.js';
import type { ObjectStore } from '../manifests/index.js';
import { listedEarlier, liveHaltDrift } from './live-halt.js';
import { manifestMatch, tableMatch } from './matched.js';
import { spec1StepDue, spec2StepDue, tableStepDue, withStepDue } from './schedule-due.js';

export type { DriftCode, DriftFinding, DriftMatch, DriftReport } from './finding.js';
import type { DriftFinding, DriftMatch, DriftReport } from './finding.js';

const show = (v: FieldValue): string => (v === null ? 'none' : JSON.stringify(v));

/** Compares one channel's published manifest with what git implies. Pure. */
type PublishedState = Pick<
  Published,
  'channel' | 'key' | 'object' | 'manifest' | 'problem' | 'latestSequence' | 'historySequence'
>;

export function manifestDrift(
  published: PublishedState,
  expected: SignedManifest,
  policy: Pick<Policy, 'manifest'>,
  now: Date,
): DriftFinding[] {
  const judged = judgeChannel(published, expected, {
    now,
    refreshWindowDays: policy.manifest.refresh_window_days,
    refresh: false,
    keyIds: null,
  });
  return driftOf(published, { expected, ...judged }, policy);
}

/** What drift reads of a published manifest, whatever its spec. */
type AnyPublished = Omit<PublishedState, 'manifest'> & { manifest: { signed: { sequence: number } } | null };

/** The findings of one channel's comparison, spec 1 or spec 2. Pure. */
function driftOf(
  published: AnyPublished,
  c: Pick<ChannelComparison, 'decision' | 'expiry'> & { expected: { releases: readonly { version: string }[] } },
  policy: Pick<Policy, 'manifest'>,
): DriftFinding[] {
  const { expected } = c;
  const subject = `manifest ${published.channel} (${published.key})`;
  if (published.object === null) {
    return [
      {
        severity: 'error',
        code: 'MANIFEST_MISSING',
        subject,
        message: `nothing is published; git offers ${expected.releases.map((r) => r.version).join(', ') || 'nothing'} on ${published.channel}`,
        details: [],
      },
    ];
  }
  const m = published.problem === null ? published.manifest : null;
  if (m === null || c.expiry === null) {
    return [
      {
        severity: 'error',
        code: 'MANIFEST_INVALID',
        subject,
        message: `the published object ${published.problem ?? 'is unreadable'}: changed by hand or damaged; agents reject it`,
        details: [],
      },
    ];
  }
  const out: DriftFinding[] = [];
  // publish's own diff lines: non-empty exactly when the content differs from git
  const details = c.decision.changes;
  if (details.length > 0)
    out.push({
      severity: 'error',
      code: 'MANIFEST_DIFFERS',
      subject,
      message: `sequence ${m.signed.sequence} differs from git`,
      details,
    });
  const { state, expiresAt, leftMs } = c.expiry;
  const window = policy.manifest.refresh_window_days;
  if (state === 'expired') {
    out.push({
      severity: 'error',
      code: 'MANIFEST_EXPIRED',
      subject,
      message: `expired at ${expiresAt}: agents refuse it and stay where they are`,
      details: [],
    });
  } else if (state === 'due') {
    out.push({
      severity: 'warning',
      code: 'MANIFEST_EXPIRING',
      subject,
      message: `expires at ${expiresAt} (in ${(leftMs / DAY_MS).toFixed(1)} days), within the ${window}-day refresh window: the scheduled refresh should have re-signed it`,
      details: [],
    });
  }
  const headers: string[] = [];
  const o = published.object;
  if (o.contentType !== undefined && o.contentType !== MANIFEST_CONTENT_TYPE)
    headers.push(`Content-Type: git says ${MANIFEST_CONTENT_TYPE}, the store says ${o.contentType}`);
  if (o.cacheControl !== undefined && o.cacheControl !== policy.manifest.cache_control) {
    headers.push(
      `Cache-Control: the policy says ${JSON.stringify(policy.manifest.cache_control)}, the store says ${JSON.stringify(o.cacheControl)}`,
    );
  }
  if (headers.length > 0)
    out.push({
      severity: 'warning',
      code: 'MANIFEST_HEADERS',
      subject,
      message: 'served with other headers than publish writes',
      details: headers,
    });
  if (
    published.historySequence !== null &&
    published.latestSequence !== null &&
    published.historySequence > published.latestSequence
  ) {
    out.push({
      severity: 'warning',
      code: 'MANIFEST_BEHIND_HISTORY',
      subject,
      message: `history holds sequence ${published.historySequence}, newer than latest.json's ${published.latestSequence}: a publish stopped between its two writes`,
      details: [],
    });
  }
  return out;
}

/**
 * The table's differences from git, read off the plan sync would carry out. Pure. `stepDue`
 * names an update that only catches a rollout schedule up (a warning, not drift).
 */
export function tableDrift(
  plan: Plan,
  stepDue: (u: Plan['updates'][number]) => DriftFinding | null = () => null,
): DriftFinding[] {
  const out: DriftFinding[] = [];
  const changeLines = (changes: Plan['updates'][number]['changes']) =>
    changes.map((c) => `${c.field}: git says ${show(c.to)}, the table says ${show(c.from)}`);
  for (const i of plan.inserts) {
    out.push({
      severity: 'error',
      code: 'TABLE_ROW_MISSING',
      subject: `table ${i.version}`,
      message: `${i.file} is in git, agent_releases has no row for it`,
      details: [],
      file: i.file,
    });
  }
  for (const u of plan.updates) {
    const due = stepDue(u);
    if (due !== null) {
      out.push(due);
      continue;
    }
    out.push({
      severity: 'error',
      code: 'TABLE_ROW_DIFFERS',
      subject: `table ${u.version}`,
      message: 'the row differs from its release file',
      details: changeLines(u.changes),
      ...(u.file ? { file: u.file } : {}),
    });
  }
  for (const y of plan.yanks) {
    const why =
      y.reason === 'file-removed'
        ? 'its file is gone from git (a revert yanks)'
        : y.reason === 'file-says-halted'
          ? 'its file says halted'
          : 'its file says active: false';
    out.push({
      severity: 'error',
      code: 'TABLE_ROW_NOT_YANKED',
      subject: `table ${y.version}`,
      message: `the row is not yanked, but ${why}`,
      details: changeLines(y.changes),
      ...(y.file ? { file: y.file } : {}),
    });
  }
  for (const u of plan.unmanaged) {
    if (u.action === 'adopt') continue; // reported as a difference above when its values differ
    out.push({
      severity: 'error',
      code: 'TABLE_UNMANAGED_ROW',
      subject: `table ${u.version}`,
      message: 'a row the pipeline never wrote, with no release file: run "mngd-release import" or yank it',
      details: [],
    });
  }
  for (const c of plan.immutableChanges) {
    const restore = restoreSql(c);
    out.push({
      severity: 'error',
      code: 'TABLE_IMMUTABLE_CHANGED',
      subject: `table ${c.version}`,
      message: `${c.field} differs from git, and sync never rewrites download_url, sha256 or size (it refuses). If the table was edited by hand, restore the row from git: ${restore}`,
      details: [`${c.field}: git says ${show(c.git)}, the table says ${show(c.table)}`],
      file: c.file,
    });
  }
  for (const p of plan.problems) {
    if (p.code === 'UNMANAGED_ROW' || p.code === 'IMMUTABLE_FIELD_CHANGED') continue;
    out.push({
      severity: 'error',
      code: 'TABLE_CONFLICT',
      subject: `table (${p.code})`,
      message: p.message,
      details: [],
      file: p.file,
    });
  }
  if (plan.migrations.length > 0) {
    out.push({
      severity: 'warning',
      code: 'TABLE_MIGRATIONS_PENDING',
      subject: 'table',
      message: `${plan.migrations.length} migration(s) have not run yet (sync runs them): ${plan.migrations.map((m) => m.id).join(', ')}`,
      details: [],
    });
  }
  return out;
}

export async function checkManifests(
  store: ObjectStore,
  releases: readonly Release[],
  policy: Policy,
  now: Date,
): Promise<DriftReport> {
  const trusted = trustedKeysOf(policy);
  const out: DriftFinding[] = [];
  const matched: DriftMatch[] = [];
  for (const channel of policy.channels) {
    const c = await compareChannel(store, channel, { releases, policy, now, trusted });
    const live = usable(c.published)?.signed;
    const one = withStepDue(driftOf(c.published, c, policy), spec1StepDue(channel, live, releases, policy, now));
    // spec 2 (v2/…) is compared the same way: content, expiry, headers, history
    const c2 = await compareChannel2(store, channel, { releases, policy, now, trusted, provenance: DRIFT_PROVENANCE });
    const live2 = c2.published.problem === null ? c2.published.manifest?.signed : undefined;
    const two = withStepDue(driftOf(c2.published, c2, policy), spec2StepDue(channel, live2, releases, policy, now));
    if (live !== undefined) {
      const offered = new Set(live.releases.map((r) => r.version));
      const missing = c.expected.releases.map((r) => r.version).filter((v) => !offered.has(v));
      const earlier = await listedEarlier(store, c.published, missing, trusted);
      one.push(...liveHaltDrift(`manifest ${channel} (${c.published.key})`, c.expected, live, earlier));
    }
    out.push(...one, ...two);
    const t = now.getTime();
    if (live !== undefined)
      matched.push(...manifestMatch(`manifest ${channel} (${c.published.key})`, live, one, live.releases));
    if (live2 !== undefined)
      matched.push(
        ...manifestMatch(
          `manifest ${channel} (${c2.published.key})`,
          live2,
          two,
          live2.releases.map((r) => ({ version: r.version, rollout_percent: shareAt(r.rollout, t) })),
        ),
      );
  }
  return { findings: out, matched };
}

/** Reads the table (read-only) and lists how it differs from git: the plan sync would carry out. */
export async function checkTable(
  sql: Sql,
  releases: readonly LoadedRelease[],
  policy: Pick<Policy, 'channels'>,
  now: Date,
): Promise<DriftReport> {
  const byVersion = new Map(releases.map((r) => [r.release.version, r.release]));
  const findings = tableDrift(await planFor(sql, { releases, policy }), (u) =>
    tableStepDue(u, byVersion.get(u.version), now),
  );
  return {
    findings,
    matched: tableMatch(
      releases.map((r) => r.release.version),
      findings,
    ),
  };
}
