import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { escapeControl, fileLogger } from '../../agent/log.js';

describe('agent log', () => {
  it('writes one line per event, whatever the message holds', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'mngd-log-')), 'logs', 'mngd.log');
    const log = fileLogger({ file, now: () => new Date('2026-11-27T02:00:00Z') });
    log.warn(
      'SelfUpdate: install failed: output: line one\nINFO SelfUpdate: install complete 1.0 -> 9.9\rfake\x1b[2Khidden',
    );
    const text = readFileSync(file, 'utf8');
    assert.equal(text.split('\n').length, 2, text);
    assert.equal(
      text,
      '2026-11-27T02:00:00.000Z WARN SelfUpdate: install failed: output: line one | INFO SelfUpdate: install complete 1.0 -> 9.9\\x0dfake\\x1b[2Khidden\n',
    );
  });

  it('leaves ordinary text alone', () => {
    assert.equal(
      escapeControl('SelfUpdate: check: current 1.0.2 -> up to date (é, 100%)'),
      'SelfUpdate: check: current 1.0.2 -> up to date (é, 100%)',
    );
  });
});
