import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { describeFacts, hardwareFromSysctl, macosFromSwVers, type CommandResult } from '../../schema/device-facts.js';

const ok = (stdout: string): CommandResult => ({ exitCode: 0, stdout: `${stdout}\n`, stderr: '' });
const absent = (key: string): CommandResult => ({ exitCode: 1, stdout: '', stderr: `sysctl: unknown oid '${key}'\n` });

describe('device facts from what macOS prints', () => {
  it('reads the product version sw_vers prints', () => {
    for (const v of ['12.7.6', '13.0', '14.6.1', '15', '26.1']) assert.equal(macosFromSwVers('sw_vers', ok(v)), v);
  });

  it('refuses what is not a product version: a Darwin number, 10.16 (compatibility mode), junk, a failure', () => {
    const bad: [CommandResult, RegExp][] = [
      [ok('21.6.0'), /"21\.6\.0", not a macOS product version/],
      [ok('10.16'), /"10\.16"/],
      [ok(''), /not a macOS product version/],
      [
        { exitCode: 127, stdout: '', stderr: 'sw_vers: command not found' },
        /failed \(exit 127: "sw_vers: command not found"\)/,
      ],
      [{ exitCode: null, stdout: '', stderr: '', error: 'spawn /usr/bin/sw_vers ENOENT' }, /ENOENT/],
    ];
    for (const [r, want] of bad)
      assert.throws(
        () => macosFromSwVers('/usr/bin/sw_vers', r),
        (e: Error & { code?: string }) => e.code === 'DEVICE_FACTS' && want.test(e.message),
      );
  });

  it('Intel: hw.optional.arm64 is absent (an error, exit 1) and means x86_64 hardware', () => {
    assert.deepEqual(hardwareFromSysctl('sysctl', absent('hw.optional.arm64'), absent('sysctl.proc_translated')), {
      hwArch: 'x86_64',
      translated: false,
    });
    assert.deepEqual(hardwareFromSysctl('sysctl', ok('0'), ok('0')), { hwArch: 'x86_64', translated: false });
  });

  it('Apple silicon, native and under Rosetta: arm64 hardware either way', () => {
    assert.deepEqual(hardwareFromSysctl('sysctl', ok('1'), ok('0')), { hwArch: 'arm64', translated: false });
    assert.deepEqual(hardwareFromSysctl('sysctl', ok('1'), ok('1')), { hwArch: 'arm64', translated: true });
    // A translated process proves Apple silicon, whatever the other key said.
    assert.deepEqual(hardwareFromSysctl('sysctl', absent('hw.optional.arm64'), ok('1')).hwArch, 'arm64');
  });

  it('refuses an answer it does not know, rather than guess the hardware', () => {
    for (const r of [ok('2'), ok('yes'), { exitCode: 1, stdout: '', stderr: 'sysctl: permission denied' }])
      assert.throws(
        () => hardwareFromSysctl('/usr/sbin/sysctl', r, ok('0')),
        (e: Error & { code?: string }) => e.code === 'DEVICE_FACTS' && /hw\.optional\.arm64 failed/.test(e.message),
      );
  });

  it('names the facts for the log', () => {
    assert.equal(describeFacts({ macos: '12.7.6', hwArch: 'x86_64', translated: false }), 'macOS 12.7.6, x86_64');
    assert.equal(
      describeFacts({ macos: '14.6', hwArch: 'arm64', translated: true }),
      'macOS 14.6, arm64 (this process under Rosetta)',
    );
  });
});
