/**
 * apply = verify artifacts -> sync the table -> publish the manifests, stopping at the first
 * failing step. Steps already done stay done (each is idempotent), later ones are not started,
 * and running apply again converges. The steps are passed in, so this file only orders them.
 *
 * A safety change (every changed channel only offers less: a yank, a halt, a pause) publishes
 * first and runs every step whatever fails: stopping a bad release must never wait for an
 * unrelated package or a database that is down. The exit code still says a step failed.
 */
import { MngdError, messageOf } from '../../schema/errors.js';
import { EXIT, exitCodeOf, type ExitCode } from '../../schema/exit.js';

export const APPLY_STEPS = ['verify-artifacts', 'sync', 'publish'] as const;
export type ApplyStep = (typeof APPLY_STEPS)[number];
/** A safety change: publish before anything that could fail for another reason. */
export const SAFETY_STEPS: readonly ApplyStep[] = ['publish', 'verify-artifacts', 'sync'];

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
  /** the run was a safety change: publish first, no step stopped another */
  safety: boolean;
}

export interface ApplyOptions {
  onStep?: (o: StepOutcome) => void;
  /** the change only offers less (see manifests/offer-change.ts) */
  safety?: boolean;
}

export async function runApply(steps: Steps, opts: ApplyOptions = {}): Promise<ApplyResult> {
  const outcomes: StepOutcome[] = [];
  const safety = opts.safety === true;
  let exitCode: ExitCode = EXIT.OK;
  for (const step of safety ? SAFETY_STEPS : APPLY_STEPS) {
    let outcome: StepOutcome;
    if (exitCode !== EXIT.OK && !safety) {
      outcome = { step, status: 'not run', summary: 'not started: an earlier step failed', details: [] };
    } else {
      try {
        const r = await steps[step]();
        const failed = r.exitCode !== undefined && r.exitCode !== EXIT.OK;
        if (failed && exitCode === EXIT.OK) exitCode = r.exitCode ?? EXIT.EXTERNAL;
        outcome = { step, status: failed ? 'failed' : 'done', summary: r.summary, details: r.details ?? [] };
      } catch (err) {
        if (exitCode === EXIT.OK) exitCode = exitCodeOf(err);
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
    opts.onStep?.(outcome);
  }
  return { outcomes, exitCode, safety };
}

const SKIPPED: Record<ApplyStep, string> = {
  'verify-artifacts': 'the packages the manifests list were not all verified',
  sync: 'agent_releases was not updated: the legacy endpoint still serves the old rows',
  publish: 'the manifests were not written',
};

export function stopLine(result: ApplyResult): string {
  if (result.exitCode === EXIT.OK) return 'Applied: the artifacts are verified, the table and the manifests match git.';
  if (result.safety) return safetyLine(result);
  const failed = result.outcomes.find((o) => o.status === 'failed');
  const done = result.outcomes.filter((o) => o.status === 'done').map((o) => o.step);
  const notDone = result.outcomes.filter((o) => o.status !== 'done').map((o) => o.step);
  const retry =
    result.exitCode === EXIT.EXTERNAL
      ? 'An outside system failed: re-run apply once it is back; it converges.'
      : 'Fix the cause (see above), then run apply again; done steps are not repeated needlessly.';
  return `Stopped at ${failed?.step ?? '?'}. Done: ${done.join(', ') || 'nothing'}. Not done: ${notDone.join(', ')}. ${retry}`;
}

/** The end of a safety run that failed somewhere: what went out, what was skipped, what comes next. */
function safetyLine(result: ApplyResult): string {
  const published = result.outcomes.some((o) => o.step === 'publish' && o.status === 'done');
  const failed = result.outcomes.filter((o) => o.status === 'failed');
  const skipped = failed.map((o) => `${o.step} failed (${SKIPPED[o.step]})`).join('; ');
  const head = published
    ? 'Safety change published: the manifests offer less, as git says.'
    : 'Safety change NOT published: the manifests still offer what they did.';
  const next = failed.some((o) => o.step === 'sync')
    ? ' The next apply catches the table up; re-run it once the failing system is back.'
    : ' Re-run apply once the failing system is back; it converges.';
  return `${head} Skipped: ${skipped}.${next}`;
}
