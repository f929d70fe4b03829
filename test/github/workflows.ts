/**
 * Reading the repository's workflows the way GitHub does, for the tests: every workflow file,
 * its jobs and steps, and the `${{ }}` expressions the pipeline steps use. The tests take the
 * commands from here, so a workflow and its test cannot drift apart.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';

export const repoRoot = new URL('../../../', import.meta.url).pathname;
export const workflowsDir = join(repoRoot, '.github', 'workflows');

export interface Step {
  name?: string;
  id?: string;
  if?: string;
  uses?: string;
  run?: string;
  env?: Record<string, string | number | boolean>;
  with?: Record<string, unknown>;
}

export interface Job {
  name?: string;
  'runs-on'?: string;
  environment?: string | { name: string };
  permissions?: Record<string, string> | string;
  concurrency?: { group: string; 'cancel-in-progress'?: boolean | string } | string;
  env?: Record<string, string | number | boolean>;
  steps?: Step[];
  /** a reusable workflow this job calls (./.github/workflows/x.yml) instead of steps */
  uses?: string;
  with?: Record<string, unknown>;
  needs?: string | string[];
  if?: string;
}

export interface Workflow {
  name?: string;
  on: Record<string, unknown>;
  permissions?: Record<string, string> | string;
  concurrency?: { group: string; 'cancel-in-progress'?: boolean | string } | string;
  env?: Record<string, string | number | boolean>;
  jobs: Record<string, Job>;
}

export interface WorkflowFile {
  /** e.g. release-pr.yml */
  file: string;
  path: string;
  text: string;
  workflow: Workflow;
}

/** Every workflow file (.yml and .yaml) under .github/workflows, sorted by name. */
export function workflowFiles(): WorkflowFile[] {
  return readdirSync(workflowsDir)
    .filter((f) => f.endsWith('.yml') || f.endsWith('.yaml'))
    .sort()
    .map((file) => {
      const path = join(workflowsDir, file);
      const text = readFileSync(path, 'utf8');
      return { file, path, text, workflow: parse(text) as Workflow };
    });
}

export function workflowFile(file: string): WorkflowFile {
  const found = workflowFiles().find((w) => w.file === file);
  if (!found) throw new Error(`no workflow ${file} in ${workflowsDir}`);
  return found;
}

/** A step that runs `mngd-release`, with everything needed to run it as the workflow would. */
export interface PipelineStep {
  workflow: string;
  job: string;
  step: Step;
  /** the script exactly as written in `run:` */
  run: string;
  /** workflow, job and step env merged, expressions not yet evaluated */
  env: Record<string, string>;
  /** the mngd-release invocations in the script, e.g. ['validate', 'plan'] */
  commands: string[];
}

const INVOCATION = /\bnpx\s+(?:--no\s+)?mngd-release\s+([a-z-]+)/g;

/** A `run:` step with its merged env and the mngd-release commands it calls. */
export function asRunStep(wf: WorkflowFile, jobId: string, step: Step & { run: string }): PipelineStep {
  const job = wf.workflow.jobs[jobId];
  const commands = [...step.run.matchAll(INVOCATION)].map((m) => m[1] as string);
  const env: Record<string, string> = {};
  for (const layer of [wf.workflow.env, job?.env, step.env]) {
    for (const [k, v] of Object.entries(layer ?? {})) env[k] = String(v);
  }
  return { workflow: wf.file, job: jobId, step, run: step.run, env, commands };
}

/** Every `run:` step of a workflow, in order, ready to run. */
export function runSteps(wf: WorkflowFile): PipelineStep[] {
  const out: PipelineStep[] = [];
  for (const [jobId, job] of Object.entries(wf.workflow.jobs)) {
    for (const step of job.steps ?? []) {
      if (typeof step.run === 'string') out.push(asRunStep(wf, jobId, { ...step, run: step.run }));
    }
  }
  return out;
}

/** The steps that run `npx mngd-release ...`. */
export function pipelineSteps(wf: WorkflowFile): PipelineStep[] {
  return runSteps(wf).filter((s) => s.commands.length > 0);
}

export function stepWithId(wf: WorkflowFile, id: string): PipelineStep {
  const found = runSteps(wf).find((s) => s.step.id === id);
  if (!found) throw new Error(`${wf.file} has no run step with id "${id}"`);
  return found;
}

/** The contexts a `${{ }}` expression may read. */
export type Contexts = Record<string, unknown>;

/**
 * Replaces each `${{ a.b.c }}` with the value at that path in the contexts, as GitHub does for
 * plain property references (a missing secret or variable is the empty string). Anything else
 * (operators, functions) is refused, so a workflow that starts using one fails the test loudly
 * instead of being run with a wrong value.
 */
export function evaluate(text: string, contexts: Contexts): string {
  return text.replace(/\$\{\{\s*(.*?)\s*\}\}/g, (_m, expr: string) => {
    if (!/^[A-Za-z_][\w-]*(\.[A-Za-z_][\w-]*)*$/.test(expr)) {
      throw new Error(
        `the test cannot evaluate the expression "${expr}": teach test/github/workflows.ts evaluate() about it`,
      );
    }
    const [head, ...rest] = expr.split('.');
    let value: unknown = contexts[head as string];
    if (value === undefined) throw new Error(`unknown context "${head}" in "${expr}"`);
    for (const key of rest) {
      value = value !== null && typeof value === 'object' ? (value as Record<string, unknown>)[key] : undefined;
    }
    if (value === undefined || value === null) {
      if (head === 'secrets' || head === 'vars') return '';
      throw new Error(`"${expr}" has no value in the test's contexts`);
    }
    return String(value);
  });
}

/** One parsed `::error ...::message` / `::warning ...::message` workflow command. */
export interface Annotation {
  level: string;
  props: Record<string, string>;
  message: string;
}

/** Undoes @actions/core's escaping of workflow-command properties and data. */
function unescape(s: string): string {
  return s.replace(/%3A/g, ':').replace(/%2C/g, ',').replace(/%0D/g, '\r').replace(/%0A/g, '\n').replace(/%25/g, '%');
}

export function annotationsIn(stdout: string): Annotation[] {
  const out: Annotation[] = [];
  for (const line of stdout.split('\n')) {
    const m = /^::(error|warning|notice)(?: ([^:]*))?::(.*)$/.exec(line);
    if (!m) continue;
    const props: Record<string, string> = {};
    for (const pair of (m[2] ?? '').split(',').filter(Boolean)) {
      const eq = pair.indexOf('=');
      props[pair.slice(0, eq)] = unescape(pair.slice(eq + 1));
    }
    out.push({ level: m[1] as string, props, message: unescape(m[3] as string) });
  }
  return out;
}
