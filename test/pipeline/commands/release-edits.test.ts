import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runBin, tempRepo } from '../../support/cli.js';

/** A release file as people leave it: comments above and beside values, a blank line, odd spacing. */
const COMMENTED = `# yaml-language-server: $schema=../schema/release.schema.json
# 1.0.4: the menubar fix (ticket OPS-12)
version: "1.0.4"
download_url: https://cdn.mngd.app/agent/mngd-agent-1.0.4.pkg
sha256: bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb
size: 2000
release_notes: |
  Fixes the menubar icon.
  Second line: kept as it is.
min_required_version: '1.0.0'

channel: stable # on every channel
rollout_percent: 10   # raised in PR #42
# the end
`;

function repoWith(text: string): { root: string; file: string } {
  const { root, releases } = tempRepo();
  const file = join(releases, '1.0.4.yaml');
  writeFileSync(file, text);
  return { root, file };
}

describe('mngd-release yank, halt, pause, rollout (the real bin, files with comments)', () => {
  it('yank inserts active: false after the field before it and changes no other byte', async () => {
    const { root, file } = repoWith(COMMENTED);
    const r = await runBin(['yank', '1.0.4'], { cwd: root });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(
      readFileSync(file, 'utf8'),
      COMMENTED.replace("min_required_version: '1.0.0'\n", "min_required_version: '1.0.0'\nactive: false\n"),
    );
    assert.match(r.stdout, /^releases\/1\.0\.4\.yaml: active: true -> false\. /);
    assert.ok(
      r.stdout.includes(
        [
          '  git switch -c yank-1.0.4',
          "  git commit -m 'Yank 1.0.4' -- releases/1.0.4.yaml",
          '  git push -u origin yank-1.0.4',
          "  gh pr create --base main --head yank-1.0.4 --title 'Yank 1.0.4' --body ",
        ].join('\n'),
      ),
      r.stdout,
    );
    assert.equal((await runBin(['validate'], { cwd: root })).code, 0);
  });

  it('yank flips an existing active: true in place, keeping its comment; a second yank changes nothing', async () => {
    const text = COMMENTED.replace("'1.0.0'\n", "'1.0.0'\nactive: true    # live since Monday\n");
    const { root, file } = repoWith(text);
    assert.equal((await runBin(['yank', '1.0.4'], { cwd: root })).code, 0);
    const yanked = text.replace('active: true    #', 'active: false    #');
    assert.equal(readFileSync(file, 'utf8'), yanked);
    const again = await runBin(['yank', '1.0.4'], { cwd: root });
    assert.equal(again.code, 0);
    assert.match(again.stdout, /already yanked \(active: false\): nothing to change/);
    assert.doesNotMatch(again.stdout, /git switch/);
    assert.equal(readFileSync(file, 'utf8'), yanked);
  });

  it('halt appends halted {reason, at} (quoted) before a trailing comment, and the release leaves every offer', async () => {
    const { root, file } = repoWith(COMMENTED);
    const before = Math.floor(Date.now() / 1000) * 1000;
    const r = await runBin(['halt', '1.0.4', '--reason', `crashes on "launch" for $USER's Macs`, '--json'], {
      cwd: root,
    });
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { change: string; commands: string[] };
    const at = /^halted at (\S+)$/.exec(out.change)![1]!;
    assert.ok(Date.parse(at) >= before && Date.parse(at) <= Date.now(), at);
    assert.equal(
      readFileSync(file, 'utf8'),
      COMMENTED.replace(
        '# raised in PR #42\n',
        `# raised in PR #42\nhalted:\n  reason: "crashes on \\"launch\\" for $USER's Macs"\n  at: "${at}"\n`,
      ),
    );
    assert.deepEqual(out.commands.slice(0, 2), [
      'git switch -c stop-1.0.4',
      "git commit -m 'Halt 1.0.4' -- releases/1.0.4.yaml",
    ]);
    assert.ok(out.commands[3]!.endsWith(`: crashes on "launch" for $USER'\\''s Macs'`), out.commands[3]);
    const v = await runBin(['validate'], { cwd: root });
    assert.equal(v.code, 0, v.stderr);
    assert.match(v.stdout, /stable: offers 1\.0\.0;/);
  });

  it('pause sets rollout_percent 0 keeping the spacing before its comment', async () => {
    const { root, file } = repoWith(COMMENTED);
    const r = await runBin(['pause', '1.0.4'], { cwd: root });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(readFileSync(file, 'utf8'), COMMENTED.replace('rollout_percent: 10   #', 'rollout_percent: 0   #'));
    assert.match(r.stdout, /rollout_percent: 10 -> 0/);
  });

  it('rollout raises the share; a lower share is allowed and said so; the same share changes nothing', async () => {
    const { root, file } = repoWith(COMMENTED);
    const up = await runBin(['rollout', '1.0.4', '50'], { cwd: root });
    assert.equal(up.code, 0, up.stderr);
    assert.equal(readFileSync(file, 'utf8'), COMMENTED.replace('rollout_percent: 10 ', 'rollout_percent: 50 '));
    assert.doesNotMatch(up.stdout, /lowers/);
    const down = await runBin(['rollout', '1.0.4', '5%'], { cwd: root });
    assert.equal(down.code, 0, down.stderr);
    assert.match(down.stdout, /note: this lowers the share 50% -> 5%: a safety change/);
    assert.equal(readFileSync(file, 'utf8'), COMMENTED.replace('rollout_percent: 10 ', 'rollout_percent: 5 '));
    const same = await runBin(['rollout', '1.0.4', '5'], { cwd: root });
    assert.equal(same.code, 0);
    assert.match(same.stdout, /already 5: nothing to change/);
  });

  it('a file without rollout_percent gets one after channel', async () => {
    const text = COMMENTED.replace('rollout_percent: 10   # raised in PR #42\n', '');
    const { root, file } = repoWith(text);
    assert.equal((await runBin(['pause', '1.0.4'], { cwd: root })).code, 0);
    assert.equal(
      readFileSync(file, 'utf8'),
      text.replace('# on every channel\n', '# on every channel\nrollout_percent: 0\n'),
    );
  });

  for (const [what, argv, code, pattern] of [
    [
      'an unknown version, naming the closest',
      ['yank', '1.0.5'],
      2,
      /no release 1\.0\.5 in releases\/: did you mean 1\.0\.4\?/,
    ],
    ['a percent above 100', ['rollout', '1.0.4', '101'], 2, /expected a whole number from 0 to 100/],
    ['a halt without a reason', ['halt', '1.0.4'], 2, /--reason TEXT is required/],
    [
      'a halt on another channel than --channel',
      ['halt', '1.0.4', '--reason', 'x', '--channel', 'beta'],
      2,
      /on channel stable, not beta/,
    ],
    [
      'a pause that leaves a floor nothing satisfies',
      ['pause', '1.0.4'],
      1,
      /RELEASE_FLOOR_LOCKOUT[\s\S]*Nothing written/,
    ],
  ] as const) {
    it(`refuses ${what} and writes nothing`, async () => {
      const text = what.startsWith('a pause') ? COMMENTED.replace("'1.0.0'", "'1.0.4'") : COMMENTED;
      const { root, file } = repoWith(text);
      const r = await runBin([...argv], { cwd: root });
      assert.equal(r.code, code, r.stderr);
      assert.match(r.stderr, pattern);
      assert.equal(readFileSync(file, 'utf8'), text);
    });
  }

  it('refuses a flow-style file instead of rewriting its layout', async () => {
    const text =
      '{version: "1.0.4", download_url: "https://cdn.mngd.app/agent/mngd-agent-1.0.4.pkg", sha256: "' +
      'b'.repeat(64) +
      '", size: 2000}\n';
    const { root, file } = repoWith(text);
    const r = await runBin(['yank', '1.0.4'], { cwd: root });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /RELEASE_EDIT_LAYOUT/);
    assert.equal(readFileSync(file, 'utf8'), text);
  });
});
