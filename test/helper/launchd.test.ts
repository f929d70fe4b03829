/** The launchd property lists in the repository parse and start the right programs the right way. */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { describe, it } from 'node:test';
import { parseArgs } from 'node:util';
import { CONFIG_OPTIONS } from '../../agent/config.js';
import { SERVE_OPTIONS } from '../../helper/config.js';
import { ROOT } from './harness.js';
import { parsePlist, type PlistValue } from './plist.js';

const bins = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { bin: Record<string, string> }).bin;

function load(path: string): Record<string, PlistValue> {
  const v = parsePlist(readFileSync(join(ROOT, path), 'utf8'));
  assert.ok(typeof v === 'object' && !Array.isArray(v), `${path}: the root is a dict`);
  return v as Record<string, PlistValue>;
}

function programArguments(plist: Record<string, PlistValue>): string[] {
  const args = plist.ProgramArguments;
  assert.ok(Array.isArray(args) && args.every((a) => typeof a === 'string') && args.length > 0);
  return args as string[];
}

describe('plist reader', () => {
  it('rejects a malformed property list', () => {
    assert.throws(() => parsePlist('<plist><dict><key>Label</key></dict></plist>'), /expected a value/);
    assert.throws(
      () => parsePlist('<plist><dict><key>A</key><true/><key>A</key><false/></dict></plist>'),
      /duplicate key/,
    );
    assert.throws(() => parsePlist('<plist><dict><key>A</key><string>x</dict></plist>'), /expected <\/string>/);
    assert.deepEqual(
      parsePlist('<plist><dict><key>A</key><string>a &amp; b</string><key>N</key><integer>3</integer></dict></plist>'),
      { A: 'a & b', N: 3 },
    );
  });
});

describe('launchd property lists', () => {
  it('com.mngd.helper runs "mngd-helper serve" as root, kept alive, logging to /var/log/mngd.log', () => {
    const p = load('helper/launchd/com.mngd.helper.plist');
    assert.equal(p.Label, 'com.mngd.helper');
    const args = programArguments(p);
    assert.equal(args[0], '/Library/PrivilegedHelperTools/mngd-helper');
    const bin = bins[basename(args[0]!)];
    assert.equal(bin, 'dist/helper/cli.js', 'the program is the mngd-helper bin');
    assert.ok(existsSync(join(ROOT, bin)));
    assert.equal(args[1], 'serve');
    // Every flag it passes is one the helper knows (strict parsing throws otherwise).
    const parsed = parseArgs({ args: args.slice(2), options: SERVE_OPTIONS, strict: true, allowPositionals: false });
    assert.equal(parsed.values.config, '/Library/Application Support/mngd/helper.json');
    assert.equal(p.UserName, 'root');
    assert.equal(p.KeepAlive, true);
    assert.equal(p.RunAtLoad, true);
    assert.equal(p.StandardErrorPath, '/var/log/mngd.log');
  });

  it('com.mngd.agent runs "mngd-agent run" and is kept alive, so it is relaunched after an update', () => {
    const p = load('agent/launchd/com.mngd.agent.plist');
    assert.equal(p.Label, 'com.mngd.agent');
    const args = programArguments(p);
    const bin = bins[basename(args[0]!)];
    assert.equal(bin, 'dist/agent/cli.js', 'the program is the mngd-agent bin');
    assert.ok(existsSync(join(ROOT, bin)));
    assert.equal(args[1], 'run');
    const parsed = parseArgs({ args: args.slice(2), options: CONFIG_OPTIONS, strict: true, allowPositionals: false });
    assert.equal(parsed.values.config, '/Library/Application Support/mngd/agent.json');
    assert.equal(p.KeepAlive, true, 'KeepAlive: launchd starts the new binary after the agent exits');
    assert.equal(p.RunAtLoad, true);
  });
});
