import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { callbackLogger } from '../../helper/log.js';
import { fileAcceptedStore } from '../../helper/state.js';

describe('helper accepted-manifest state', () => {
  it('remembers what it wrote', async () => {
    const store = fileAcceptedStore(mkdtempSync(join(tmpdir(), 'mngd-hs-')), 'stable');
    assert.equal(await store.read(), null);
    await store.write({ k1: { sequence: 7, digest: 'ab' } });
    assert.deepEqual(await store.read(), { k1: { sequence: 7, digest: 'ab' } });
  });

  it('reads the single mark of before as the legacy mark', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mngd-hs-'));
    writeFileSync(join(dir, 'accepted-stable.json'), '{"sequence": 7, "digest": "ab"}\n');
    assert.deepEqual(await fileAcceptedStore(dir, 'stable').read(), { '*': { sequence: 7, digest: 'ab' } });
  });

  for (const [what, text] of [
    ['null', 'null'],
    ['a number', '42'],
    ['a record without a digest', '{"sequence": 1}'],
    ['half a record (torn)', '{"sequence": 12, "dig'],
    ['nothing (an empty file)', ''],
  ] as const) {
    it(`reads a state file holding ${what} as damaged: the previous good copy, logged once (STATE_TORN)`, async () => {
      const dir = mkdtempSync(join(tmpdir(), 'mngd-hs-'));
      const lines: string[] = [];
      const store = fileAcceptedStore(
        dir,
        'stable',
        1,
        callbackLogger((level, l) => lines.push(`${level} ${l}`)),
      );
      await store.read();
      await store.write({ k1: { sequence: 1, digest: 'x' } });
      await store.read();
      await store.write({ k1: { sequence: 2, digest: 'y' } });
      writeFileSync(join(dir, 'accepted-stable.json'), text);
      assert.deepEqual(await store.read(), { k1: { sequence: 1, digest: 'x' } });
      assert.deepEqual(await store.read(), { k1: { sequence: 1, digest: 'x' } });
      assert.equal(lines.length, 1, lines.join('\n'));
      assert.match(
        lines[0]!,
        /^WARN SelfUpdate: helper state: .* is torn or unreadable \[STATE_TORN\]; using the previous good copy \(sequence 1\)/,
      );
      // The next accepted manifest rewrites it; the damaged one never becomes the previous copy.
      await store.write({ k1: { sequence: 3, digest: 'z' } });
      assert.deepEqual(await store.read(), { k1: { sequence: 3, digest: 'z' } });
      assert.deepEqual(JSON.parse(readFileSync(join(dir, 'accepted-stable.json.prev'), 'utf8')), {
        k1: { sequence: 1, digest: 'x' },
      });
    });
  }

  it('leaves no temporary file after its writes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mngd-hs-'));
    const store = fileAcceptedStore(dir, 'stable');
    for (let i = 1; i <= 3; i++) {
      await store.read();
      await store.write({ k: { sequence: i, digest: String(i) } });
    }
    assert.deepEqual(readdirSync(dir).sort(), ['accepted-stable.json', 'accepted-stable.json.prev']);
  });
});
