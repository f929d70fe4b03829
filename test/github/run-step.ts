/**
 * Runs a workflow's `run:` script the way a GitHub runner does: `bash --noprofile --norc -eo
 * pipefail` (the workflows set `shell: bash`), the step's env with its `${{ }}` expressions
 * evaluated, and the runner's files (GITHUB_STEP_SUMMARY, GITHUB_OUTPUT, GITHUB_EVENT_PATH) as
 * fresh temporary files for each step. `npx mngd-release` resolves to this checkout's built CLI.
 */
import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { evaluateCondition, parseOutputs, type StepState } from './conditions.js';
import {
  annotationsIn,
  asRunStep,
  evaluate,
  repoRoot,
  type Annotation,
  type Contexts,
  type PipelineStep,
  type Step,
  type WorkflowFile,
} from './workflows.js';

export const CLI = join(repoRoot, 'dist', 'pipeline', 'cli.js');

export interface StepResult {
  step: PipelineStep;
  code: number;
  stdout: string;
  stderr: string;
  /** what the step wrote to its GITHUB_STEP_SUMMARY */
  summary: string;
  summaryBytes: number;
  output: string;
  annotations: Annotation[];
  /** wall time of the step, for the report when a test fails */
  ms: number;
}

export interface Runner {
  /** the runner's temp folder (RUNNER_TEMP) */
  temp: string;
  eventPath: string;
  contexts: Contexts;
  /** extra environment every step sees (e.g. NODE_EXTRA_CA_CERTS for the test CA) */
  env: Record<string, string>;
}

export function makeRunner(opts: {
  event: unknown;
  eventName: string;
  github: Record<string, unknown>;
  secrets?: Record<string, string>;
  vars?: Record<string, string>;
  env?: Record<string, string>;
  inputs?: Record<string, string>;
}): Runner {
  const temp = mkdtempSync(join(tmpdir(), 'mngd-runner-'));
  const eventPath = join(temp, 'event.json');
  writeFileSync(eventPath, JSON.stringify(opts.event, null, 2));
  const contexts: Contexts = {
    github: {
      ...opts.github,
      event: opts.event,
      event_name: opts.eventName,
      event_path: eventPath,
      run_id: '4242424242',
    },
    // The `inputs` context: a workflow_dispatch's inputs, or what a calling workflow passes.
    inputs: opts.inputs ?? (opts.event as { inputs?: Record<string, string> } | null)?.inputs ?? {},
    secrets: opts.secrets ?? {},
    vars: opts.vars ?? {},
    runner: { temp, os: 'Linux' },
  };
  return { temp, eventPath, contexts, env: opts.env ?? {} };
}

/** Runs one step in `cwd` (the checkout). */
export async function runStep(step: PipelineStep, cwd: string, runner: Runner): Promise<StepResult> {
  const files = mkdtempSync(join(runner.temp, 'step-'));
  const summaryPath = join(files, 'step_summary');
  const outputPath = join(files, 'output');
  writeFileSync(summaryPath, '');
  writeFileSync(outputPath, '');
  const github = runner.contexts['github'] as Record<string, unknown>;
  const inherited = Object.fromEntries(
    Object.entries(process.env).filter(
      ([k]) => !/^(GITHUB_|RUNNER_|DATABASE_URL|MNGD_|NODE_TEST_CONTEXT|TEST_DATABASE_URL|AWS_)/.test(k),
    ),
  ) as Record<string, string>;
  const stepEnv = Object.fromEntries(Object.entries(step.env).map(([k, v]) => [k, evaluate(v, runner.contexts)]));
  const env: Record<string, string> = {
    ...inherited,
    PATH: `${npxBinDir()}:${process.env['PATH'] ?? ''}`,
    CI: 'true',
    GITHUB_ACTIONS: 'true',
    GITHUB_EVENT_NAME: String(github['event_name']),
    GITHUB_EVENT_PATH: runner.eventPath,
    GITHUB_STEP_SUMMARY: summaryPath,
    GITHUB_OUTPUT: outputPath,
    GITHUB_WORKSPACE: cwd,
    GITHUB_SHA: String(github['sha']),
    GITHUB_REF: String(github['ref']),
    GITHUB_BASE_REF: String(github['base_ref'] ?? ''),
    GITHUB_HEAD_REF: String(github['head_ref'] ?? ''),
    GITHUB_REPOSITORY: String(github['repository']),
    RUNNER_TEMP: runner.temp,
    ...runner.env,
    ...stepEnv,
  };
  const script = evaluate(step.run, runner.contexts);
  const started = Date.now();
  const child = spawn('bash', ['--noprofile', '--norc', '-eo', 'pipefail', '-c', script], {
    cwd,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout.on('data', (b: Buffer) => out.push(b));
  child.stderr.on('data', (b: Buffer) => err.push(b));
  const code = await new Promise<number>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (c, signal) => resolve(c ?? (signal ? 128 : 1)));
  });
  const stdout = Buffer.concat(out).toString('utf8');
  const summary = readFileSync(summaryPath);
  return {
    step,
    code,
    stdout,
    stderr: Buffer.concat(err).toString('utf8'),
    summary: summary.toString('utf8'),
    summaryBytes: summary.length,
    output: readFileSync(outputPath, 'utf8'),
    annotations: annotationsIn(stdout),
    ms: Date.now() - started,
  };
}

