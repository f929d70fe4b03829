/**
 * Rollout schedules. A release file declares `{start, steps: [{percent, hold}], …}`; the manifest
 * carries absolute steps `[{at, percent}]` (the first with `at: null`), and every reader evaluates
 * `shareAt(steps, t)` at `t = clamp(device clock, published_at, expires_at)`: no publish is needed
 * for the ramp, and a clock running ahead cannot take the ramp beyond what the pipeline signed.
 */
export interface RolloutStep {
  /** RFC 3339 UTC; null for the first step (in force since forever) */
  at: string | null;
  percent: number;
}

export interface ScheduleStep {
  percent: number;
  /** how long this step holds before the next: `30m`, `24h`, `7d`; absent on the last step */
  hold?: string;
}

export interface Schedule {
  start: string;
  steps: readonly ScheduleStep[];
}

export const DURATION_PATTERN = '^[1-9][0-9]{0,4}[mhd]$';
export const MAX_SCHEDULE_MS = 60 * 24 * 3600 * 1000;
const UNIT_MS = { m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
const RFC3339_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?Z$/;

/** `30m`, `24h`, `7d` in milliseconds; null for anything else. */
export function parseDuration(text: string): number | null {
  if (!new RegExp(DURATION_PATTERN).test(text)) return null;
  return Number(text.slice(0, -1)) * UNIT_MS[text.slice(-1) as keyof typeof UNIT_MS];
}

/** The share in force at `t` (ms since the epoch): the last step whose `at` is at or before it. */
export function shareAt(steps: readonly RolloutStep[], t: number): number {
  let share = 0;
  for (const s of steps) {
    if (s.at !== null && Date.parse(s.at) > t) break;
    share = s.percent;
  }
  return share;
}

/** Which step is in force at `t` (0-based), and when the next one starts (null: none). */
export function stepAt(steps: readonly RolloutStep[], t: number): { index: number; next: string | null } {
  let index = 0;
  for (let i = 0; i < steps.length; i++) {
    const at = steps[i]!.at;
    if (at !== null && Date.parse(at) > t) return { index, next: at };
    index = i;
  }
  return { index, next: null };
}

/** The time a manifest is evaluated at: the device clock, clamped into the manifest's validity. */
export function evaluationTime(clock: number, publishedAt: string, expiresAt: string): number {
  return Math.min(Math.max(clock, Date.parse(publishedAt)), Date.parse(expiresAt));
}

/** A fixed share: what `rollout_percent` and a pause publish. */
export function fixedRollout(percent: number): RolloutStep[] {
  return [{ at: null, percent }];
}

export interface ScheduleProblem {
  /** index of the step at fault, or null for the schedule as a whole */
  step: number | null;
  field: 'start' | 'steps' | 'percent' | 'hold';
  message: string;
}

/** Every problem of a schedule, each with the fix (empty: valid). */
export function scheduleProblems(s: Schedule): ScheduleProblem[] {
  const out: ScheduleProblem[] = [];
  if (!RFC3339_UTC.test(s.start) || Number.isNaN(Date.parse(s.start)))
    out.push({
      step: null,
      field: 'start',
      message: `start ${JSON.stringify(s.start)} must be RFC 3339 in UTC, e.g. 2026-12-07T09:00:00Z`,
    });
  if (s.steps.length === 0)
    out.push({ step: null, field: 'steps', message: 'a schedule needs at least one step, the last at 100' });
  let total = 0;
  s.steps.forEach((step, i) => {
    const last = i === s.steps.length - 1;
    if (i > 0 && step.percent <= s.steps[i - 1]!.percent)
      out.push({
        step: i,
        field: 'percent',
        message: `step ${i + 1} is ${step.percent} %, not above step ${i}'s ${s.steps[i - 1]!.percent} %: shares must strictly increase`,
      });
    if (last && step.percent !== 100)
      out.push({
        step: i,
        field: 'percent',
        message: `the last step is ${step.percent} %; it must be 100 (end the ramp, or use rollout_percent for a fixed share)`,
      });
    if (!last) {
      const ms = step.hold === undefined ? null : parseDuration(step.hold);
      if (ms === null)
        out.push({
          step: i,
          field: 'hold',
          message: `step ${i + 1} needs hold: a duration such as 30m, 24h or 7d (minutes, hours, days)${step.hold === undefined ? '' : `, not ${JSON.stringify(step.hold)}`}`,
        });
      else total += ms;
    } else if (step.hold !== undefined) {
      out.push({ step: i, field: 'hold', message: 'the last step (100 %) holds for ever: remove its hold' });
    }
  });
  if (total > MAX_SCHEDULE_MS)
    out.push({
      step: null,
      field: 'steps',
      message: `the holds add up to ${Math.round(total / 86_400_000)} days; a schedule may take at most 60 days`,
    });
  return out;
}

/** The manifest's absolute steps for a valid schedule: 0 % until `start`, then each step in turn. */
export function scheduleSteps(s: Schedule): RolloutStep[] {
  const out: RolloutStep[] = [{ at: null, percent: 0 }];
  let at = Date.parse(s.start);
  for (const step of s.steps) {
    out.push({ at: new Date(at).toISOString().replace(/\.000Z$/, 'Z'), percent: step.percent });
    at += step.hold === undefined ? 0 : (parseDuration(step.hold) ?? 0);
  }
  return out;
}

/** A pause at `t`: the share in force then, held until resumed. */
export function pausedAt(steps: readonly RolloutStep[], t: number): RolloutStep[] {
  return fixedRollout(shareAt(steps, t));
}

/** `2026-12-03T09:00:00Z` as `2026-12-03T09:00Z` (seconds only when they are not 0). */
function shortTime(at: string): string {
  return at.replace(/:00Z$/, 'Z');
}

/**
 * The share in force at `t` and its step, for a log line: `rollout 10 %` (a fixed share),
 * `step 2 of 4: 10 % since 2026-12-03T09:00Z`, `not started: 0 % until 2026-12-03T09:00Z`.
 * A schedule's leading 0 % (before its start) is not one of its steps.
 */
export function describeShareAt(steps: readonly RolloutStep[], t: number): string {
  const { index } = stepAt(steps, t);
  const share = steps[index]!.percent;
  const leadingZero = steps.length > 1 && steps[0]!.percent === 0 && steps[0]!.at === null;
  const count = leadingZero ? steps.length - 1 : steps.length;
  if (count === 1 && !leadingZero) return `rollout ${share} %`;
  if (leadingZero && index === 0) return `not started: 0 % until ${shortTime(steps[1]!.at!)}`;
  const at = steps[index]!.at;
  const n = leadingZero ? index : index + 1;
  return `step ${n} of ${count}: ${share} %${at === null ? '' : ` since ${shortTime(at)}`}`;
}
