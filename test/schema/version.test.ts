import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { compareVersions, explainVersion, isVersion, parseVersion, sortNewestFirst } from '../../schema/version.js';

// Mostly small parts, so equal and near-equal versions (1.0 and 1.0.0, 1.2 and 1.3) are drawn often;
// sometimes huge ones, up to the limit.
const part = fc.oneof(
  { weight: 4, arbitrary: fc.integer({ min: 0, max: 3 }) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 999_999_999 }) },
);
const version = fc.array(part, { minLength: 1, maxLength: 4 }).map((p) => p.join('.'));

describe('versions', () => {
  it('accepts dotted numeric versions of 1 to 4 parts', () => {
    for (const v of ['1', '1.0.1', '10.2.0.17', '0', '999999999.0']) assert.ok(isVersion(v), v);
  });

  it('rejects v-prefixes, suffixes, leading zeros, empty parts, five parts and huge parts', () => {
    for (const v of [
      'v1.0',
      '1.0.0-beta',
      '01.2',
      '1..2',
      '1.2.3.4.5',
      '',
      '1.',
      '.1',
      '1000000000',
      ' 1.0',
      '1.0 ',
      '1,0',
    ]) {
      assert.equal(isVersion(v), false, v);
      assert.equal(parseVersion(v), null, v);
      assert.ok(explainVersion(v), v);
    }
  });

  it('compares part by part as integers (1.10 > 1.9) and treats missing parts as 0 (1.0 == 1.0.0)', () => {
    assert.ok(compareVersions('1.10', '1.9') > 0);
    assert.equal(compareVersions('1.0', '1.0.0'), 0);
    assert.equal(compareVersions('1', '1.0.0.0'), 0);
    assert.ok(compareVersions('1.0.1', '1.0') > 0);
    assert.ok(compareVersions('2', '1.999999999.999999999.999999999') > 0);
    assert.throws(() => compareVersions('v1', '1'));
  });

  it('is a total order: antisymmetric, transitive, total (property)', () => {
    fc.assert(
      fc.property(version, version, version, (a, b, c) => {
        const ab = compareVersions(a, b);
        // Summed, not negated: -Math.sign(0) is -0, which strict equality tells from 0 (a == b).
        assert.equal(Math.sign(ab) + Math.sign(compareVersions(b, a)), 0);
        assert.equal(compareVersions(a, a), 0);
        if (ab <= 0 && compareVersions(b, c) <= 0) assert.ok(compareVersions(a, c) <= 0);
      }),
      { numRuns: 5000 },
    );
  });

  it('ignores trailing zero parts (property)', () => {
    fc.assert(
      fc.property(fc.array(part, { minLength: 1, maxLength: 3 }), (parts) => {
        const v = parts.join('.');
        assert.equal(compareVersions(v, `${v}.0`), 0);
      }),
    );
  });

  it('agrees with comparing the integer tuples (property)', () => {
    fc.assert(
      fc.property(
        fc.array(part, { minLength: 1, maxLength: 4 }),
        fc.array(part, { minLength: 1, maxLength: 4 }),
        (a, b) => {
          const pad = (x: number[]) => [...x, 0, 0, 0].slice(0, 4);
          const [pa, pb] = [pad(a), pad(b)];
          const i = pa.findIndex((x, k) => x !== pb[k]);
          const expected = i === -1 ? 0 : Math.sign(pa[i]! - pb[i]!);
          assert.equal(compareVersions(a.join('.'), b.join('.')), expected);
        },
      ),
    );
  });

  it('sorts newest first', () => {
    assert.deepEqual(
      sortNewestFirst([{ version: '1.9' }, { version: '1.10' }, { version: '1.0.1' }]).map((r) => r.version),
      ['1.10', '1.9', '1.0.1'],
    );
    assert.deepEqual(
      sortNewestFirst([{ v: '2' }, { v: '10.0.0.1' }], (x) => x.v).map((x) => x.v),
      ['10.0.0.1', '2'],
    );
  });

  it('sorts as compareVersions orders, keeping equal versions in their order (property)', () => {
    fc.assert(
      fc.property(fc.array(version, { maxLength: 30 }), (versions) => {
        const items = versions.map((v, i) => ({ version: v, i }));
        const sorted = sortNewestFirst(items);
        for (let k = 1; k < sorted.length; k++) {
          const d = compareVersions(sorted[k - 1]!.version, sorted[k]!.version);
          assert.ok(
            d > 0 || (d === 0 && sorted[k - 1]!.i < sorted[k]!.i),
            `${sorted[k - 1]!.version} before ${sorted[k]!.version}`,
          );
        }
      }),
    );
  });
});
