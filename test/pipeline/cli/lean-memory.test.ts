import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { LEAN_FLAG, wantsLeanRestart } from '../../../pipeline/cli/lean-memory.js';
import { REPO_ROOT, runBin } from '../../support/cli.js';

describe('lean memory for downloading commands', () => {
  it('restarts node with a small young generation only for commands that stream packages', () => {
    assert.equal(wantsLeanRestart(['verify-artifacts', '--all'], []), true);
    assert.equal(wantsLeanRestart(['apply'], ['--enable-source-maps']), true);
    assert.equal(wantsLeanRestart(['verify-artifacts'], [LEAN_FLAG]), false);
    assert.equal(wantsLeanRestart(['validate'], []), false);
    assert.equal(wantsLeanRestart([], []), false);
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