let binDir: string | undefined;
/**
 * A folder holding an `npx` that runs this checkout's CLI for `npx [--no] mngd-release ...` and refuses anything
 * else, and a `gh` that answers the GitHub CLI calls the workflows make (gh-shim.ts).
 */
export function npxBinDir(): string {
  if (binDir) return binDir;
  const dir = mkdtempSync(join(tmpdir(), 'mngd-npx-'));
  const path = join(dir, 'npx');
  writeFileSync(
    path,
    `#!/bin/sh
[ "$1" = "--no" ] && shift
if [ "$1" != "mngd-release" ]; then echo "npx (test shim): only mngd-release is available, got: $*" >&2; exit 127; fi
shift
exec "${process.execPath}" "${CLI}" "$@"
`,
  );
  chmodSync(path, 0o755);
  // `gh` answers the few GitHub CLI calls the workflows make (gh-shim.ts).
  const gh = join(dir, 'gh');
  writeFileSync(
    gh,
    `#!/bin/sh\nexec "${process.execPath}" "${join(repoRoot, 'dist', 'test', 'github', 'gh-shim.js')}" "$@"\n`,
  );
  chmodSync(gh, 0o755);
  binDir = dir;
  return dir;
}

export interface JobStep {
  step: Step;
  outcome: StepState['outcome'];
  /** how the step was handled: run for real, simulated (an action, or `npm ci` of this checkout), or skipped by its `if:` */
  how: 'ran' | 'simulated' | 'skipped';
  /** present when the step ran */
  result?: StepResult;
}

/**
 * Runs a job's steps in order as the runner does, honouring each `if:`. Actions (`uses:`),
 * `npm ci` and `npm run build` are simulated as successful: the test runs in a temporary repository of releases
 * with this checkout's CLI already built. Every other `run:` step runs for real. `opts.failing` names simulated
 * steps (by their `id:`) that fail instead, e.g. an action the runner could not complete.
 */
export async function runJob(
  wf: WorkflowFile,
  jobId: string,
  cwd: string,
  runner: Runner,
  opts: { failing?: readonly string[] } = {},
): Promise<JobStep[]> {
  const job = wf.workflow.jobs[jobId];
  if (!job) throw new Error(`${wf.file} has no job ${jobId}`);
  const env: Record<string, string> = {};
  for (const layer of [wf.workflow.env, job.env]) {
    for (const [k, v] of Object.entries(layer ?? {})) env[k] = evaluate(String(v), runner.contexts);
  }
  for (const id of opts.failing ?? []) {
    if (!(job.steps ?? []).some((s) => s.id === id))
      throw new Error(`${wf.file} job ${jobId} has no step with id ${id}`);
  }
  const states: Record<string, StepState> = {};
  const out: JobStep[] = [];
  let failed = false;
  for (const step of job.steps ?? []) {
    let entry: JobStep;
    if (!evaluateCondition(step.if, { steps: states, env, failed })) {
      entry = { step, outcome: 'skipped', how: 'skipped' };
    } else if (typeof step.run !== 'string' || /^npm (ci|run build)\b/.test(step.run)) {
      const fails = step.id !== undefined && (opts.failing ?? []).includes(step.id);
      entry = { step, outcome: fails ? 'failure' : 'success', how: 'simulated' };
    } else {
      // The `steps` context: what the earlier steps with an id did (steps.<id>.outcome, .outputs).
      const withSteps = { ...runner, contexts: { ...runner.contexts, steps: states } };
      const result = await runStep(asRunStep(wf, jobId, { ...step, run: step.run }), cwd, withSteps);
      entry = { step, outcome: result.code === 0 ? 'success' : 'failure', how: 'ran', result };
    }
    if (entry.outcome === 'failure') failed = true;
    if (step.id)
      states[step.id] = { outcome: entry.outcome, outputs: entry.result ? parseOutputs(entry.result.output) : {} };
    out.push(entry);
  }
  return out;
}

/** The steps that failed, each with its output: '' when every step passed. */
export function failedSteps(steps: readonly JobStep[]): string {
  return steps
    .filter((x) => x.outcome === 'failure')
    .map((x) => `${x.step.name}: ${x.result?.stdout ?? ''}${x.result?.stderr ?? ''}`)
    .join('\n');
}

/** The results of the steps that ran `npx mngd-release ...`. */
export function pipelineResults(steps: readonly JobStep[]): StepResult[] {
  return steps.flatMap((s) => (s.result && s.result.step.commands.length > 0 ? [s.result] : []));
}
