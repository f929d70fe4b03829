/**
 * A stand-in for the GitHub CLI in workflow-step tests (run-step.ts puts it on PATH as `gh`). It
 * knows only the calls the workflows make, so a workflow that starts using another one fails its
 * test loudly. State lives in the folder GH_SHIM_DIR names: `open-prs` (one head branch a line:
 * the open pull requests into main) and `calls.jsonl` (every call, for the test to assert).
 * Without GH_SHIM_DIR there are no open pull requests and nothing is recorded.
 */
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

function value(args: readonly string[], flag: string): string | undefined {
  const i = args.indexOf(flag);
  return i === -1 ? undefined : args[i + 1];
}

function main(args: readonly string[]): number {
  const dir = process.env['GH_SHIM_DIR'];
  if (dir !== undefined) appendFileSync(join(dir, 'calls.jsonl'), `${JSON.stringify(args)}\n`);
  const openPath = dir === undefined ? undefined : join(dir, 'open-prs');
  const open =
    openPath !== undefined && existsSync(openPath) ? readFileSync(openPath, 'utf8').split('\n').filter(Boolean) : [];
  const [group, command] = args;
  if (group === 'pr' && command === 'list' && value(args, '--state') === 'open') {
    const head = value(args, '--head');
    // --json headRefName --jq '.[].headRefName' lists branches; --json number lists numbers.
    if (value(args, '--json') === 'headRefName' && head === undefined)
      process.stdout.write(open.map((b) => `${b}\n`).join(''));
    else if (value(args, '--json') === 'number' && head !== undefined) {
      const n = open.indexOf(head);
      if (n !== -1) process.stdout.write(`${n + 1}\n`);
    } else return refuse(args);
    return 0;
  }
  if (group === 'pr' && command === 'create' && dir !== undefined) {
    const head = value(args, '--head');
    if (head === undefined || value(args, '--base') === undefined || value(args, '--title') === undefined)
      return refuse(args);
    appendFileSync(join(dir, 'open-prs'), `${head}\n`);
    process.stdout.write(`https://github.com/mngd/agent-releases/pull/${open.length + 1}\n`);
    return 0;
  }
  // gh pr edit <number> --repo R --body TEXT: only an open pull request's body.
  if (group === 'pr' && command === 'edit' && dir !== undefined) {
    const n = Number(args[2]);
    if (!(n >= 1 && n <= open.length) || value(args, '--body') === undefined) return refuse(args);
    return 0;
  }
  return refuse(args);
}

function refuse(args: readonly string[]): number {
  process.stderr.write(`gh (test shim): this call is not known to the tests: gh ${args.join(' ')}\n`);
  return 127;
}

process.exitCode = main(process.argv.slice(2));
