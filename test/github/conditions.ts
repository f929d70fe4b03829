/**
 * The small part of GitHub's expression language the workflows use in `if:`, evaluated as the
 * runner does: terms joined by `&&`; status functions; `==` / `!=` against a string literal on
 * `steps.<id>.outcome|conclusion|outputs.<name>` or `env.<name>`. Without a status function,
 * `success()` is implied. Anything else is refused, so a workflow that grows a new kind of
 * condition fails the tests until this learns it, instead of being run wrongly.
 */
export interface StepState {
  outcome: 'success' | 'failure' | 'skipped';
  outputs: Record<string, string>;
}

export interface ConditionContext {
  steps: Record<string, StepState>;
  env: Record<string, string>;
  /** an earlier step of the job failed */
  failed: boolean;
}

const STATUS = /^(!)?(success|failure|always|cancelled)\(\)$/;
const COMPARE = /^([\w.-]+)\s*(==|!=)\s*'([^']*)'$/;

function lookup(path: string, ctx: ConditionContext): string {
  const parts = path.split('.');
  if (parts[0] === 'env' && parts.length === 2) return ctx.env[parts[1] as string] ?? '';
  if (parts[0] === 'steps' && parts.length >= 3) {
    const step = ctx.steps[parts[1] as string];
    if (!step) throw new Error(`if: refers to step "${parts[1]}", which has not run before this one`);
    if (parts[2] === 'outcome' || parts[2] === 'conclusion') return step.outcome;
    if (parts[2] === 'outputs' && parts.length === 4) return step.outputs[parts[3] as string] ?? '';
  }
  throw new Error(`the test cannot evaluate "${path}" in an if: condition; teach test/github/conditions.ts`);
}

export function evaluateCondition(condition: string | undefined, ctx: ConditionContext): boolean {
  const text = (condition ?? '')
    .trim()
    .replace(/^\$\{\{\s*([\s\S]*?)\s*\}\}$/, '$1')
    .trim();
  if (text.includes('||')) {
    throw new Error(
      `the test cannot evaluate the condition "${text}" (only && of simple terms); teach test/github/conditions.ts`,
    );
  }
  const terms = text === '' ? [] : text.split('&&').map((t) => t.trim());
  let sawStatus = false;
  let result = true;
  for (const term of terms) {
    const status = STATUS.exec(term);
    if (status) {
      sawStatus = true;
      const name = status[2];
      let value = name === 'success' ? !ctx.failed : name === 'failure' ? ctx.failed : name === 'always';
      if (status[1]) value = !value;
      result &&= value;
      continue;
    }
    const cmp = COMPARE.exec(term);
    if (!cmp) throw new Error(`the test cannot evaluate the term "${term}"; teach test/github/conditions.ts`);
    const actual = lookup(cmp[1] as string, ctx);
    result &&= cmp[2] === '==' ? actual === cmp[3] : actual !== cmp[3];
  }
  return sawStatus ? result : result && !ctx.failed;
}

/** Reads a GITHUB_OUTPUT file: `name=value` lines and `name<<DELIM` blocks. */
export function parseOutputs(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string;
    const heredoc = /^([\w-]+)<<(.+)$/.exec(line);
    if (heredoc) {
      const body: string[] = [];
      for (i++; i < lines.length && lines[i] !== heredoc[2]; i++) body.push(lines[i] as string);
      out[heredoc[1] as string] = body.join('\n');
      continue;
    }
    const eq = line.indexOf('=');
    if (eq > 0) out[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return out;
}
