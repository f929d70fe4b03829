/**
 * The test CA and a server certificate for 127.0.0.1 / localhost, made once per test process
 * (scripts/loopback-tls.ts does the work; the demo uses it too).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeLoopbackTls, type LoopbackTls } from '../../scripts/loopback-tls.js';

export type TestTls = LoopbackTls;

let cached: TestTls | undefined;

export function testTls(): TestTls {
  cached ??= makeLoopbackTls(mkdtempSync(join(tmpdir(), 'mngd-tls-')));
  return cached;
}
