import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { canonicalize } from '../../schema/canonical.js';
import { InternalError } from '../../schema/errors.js';
import { FIXTURES } from '../support/cli.js';

const dir = join(FIXTURES, 'rfc8785');

describe('canonicalize (RFC 8785)', () => {
  const inputs = readdirSync(join(dir, 'input')).filter((f) => f.endsWith('.json'));

  it('has the public conformance vectors', () => {
    assert.ok(inputs.length >= 6);
  });

  for (const name of inputs) {
    it(`matches the conformance vector ${name} byte for byte`, () => {
      const input = JSON.parse(readFileSync(join(dir, 'input', name), 'utf8')) as unknown;
      const expected = readFileSync(join(dir, 'output', name));
      assert.deepEqual(Buffer.from(canonicalize(input), 'utf8'), expected);
    });
  }

  it('sorts keys by UTF-16 code units and drops no values', () => {
    assert.equal(
      canonicalize({ b: 1, a: [true, null, 'x'], '\u20ac': 1, '\ud83d\ude00': 2, A: {} }),
      '{"A":{},"a":[true,null,"x"],"b":1,"€":1,"😀":2}',
    );
  });

  it('refuses values JSON cannot hold', () => {
    assert.throws(() => canonicalize(Number.NaN), InternalError);
    assert.throws(() => canonicalize({ f: () => 1 }), InternalError);
  });
});
