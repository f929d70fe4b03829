import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileLogger } from '../../helper/log.js';

describe('the helper log', () => {
  it("writes '<time> <LEVEL> mngd-helper[pid]: <text>', the level in the agent's column and words", () => {
    const dir = mkdtempSync(join(tmpdir(), 'mngd-hlog-'));
    try {
      const file = join(dir, 'log', 'mngd.log');
      const log = fileLogger(file, () => new Date('2026-11-27T03:00:01.123Z'));
      log.info('SelfUpdate: helper install complete 1.0.2 -> 1.0.3 (installer exit 0)');
      log.warn('SelfUpdate: helper install refused or failed 1.0.2 -> 1.0.4: PKG_REFUSED: no\nforged line');
      log.error('SelfUpdate: rollback 1.0.4 -> 1.0.3 failed: EIO; it is tried again when the helper starts');
      assert.equal(
        readFileSync(file, 'utf8'),
        [
          `2026-11-27T03:00:01.123Z INFO mngd-helper[${process.pid}]: SelfUpdate: helper install complete 1.0.2 -> 1.0.3 (installer exit 0)`,
          `2026-11-27T03:00:01.123Z WARN mngd-helper[${process.pid}]: SelfUpdate: helper install refused or failed 1.0.2 -> 1.0.4: PKG_REFUSED: no\\x0aforged line`,
          `2026-11-27T03:00:01.123Z ERROR mngd-helper[${process.pid}]: SelfUpdate: rollback 1.0.4 -> 1.0.3 failed: EIO; it is tried again when the helper starts`,
          '',
        ].join('\n'),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
