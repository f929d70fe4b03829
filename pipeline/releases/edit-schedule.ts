/**
 * The text of a rollout schedule in a release file, and what a schedule says in one line (pure):
 * what `rollout --schedule` writes and what pause, rollout and the plan print about a ramp.
 */
import { formatDuration, parseDuration, rolloutStepsOf, stepAt, type Schedule } from '../../schema/rollout.js';

/** The block `rollout --schedule` writes, in the layout a reviewer reads at a glance. */
export function scheduleBlock(s: Schedule): string {
  const steps = s.steps.map(
    (st) => `    - { percent: ${st.percent}${st.hold !== undefined ? `, hold: ${st.hold}` : ''} }`,
  );
  return [
    'rollout_schedule:',
    `  start: ${JSON.stringify(s.start)}`,
    '  steps:',
    ...steps,
    ...(s.paused_at !== undefined ? [`  paused_at: ${JSON.stringify(s.paused_at)}`] : []),
  ].join('\n');
}

/** "1 % → 10 % → 100 % from 2026-12-07T09:00:00Z" */
export function scheduleSummary(s: Schedule): string {
  return `${s.steps.map((st) => `${st.percent} %`).join(' → ')} from ${s.start}`;
}

/** The step in force at `t` in words: "step 2 of 4: 10 % since 2026-12-08T09:00:00Z" (or "before the start"). */
export function stepInForce(s: Schedule, t: number): string {
  const steps = rolloutStepsOf({ rollout_schedule: { ...s, paused_at: undefined } });
  const { index } = stepAt(steps, t);
  if (index === 0) return `0 %, before its start ${s.start}`;
  const step = steps[index]!;
  return `step ${index} of ${steps.length - 1}: ${step.percent} % since ${step.at!}`;
}

/**
 * `--schedule` as the command line writes it: shares and holds, "1:24h,10:48h,50:7d,100" (the
 * last without a hold). Returns the steps, or why the text is not one.
 */
export function parseScheduleArg(text: string): Schedule['steps'] | string {
  const parts = text.split(',').map((p) => p.trim());
  const steps: { percent: number; hold?: string }[] = [];
  for (const [i, part] of parts.entries()) {
    const m = /^(\d{1,3})%?(?::(\S+))?$/.exec(part);
    if (m === null) return `"${part}" is not PERCENT:HOLD (e.g. 10:24h)`;
    const hold = m[2];
    if (hold !== undefined && parseDuration(hold) === null)
      return `"${hold}" in "${part}" is not a duration; expected a whole number and m, h or d (30m, 24h, 7d)`;
    if (hold === undefined && i < parts.length - 1) return `"${part}" has no hold; only the last step goes without`;
    steps.push({ percent: Number(m[1]), ...(hold !== undefined ? { hold } : {}) });
  }
  return steps;
}

/** The total of a schedule's holds: "10d" (for messages). */
export function scheduleLength(s: Schedule): string {
  return formatDuration(
    s.steps.reduce((sum, st) => sum + (st.hold !== undefined ? (parseDuration(st.hold) ?? 0) : 0), 0),
  );
}
