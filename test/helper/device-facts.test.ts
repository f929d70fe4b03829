/** The facts provider runs real programs: stand-ins printing what sw_vers and sysctl print on each kind of Mac. */
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { commandFacts } from '../../helper/device-facts.js';
import { macTools } from '../support/mac-tools.js';

describe('device facts from commands', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mngd-facts-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('reads Intel, Apple silicon and an x86_64 process under Rosetta', async () => {
    const cases = [
      ['12.7.6', 'intel', { macos: '12.7.6', hwArch: 'x86_64', translated: false }],
      ['14.6.1', 'apple', { macos: '14.6.1', hwArch: 'arm64', translated: false }],
      ['26.1', 'rosetta', { macos: '26.1', hwArch: 'arm64', translated: true }],
    ] as const;
    for (const [macos, kind, want] of cases)
      assert.deepEqual(await commandFacts(macTools(join(dir, kind), macos, kind))(), want);
  });

  it('a command that fails or is missing is DEVICE_FACTS, naming the command', async () => {
    const broken = macTools(join(dir, 'broken'), '14.6', 'apple', { swVersFails: true });
    await assert.rejects(commandFacts(broken)(), (e: Error & { code?: string }) => {
      assert.equal(e.code, 'DEVICE_FACTS');
      assert.match(e.message, /broken\/sw_vers failed \(exit 1: "sw_vers: unable to read/);
      return true;
    });
    const missing = { swVers: join(dir, 'no-such-sw_vers'), sysctl: broken.sysctl };
    await assert.rejects(commandFacts(missing)(), /no-such-sw_vers.*ENOENT/);
  });
});
