/** Load events land on the YAML line that causes them (the pull request's ::warning annotations). */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadEventProblems } from '../../../pipeline/cli/load-event-lines.js';
import { loadReleaseSet } from '../../../pipeline/releases/load.js';
import { tempRepo } from '../../support/cli.js';

const rel = (v: string, extra = '') =>
  `version: "${v}"\ndownload_url: https://cdn.mngd.app/agent/mngd-agent-${v}.pkg\nsha256: ${v.replace(/\./g, '').padStart(64, 'd')}\nsize: 1000\n${extra}`;

describe('loadEventProblems', () => {
  it('puts a floor on its min_required_version line, a halt on halted, a yank on active, keys on the policy', async () => {
    const repo = tempRepo();
    writeFileSync(join(repo.releases, '1.0.2.yaml'), rel('1.0.2', '# the floor\nmin_required_version: "1.0.2"\n'));
    writeFileSync(
      join(repo.releases, '1.0.3.yaml'),
      rel('1.0.3', 'rollout_percent: 10\nhalted:\n  reason: "crash"\n  at: "2026-12-04T12:00:00Z"\n'),
    );
    writeFileSync(join(repo.releases, '1.0.4.yaml'), rel('1.0.4', 'active: false\n'));
    const set = await loadReleaseSet(repo.root, {});
    assert.deepEqual(
      set.problems.filter((p) => p.severity === 'error'),
      [],
    );
    const got = loadEventProblems(
      [
        { code: 'FLOOR_RAISED', channel: 'stable', message: 'floor' },
        { code: 'RELEASE_HALTED', version: '1.0.3', message: 'halt' },
        { code: 'NEWEST_YANKED', channel: 'stable', version: '1.0.4', message: 'yank' },
        { code: 'TRUSTED_KEYS_CHANGED', message: 'keys' },
        { code: 'CHANNEL_EMPTY', channel: 'beta', message: 'empty' },
      ],
      set,
    );
    assert.deepEqual(
      got.map((p) => [p.severity, p.code, p.file, p.line]),
      [
        ['warning', 'FLOOR_RAISED', 'releases/1.0.2.yaml', 6],
        ['warning', 'RELEASE_HALTED', 'releases/1.0.3.yaml', 7], // where halted's value starts: its reason
        ['warning', 'NEWEST_YANKED', 'releases/1.0.4.yaml', 5],
        ['warning', 'TRUSTED_KEYS_CHANGED', 'releases/policy.yaml', undefined],
        ['warning', 'CHANNEL_EMPTY', '', undefined],
      ],
    );
  });
});
