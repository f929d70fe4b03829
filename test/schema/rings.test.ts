import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { hashedRings, MAX_RING_MEMBERS, parseRingFile, ringHash } from '../../schema/rings.js';

describe('ring files and their hashes', () => {
  it('reads one id per line, skipping blank lines, comments and spaces around an id', () => {
    const r = parseRingFile('# canary Macs (IT desk)\nmac-1\n\n  mac-2  \r\n# mac-3 left\nC02XK0AAJG5H\n');
    assert.deepEqual(r, { ids: ['mac-1', 'mac-2', 'C02XK0AAJG5H'], problems: [] });
  });

  it('names a malformed line, a duplicate with both lines, and the 1,001st id', () => {
    const bad = parseRingFile('mac-1\nmac 2\nmac-3\nmac-1\n' + 'x'.repeat(129) + '\n');
    assert.deepEqual(
      bad.problems.map((p) => [p.kind, p.line]),
      [
        ['malformed', 2],
        ['duplicate', 4],
        ['malformed', 5],
      ],
    );
    assert.match(bad.problems[1]!.message, /line 4 repeats the device id of line 1.*delete one of lines 1 and 4/);
    assert.match(bad.problems[0]!.message, /not a device id; expected one id per line/);
    const ids = Array.from({ length: MAX_RING_MEMBERS + 1 }, (_, i) => `mac-${i}`);
    const many = parseRingFile(ids.join('\n'));
    assert.deepEqual(
      many.problems.map((p) => [p.kind, p.line]),
      [['too_many', MAX_RING_MEMBERS + 1]],
    );
    assert.equal(parseRingFile(ids.slice(0, MAX_RING_MEMBERS).join('\n')).problems.length, 0);
  });

  it('hashes each id as SHA-256(ring_salt + "/" + device_id), sorted, no plain id left', () => {
    const salt = 'ab'.repeat(16);
    const rings = hashedRings(salt, { pilot: ['mac-2', 'mac-1'], canary: ['mac-9'] });
    assert.deepEqual(Object.keys(rings), ['canary', 'pilot']);
    assert.deepEqual(rings['pilot'], [ringHash(salt, 'mac-1'), ringHash(salt, 'mac-2')].sort());
    // computed independently, so the test does not take ringHash's word for itself
    assert.equal(ringHash(salt, 'mac-1'), createHash('sha256').update(`${salt}/mac-1`).digest('hex'));
    assert.doesNotMatch(JSON.stringify(rings), /mac-/);
  });
});
