/**
 * The memory flag of the downloading commands comes from the bin's shebang: every command runs in
 * the one node the bin started. Before, `verify-artifacts`, `apply` and `import` started a second
 * node with the flag, and a `kill -9` of the first left the second doing the work unobserved.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { LEAN_FLAG } from '../../../pipeline/cli/lean-memory.js';
import { RELEASE_BIN, REPO_ROOT } from '../../support/cli.js';

interface NodeStart {
  pid: number;
  ppid: number;
  execArgv: string[];
}

const alive = (pid: number): boolean => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
};

describe('lean memory for downloading commands', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'mngd-lean-'));
    // A preload (NODE_OPTIONS --import, inherited by any node started from it) that records every
    // node as it starts; with MNGD_TEST_HOLD, a node with the flag (the one that would download)
    // waits there, so a test can kill the bin while the work is under way.
    writeFileSync(
      join(dir, 'record.mjs'),
      "import { appendFileSync } from 'node:fs';\n" +
        'appendFileSync(process.env.MNGD_TEST_STARTS, JSON.stringify({ pid: process.pid, ppid: process.ppid, execArgv: process.execArgv }) + "\\n");\n' +
        `if (process.env.MNGD_TEST_HOLD && process.execArgv.includes('${LEAN_FLAG}')) await new Promise((r) => setTimeout(r, 60000));\n`,
    );
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  /** Starts the bin itself (its shebang applies, as `npx mngd-release` runs it), recording node starts. */
  function startBin(argv: string[], hold = false) {
    const log = join(dir, `starts-${argv.join('-')}-${String(hold)}.jsonl`);
    writeFileSync(log, '');
    const child = spawn(RELEASE_BIN, argv, {
      cwd: REPO_ROOT,
      env: {
        PATH: process.env['PATH'],
        HOME: process.env['HOME'],
        NODE_OPTIONS: `--import=${pathToFileURL(join(dir, 'record.mjs')).href}`,
        MNGD_TEST_STARTS: log,
        ...(hold ? { MNGD_TEST_HOLD: '1' } : {}),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    // 'exit', not 'close': a node it started may hold the output pipes open after a kill -9
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.on('exit', (code, signal) => resolve({ code, signal })),
    );
    const closed = new Promise<void>((resolve) => child.on('close', () => resolve()));
    const starts = (): NodeStart[] =>
      readFileSync(log, 'utf8')
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => JSON.parse(l) as NodeStart);
    return { child, exited, closed, starts, stdout: () => stdout };
  }

  for (const argv of [
    ['verify-artifacts', '--help'],
    ['apply', '--help'],
    ['validate', '--help'],
  ]) {
    it(`runs "${argv[0]}" in the one node the bin started, with the flag from the shebang`, async () => {
      const run = startBin(argv);
      const { code } = await run.exited;
      await run.closed;
      assert.equal(code, 0);
      assert.match(run.stdout(), new RegExp(`^Usage: mngd-release ${argv[0]}`));
      const starts = run.starts();
      assert.equal(starts.length, 1, JSON.stringify(starts));
      assert.ok(starts[0]!.execArgv.includes(LEAN_FLAG), JSON.stringify(starts[0]));
    });
  }

  it('leaves nothing running after a kill -9 of apply while it works', async () => {
    const run = startBin(['apply', '--help'], true);
    const end = Date.now() + 20_000;
    while (!run.starts().some((s) => s.execArgv.includes(LEAN_FLAG))) {
      if (Date.now() > end) throw new Error(`no node with ${LEAN_FLAG} started: ${JSON.stringify(run.starts())}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    run.child.kill('SIGKILL');
    assert.equal((await run.exited).signal, 'SIGKILL');
    const left = run.starts().filter((s) => alive(s.pid));
    for (const s of left) process.kill(s.pid, 'SIGKILL'); // clean up what the test found
    assert.deepEqual(left, [], 'a node of apply outlived its kill -9');
  });
});
