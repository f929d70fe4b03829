import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { alignFlags } from '../../../pipeline/cli/command.js';
import { commands } from '../../../pipeline/commands/index.js';

describe('mngd-release <command> --help', () => {
  it('lines up flag descriptions and their continuations in one column', () => {
    const help = [
      'Usage: x [--a]',
      '           [--b]',
      '',
      'Flags:',
      '  --a N   one',
      '          one, continued',
      '  --longer-flag VALUE  two',
      '  -h, --help  three',
      '',
      'Example:',
      '  x --a 1',
    ].join('\n');
    assert.equal(
      alignFlags(help),
      [
        'Usage: x [--a]',
        '           [--b]',
        '',
        'Flags:',
        '  --a N                one',
        '                       one, continued',
        '  --longer-flag VALUE  two',
        '  -h, --help           three',
        '',
        'Example:',
        '  x --a 1',
      ].join('\n'),
    );
  });

  for (const entry of commands) {
    it(`${entry.name}: names every flag it accepts, in one column`, async () => {
      const command = await entry.load();
      const help = alignFlags(command.help);
      for (const flag of Object.keys(command.options))
        assert.match(help, new RegExp(`^ {2}--${flag}\\b`, 'm'), `--${flag} is not described`);
      const columns = new Set([...help.matchAll(/^ {2}(-\S+(?:,? \S+)*?) {2,}\S/gm)].map((m) => m[0].length));
      assert.equal(columns.size, 1, `descriptions start in ${columns.size} columns`);
    });
  }
});
