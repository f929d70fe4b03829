/**
 * A rollout step that fell due since the last apply is not drift: git's schedule moved on, and
 * the next apply (release-refresh, every 30 minutes) writes it. Drift names it as a warning,
 * instead of the error a hand edit is: the table or a manifest still carries a share the
 * schedule itself had earlier (never more than git offers now). Pure.
 */
import { rolloutStepsOf } from '../../schema/rollout.js';
import { releaseAt, type Policy, type Release, type SignedManifest } from '../../schema/types.js';
import { buildSignedManifest, manifestContent } from '../manifests/index.js';
import type { Plan } from '../table/index.js';
import type { DriftFinding } from './finding.js';
import { isDeepStrictEqual } from 'node:util';

/** The shares a release's schedule has had by `t` (0 before its start), oldest first. */
function sharesBy(r: Release, t: number): number[] {
  return rolloutStepsOf(r)
    .filter((s) => s.at === null || Date.parse(s.at) <= t)
    .map((s) => s.percent);
}

/** The share in force now, and since when, in words: "10 % since 2026-12-08T09:00:00Z". */
function inForce(r: Release, t: number): string {
  const started = rolloutStepsOf(r).filter((s) => s.at === null || Date.parse(s.at) <= t);
  const last = started[started.length - 1]!;
  return `${last.percent} %${last.at === null ? '' : ` since ${last.at}`}`;
}

/**
 * The table's update that only catches a schedule up (rollout_percent, and the legacy active it
 * implies, to a share the schedule had earlier): a warning finding; null for anything else.
 */
export function tableStepDue(u: Plan['updates'][number], r: Release | undefined, now: Date): DriftFinding | null {
  if (r?.rollout_schedule === undefined || u.adopt) return null;
  if (!u.changes.every((c) => c.field === 'rollout_percent' || c.field === 'active')) return null;
  const share = u.changes.find((c) => c.field === 'rollout_percent');
  if (share === undefined || typeof share.from !== 'number') return null;
  const earlier = sharesBy(r, now.getTime());
  if (!earlier.includes(share.from) || share.from >= r.rollout_percent) return null;
  return {
    severity: 'warning',
    code: 'SCHEDULE_STEP_DUE',
    subject: `table ${u.version}`,
    message: `its schedule is at ${inForce(r, now.getTime())}; the table still has ${share.from} %: the next apply writes it`,
    details: [],
    ...(u.file ? { file: u.file } : {}),
  };
}

/**
 * A published manifest whose only difference from git is a step due since it was published:
 * what git gave at its published_at is exactly what it says. A warning finding; null otherwise.
 */
export function manifestStepDue(
  subject: string,
  live: SignedManifest,
  releases: readonly Release[],
  policy: Pick<Policy, 'manifest'>,
  now: Date,
): DriftFinding | null {
  const scheduled = releases.filter((r) => r.rollout_schedule !== undefined);
  if (scheduled.length === 0) return null;
  const then = new Date(live.published_at);
  const asThen = buildSignedManifest({
    channel: live.channel,
    releases: releases.map((r) => releaseAt(r, then.getTime())),
    policy,
    now: then,
    previousSequence: null,
  });
  if (!isDeepStrictEqual(manifestContent(asThen), manifestContent(live))) return null;
  const moved = scheduled.filter((r) => releaseAt(r, then.getTime()).rollout_percent !== r.rollout_percent);
  return {
    severity: 'warning',
    code: 'SCHEDULE_STEP_DUE',
    subject,
    message: `published at ${live.published_at}, before the step now in force: the next apply publishes it`,
    details: moved.map((r) => `${r.version}: its schedule is at ${inForce(r, now.getTime())}`),
  };
}
