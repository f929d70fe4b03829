import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compareMacos, explainMacosVersion, isMacosVersion, macosOfDarwin, macosWithin } from '../../schema/macos.js';
import { InternalError } from '../../schema/errors.js';

describe('macOS product versions', () => {
  it('accepts what sw_vers -productVersion prints', () => {
    for (const v of ['10.15', '10.15.7', '11.0', '12.7.6', '13', '13.6.1', '14.0', '15.7', '26.1'])
      assert.ok(isMacosVersion(v), v);
  });

  it('refuses Darwin numbers and naming each one by its macOS', () => {
    assert.equal(isMacosVersion('21.0'), false);
    assert.match(explainMacosVersion('21.0')!, /21\.0 looks like a Darwin \(kernel\) version; macOS 12 is 12\.0/);
    assert.match(explainMacosVersion('25.1.0')!, /macOS 26 is 26\.0/);
    assert.match(explainMacosVersion('19.6.0')!, /macOS 10\.15 is 10\.15/);
    assert.equal(macosOfDarwin(24), '15');
    assert.equal(macosOfDarwin(26), null);
  });

  it('refuses what is no version at all, with the fix', () => {
    for (const v of ['', 'v13', '13.0.0.1', '13.01', '10', '9.0', '13.x'])
      assert.ok(explainMacosVersion(v) !== null && !isMacosVersion(v), v);
    assert.match(explainMacosVersion('10')!, /needs its minor version/);
  });

  it('compares part by part as integers (13 == 13.0, 13.10 > 13.9, 26.1 > 15.7)', () => {
    assert.equal(compareMacos('13', '13.0.0'), 0);
    assert.equal(compareMacos('13.10', '13.9'), 1);
    assert.equal(compareMacos('26.1', '15.7'), 1);
    assert.equal(compareMacos('10.15.7', '11.0'), -1);
    assert.throws(() => compareMacos('21.0', '13.0'), InternalError);
  });

  it('is within a range with either end open', () => {
    assert.ok(macosWithin('13.6.1', { macos_min: '13.0', macos_max: null }));
    assert.ok(!macosWithin('12.7.6', { macos_min: '13.0', macos_max: null }));
    assert.ok(macosWithin('14.0', { macos_min: null, macos_max: '14.0' }));
    assert.ok(!macosWithin('14.0.1', { macos_min: null, macos_max: '14.0' }));
    assert.ok(macosWithin('12.0', { macos_min: null, macos_max: null }));
  });
});
