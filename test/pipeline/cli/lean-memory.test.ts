import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { LEAN_FLAG, wantsLeanRestart } from '../../../pipeline/cli/lean-memory.js';
import { REPO_ROOT, runBin, type CliResult } from '../../support/cli.js';

interface NodeStart {
  pid: number;
  ppid: number;
  execArgv: string[];
}

/**
 * Runs mngd-release with a preload (NODE_OPTIONS --import, inherited by any node it starts) that
 * records every node process as it starts: its pid, its parent and the flags node was started
 * with. Only a node that the bin started again can appear as the child of the first one.
 */
async function runRecorded(
  dir: string,
  argv: string[],
  nodeArgs: string[] = [],
): Promise<{ result: CliResult; starts: NodeStart[] }> {
  const log = join(dir, `starts-${argv.join('-')}-${nodeArgs.length}.jsonl`);
  writeFileSync(log, '');
  const result = await runBin(argv, {
    cwd: REPO_ROOT,
    nodeArgs,
    env: { NODE_OPTIONS: `--import=${pathToFileURL(join(dir, 'record.mjs')).href}`, MNGD_TEST_STARTS: log },
  });
  const starts = readFileSync(log, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as NodeStart);
  return { result, starts };
}

describe('lean memory for downloading commands', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'mngd-lean-'));
    writeFileSync(
      join(dir, 'record.mjs'),
      "import { appendFileSync } from 'node:fs';\n" +
        'appendFileSync(process.env.MNGD_TEST_STARTS, JSON.stringify({ pid: process.pid, ppid: process.ppid, execArgv: process.execArgv }) + "\\n");\n',
    );
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('restarts node with a small young generation only for commands that stream packages', () => {
    assert.equal(wantsLeanRestart(['verify-artifacts', '--all'], []), true);
    assert.equal(wantsLeanRestart(['apply'], ['--enable-source-maps']), true);
    assert.equal(wantsLeanRestart(['verify-artifacts'], [LEAN_FLAG]), false);
    assert.equal(wantsLeanRestart(['validate'], []), false);
    assert.equal(wantsLeanRestart([], []), false);
  });

  it('runs a downloading command in a second node, started by the first with the flag', async () => {
    const { result, starts } = await runRecorded(dir, ['verify-artifacts', '--help'], ['--no-warnings']);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(starts.length, 2, JSON.stringify(starts));
    const [first, second] = starts as [NodeStart, NodeStart];
    assert.deepEqual(first.execArgv, ['--no-warnings']);
    assert.equal(second.ppid, first.pid, 'the lean node is a child of the bin that was started');
    // its own flags kept, the lean one added: node applied it at start-up
    assert.deepEqual(second.execArgv, ['--no-warnings', LEAN_FLAG]);
  });

  it('starts no second node for other commands, nor when node already runs with the flag', async () => {
    const other = await runRecorded(dir, ['validate', '--help']);
    assert.equal(other.result.code, 0, other.result.stderr);
    assert.equal(other.starts.length, 1, JSON.stringify(other.starts));
    const lean = await runRecorded(dir, ['verify-artifacts', '--help'], [LEAN_FLAG]);
    assert.equal(lean.result.code, 0, lean.result.stderr);
    assert.equal(lean.starts.length, 1, JSON.stringify(lean.starts));
    assert.deepEqual(lean.starts[0]?.execArgv, [LEAN_FLAG]);
  });

  it("passes the restarted command's output and exit code through", async () => {
    const help = await runBin(['verify-artifacts', '--help'], { cwd: REPO_ROOT });
    assert.equal(help.code, 0);
    assert.match(help.stdout, /^Usage: mngd-release verify-artifacts/);
    const bad = await runBin(['verify-artifacts', '--bogus'], { cwd: REPO_ROOT });
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /unknown flag --bogus; the flags are /);
  });
});
