import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
  ] as const) {
    it(`refuses a state file holding ${what} with a message that names the file and the fix`, async () => {
      const dir = mkdtempSync(join(tmpdir(), 'mngd-hs-'));
      const store = fileAcceptedStore(dir, 'stable');
      await store.write({ k1: { sequence: 1, digest: 'x' } });
      const file = (await import('node:fs'))
        .readdirSync(dir, { recursive: true })
        .map(String)
        .find((f) => f.endsWith('.json'))!;
      writeFileSync(join(dir, file), text);
      await assert.rejects(store.read(), /is not a record of an accepted manifest; delete it to start over/);
    });
  }
});
