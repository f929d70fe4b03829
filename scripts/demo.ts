/**
 * `npm start`: the whole flow on this machine, offline, in under a minute. Everything it makes
 * stays in .state/demo/ for reading afterwards (logs, manifests, the release repository); nothing
 * keeps running when it ends.
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cleanDir, moves, runScenario } from './demo/scenario.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const dir = join(process.env['MNGD_STATE_DIR'] ?? join(root, '.state'), 'demo');
const started = Date.now();
cleanDir(dir);
process.stdout.write(`mngd agent releases: the whole flow on one machine, offline (workspace ${dir})\n\n`);

try {
  const result = await runScenario({ dir, out: (t) => void process.stdout.write(t) });
  const [first, staged, yank, forced, fire] = result.stories;
  const fleet = first ? first.after.size : 0;
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  process.stdout.write(
    [
      '',
      '━━ What happened ━━',
      `1. ${sum(first && moves(first))} of ${fleet} Macs updated 1.0.0 -> 1.0.1 on their next check.`,
      `2. The 25 % rollout of 1.0.2 moved ${sum(staged && moves(staged))} of ${fleet} Macs (each version draws its own cohort).`,
      `3. The revert yanked 1.0.2: latest.json fell back to 1.0.1 (sequence ${staged?.manifest.sequence ?? '?'} -> ${yank?.manifest.sequence ?? '?'}); ${sum(yank && moves(yank))} devices changed version (no downgrades).`,
      `4. min_required_version 1.0.3 moved ${sum(forced && moves(forced))} Macs despite a 10 % rollout; the one whose helper was down stayed blocked until it had updated.`,
      `5. Under fire (1.0.4's package pulled, 1.0.1 404ing, the database down), apply still published the yank (exit ${fire?.applyExit ?? '?'}: the job is red, the manifest went out); ${fire ? [...fire.after.values()].filter((v) => v === '1.0.4').length : '?'} of ${fleet} Macs took 1.0.4, and the following apply caught the table up (exit ${fire?.followUpExit ?? '?'}).`,
      '',
      `Done in ${seconds} s. Nothing is left running.`,
      'Read next:',
      ...readNext([
        [join(dir, 'fleet', 'mac-01', 'agent.log'), 'the SelfUpdate: lines of one Mac'],
        [join(dir, 'fleet', 'mac-01', 'helper.log'), 'what its helper verified and installed'],
        [join(dir, 'bucket', 'latest.json'), 'the signed manifest (history/ beside it keeps every one)'],
        [join(dir, 'repo'), 'the release repository: try "git log -p releases/" there'],
        ['README.md', 'the release walkthrough, yanking, forcing an update, troubleshooting'],
      ]),
      '',
    ].join('\n'),
  );
} catch (err) {
  process.stderr.write(
    `\nThe demo failed: ${err instanceof Error ? err.message : String(err)}\nIts workspace is ${dir}.\n`,
  );
  process.exitCode = 1;
}

function readNext(rows: [string, string][]): string[] {
  const width = Math.max(...rows.map(([p]) => p.length));
  return rows.map(([p, what]) => `  ${p.padEnd(width)}  ${what}`);
}

function sum(m: Map<string, number> | undefined): number {
  return m ? [...m.values()].reduce((a, b) => a + b, 0) : 0;
}
