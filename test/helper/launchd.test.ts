/**
 * The launchd property lists in the repository: valid XML property lists (read by Python's
 * plistlib as well as ours), each starting the installed single executable the right way, as the
 * documented user, kept alive and throttled, with log paths that never collide.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parseArgs } from 'node:util';
import { CONFIG_OPTIONS } from '../../agent/config.js';
import { SERVE_OPTIONS } from '../../helper/config.js';
import { AGENT_USER, MAC_LAYOUT } from '../../scripts/package/layout.js';
import { ROOT } from './harness.js';
import { parsePlist, type PlistValue } from './plist.js';

const AGENT_PLIST = 'agent/launchd/com.mngd.agent.plist';
const HELPER_PLIST = 'helper/launchd/com.mngd.helper.plist';

function load(path: string): Record<string, PlistValue> {
  const v = parsePlist(readFileSync(join(ROOT, path), 'utf8'));
  assert.ok(typeof v === 'object' && !Array.isArray(v), `${path}: the root is a dict`);
  // A second, independent reader of the XML plist format: what it reads must be the same.
  const py = execFileSync('python3', [
    '-c',
    'import json, plistlib, sys; print(json.dumps(plistlib.load(open(sys.argv[1], "rb"), fmt=plistlib.FMT_XML)))',
    join(ROOT, path),
  ]);
  assert.deepEqual(JSON.parse(py.toString()), v, `${path}: plistlib reads it otherwise`);
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
  it('com.mngd.helper runs the installed "mngd-helper serve" as root, kept alive and throttled', () => {
    const p = load(HELPER_PLIST);
    assert.equal(p.Label, 'com.mngd.helper');
    const args = programArguments(p);
    assert.equal(args[0], `/${MAC_LAYOUT.helperBin}`);
    assert.equal(args[1], 'serve');
    // Every flag it passes is one the helper knows (strict parsing throws otherwise).
    const parsed = parseArgs({ args: args.slice(2), options: SERVE_OPTIONS, strict: true, allowPositionals: false });
    assert.equal(parsed.values.config, `/${MAC_LAYOUT.helperConfig}`);
    assert.equal(p.UserName, 'root');
    assert.equal(p.KeepAlive, true);
    assert.equal(p.RunAtLoad, true);
    assert.equal(p.ThrottleInterval, 10);
    assert.equal(p.ExitTimeOut, 60, 'time for an install in progress to be answered');
  });

  it('com.mngd.agent is a daemon: one per Mac, with nobody logged in, as the unprivileged user, relaunched after an update', () => {
    const p = load(AGENT_PLIST);
    assert.equal(p.Label, 'com.mngd.agent');
    const args = programArguments(p);
    assert.equal(args[0], `/${MAC_LAYOUT.agentBin}`);
    assert.equal(args[1], 'run');
    const parsed = parseArgs({ args: args.slice(2), options: CONFIG_OPTIONS, strict: true, allowPositionals: false });
    assert.equal(parsed.values.config, `/${MAC_LAYOUT.agentConfig}`);
    assert.equal(p.UserName, AGENT_USER);
    assert.equal(p.GroupName, AGENT_USER, "the helper's socket group");
    assert.equal(p.LimitLoadToSessionType, undefined, 'a LaunchDaemon runs in no login session');
    assert.equal(p.KeepAlive, true, 'KeepAlive: launchd starts the new binary after the agent exits');
    assert.equal(p.RunAtLoad, true);
    assert.equal(p.ThrottleInterval, 10);
  });

  it('give each process its own log files: its own log, and launchd capture elsewhere, all rotated', () => {
    const agent = load(AGENT_PLIST);
    const helper = load(HELPER_PLIST);
    const files = [
      `/${MAC_LAYOUT.agentLog}`,
      agent.StandardOutPath,
      `/${MAC_LAYOUT.helperLog}`,
      helper.StandardOutPath,
    ] as string[];
    assert.equal(agent.StandardErrorPath, agent.StandardOutPath);
    assert.equal(helper.StandardErrorPath, helper.StandardOutPath);
    assert.equal(new Set(files).size, files.length, `log paths collide: ${files.join(', ')}`);
    assert.equal(files[2], '/var/log/mngd.log', 'the helper side stays where users look for it');
    const rotated = readFileSync(join(ROOT, 'packaging/macos/newsyslog.conf'), 'utf8')
      .split('\n')
      .filter((l) => l.startsWith('/'))
      .map((l) => l.split(/\s+/)[0]);
    assert.deepEqual([...rotated].sort(), [...files].sort(), 'newsyslog rotates exactly these');
  });
});
