/**
 * apply = verify artifacts -> sync the table -> publish the manifests, stopping at the first
 * failing step. Steps already done stay done (each is idempotent), later ones are not started,
 * and running apply again converges. The steps are passed in, so this file only orders them.
 */
import { MngdError, messageOf } from '../../schema/errors.js';
import { EXIT, exitCodeOf, type ExitCode } from '../../schema/exit.js';

export const APPLY_STEPS = ['verify-artifacts', 'sync', 'publish'] as const;
export type ApplyStep = (typeof APPLY_STEPS)[number];

export interface StepOutcome {
  step: ApplyStep;
  status: 'done' | 'failed' | 'not run';
  /** one line: what the step did, or why it failed */
  summary: string;
  /** further lines (problems, per-channel results) */
  details: string[];
  /** for a failed step: the error code, if typed */
  code?: string;
}

/** What a step reports back: a summary, details, and an exit code other than 0 to stop apply. */
export interface StepResult {
  summary: string;
  details?: string[];
  exitCode?: ExitCode;
}

export type Steps = Record<ApplyStep, () => Promise<StepResult>>;

export interface ApplyResult {
  outcomes: StepOutcome[];
  exitCode: ExitCode;
}

export async function runApply(steps: Steps, onStep: (o: StepOutcome) => void = () => undefined): Promise<ApplyResult> {
  const outcomes: StepOutcome[] = [];
  let exitCode: ExitCode = EXIT.OK;
  for (const step of APPLY_STEPS) {
    let outcome: StepOutcome;
    if (exitCode !== EXIT.OK) {
      outcome = { step, status: 'not run', summary: 'not started: an earlier step failed', details: [] };
    } else {
      try {
        const r = await steps[step]();
        const failed = r.exitCode !== undefined && r.exitCode !== EXIT.OK;
        if (failed) exitCode = r.exitCode ?? EXIT.EXTERNAL;
        outcome = { step, status: failed ? 'failed' : 'done', summary: r.summary, details: r.details ?? [] };
      } catch (err) {
        exitCode = exitCodeOf(err);
        outcome = {
          step,
          status: 'failed',
          summary: messageOf(err),
          details: [],
          ...(err instanceof MngdError ? { code: err.code } : {}),
        };
      }
    }
    outcomes.push(outcome);
    onStep(outcome);
  }
  return { outcomes, exitCode };
}

export function stopLine(result: ApplyResult): string {
  if (result.exitCode === EXIT.OK) return 'Applied: the artifacts are verified, the table and the manifests match git.';
  const failed = result.outcomes.find((o) => o.status === 'failed');
  const done = result.outcomes.filter((o) => o.status === 'done').map((o) => o.step);
  const notDone = result.outcomes.filter((o) => o.status !== 'done').map((o) => o.step);
  const retry =
    result.exitCode === EXIT.EXTERNAL
      ? 'An outside system failed: re-run apply once it is back; it converges.'
      : 'Fix the cause (see above), then run apply again; done steps are not repeated needlessly.';
  return `Stopped at ${failed?.step ?? '?'}. Done: ${done.join(', ') || 'nothing'}. Not done: ${notDone.join(', ')}. ${retry}`;
}
