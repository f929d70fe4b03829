/**
 * A rollout step that fell due since the last apply is not drift: git's schedule moved on, and
 * the next apply (release-refresh, every 30 minutes) writes it. Drift names it as a warning,
 * instead of the error a hand edit is: the table or a manifest still carries a share the
 * schedule itself had earlier (never more than git offers now). Pure.
 */
import { rolloutStepsOf } from '../../schema/rollout.js';
import { releaseAt, type Policy, type Release, type SignedManifest, type SignedManifest2 } from '../../schema/types.js';
import {
  buildSignedManifest,
  buildSignedManifest2,
  manifest2Content,
  manifestContent,
  NO_COMMIT,
} from '../manifests/index.js';
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
 * A published manifest (either spec) whose only difference from git is a step due since it was
 * published: what git gave at its published_at (`contentAt`) is exactly what it says. A warning
 * finding; null otherwise.
 */
export function manifestStepDue(
  subject: string,
  live: { published_at: string; content: unknown },
  contentAt: (t: Date, releases: readonly Release[]) => unknown,
  releases: readonly Release[],
  now: Date,
): DriftFinding | null {
  const scheduled = releases.filter((r) => r.rollout_schedule !== undefined);
  if (scheduled.length === 0) return null;
  const then = new Date(live.published_at);
  const asThen = contentAt(
    then,
    releases.map((r) => releaseAt(r, then.getTime())),
  );
  if (!isDeepStrictEqual(asThen, live.content)) return null;
  const moved = scheduled.filter((r) => releaseAt(r, then.getTime()).rollout_percent !== r.rollout_percent);
  return {
    severity: 'warning',
    code: 'SCHEDULE_STEP_DUE',
    subject,
    message: `published at ${live.published_at}, before the step now in force: the next apply publishes it`,
    details: moved.map((r) => `${r.version}: its schedule is at ${inForce(r, now.getTime())}`),
  };
}

/** Replaces a MANIFEST_DIFFERS finding by the step-due warning when that is all it is. */
export function withStepDue(found: DriftFinding[], due: (subject: string) => DriftFinding | null): DriftFinding[] {
  const i = found.findIndex((f) => f.code === 'MANIFEST_DIFFERS');
  const d = i >= 0 ? due(found[i]!.subject) : null;
  return d === null ? found : [...found.slice(0, i), d, ...found.slice(i + 1)];
}

type Due = (subject: string) => DriftFinding | null;
const NO_PROVENANCE = { commit: NO_COMMIT, workflow_run: null, actor: null };

/** Spec 1: the share in force at publish time moves with each step. */
export function spec1StepDue(
  channel: string,
  live: SignedManifest | undefined,
  releases: readonly Release[],
  policy: Policy,
  now: Date,
): Due {
  const at = (t: Date, rs: readonly Release[]) =>
    manifestContent(buildSignedManifest({ channel, releases: rs, policy, now: t, previousSequence: null }));
  return (subject) =>
    live === undefined
      ? null
      : manifestStepDue(
          subject,
          { published_at: live.published_at, content: manifestContent(live) },
          at,
          releases,
          now,
        );
}

/** Spec 2: its steps are absolute, but which releases it lists (down to one at 100 %) moves with them. */
export function spec2StepDue(
  channel: string,
  live: SignedManifest2 | undefined,
  releases: readonly Release[],
  policy: Policy,
  now: Date,
): Due {
  const at = (t: Date, rs: readonly Release[]) =>
    manifest2Content(
      buildSignedManifest2({
        channel,
        releases: rs,
        policy,
        now: t,
        previousSequence: null,
        provenance: NO_PROVENANCE,
      }),
    );
  return (subject) =>
    live === undefined
      ? null
      : manifestStepDue(
          subject,
          { published_at: live.published_at, content: manifest2Content(live) },
          at,
          releases,
          now,
        );
}
