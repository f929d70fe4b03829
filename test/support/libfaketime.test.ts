/** Finding libfaketime on any architecture (libfaketime.ts), in scratch trees. */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { findLibfaketime, libfaketime } from './libfaketime.js';

function tree(...files: string[]): string {
  const root = mkdtempSync(join(tmpdir(), 'mngd-faketime-'));
  for (const f of files) {
    mkdirSync(dirname(join(root, f)), { recursive: true });
    writeFileSync(join(root, f), '');
  }
  return root;
}

describe('findLibfaketime', () => {
  it('finds it in the multiarch folder of any architecture, not only x86_64', () => {
    for (const arch of ['aarch64-linux-gnu', 'x86_64-linux-gnu', 'riscv64-linux-gnu']) {
      const root = tree(`usr/lib/${arch}/faketime/libfaketime.so.1`);
      assert.equal(findLibfaketime(root), join(root, 'usr', 'lib', arch, 'faketime', 'libfaketime.so.1'));
    }
  });

  it('finds it without a multiarch folder (/usr/lib/faketime, /usr/lib64/faketime)', () => {
    const a = tree('usr/lib/faketime/libfaketime.so.1');
    assert.equal(findLibfaketime(a), join(a, 'usr', 'lib', 'faketime', 'libfaketime.so.1'));
    const b = tree('usr/lib64/faketime/libfaketime.so.1');
    assert.equal(findLibfaketime(b), join(b, 'usr', 'lib64', 'faketime', 'libfaketime.so.1'));
  });

  it('answers undefined when it is not installed (the MT variant alone does not count)', () => {
    assert.equal(findLibfaketime(tree()), undefined);
    assert.equal(findLibfaketime(tree('usr/lib/aarch64-linux-gnu/faketime/libfaketimeMT.so.1')), undefined);
  });

  it('fails naming the package to install when it is missing', () => {
    assert.throws(() => libfaketime(tree()), /libfaketime\.so\.1 is not installed .*: apt-get install faketime/);
  });
});
