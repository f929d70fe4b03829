/**
 * The health gate's outbox (helper/outbox.ts): its outcomes wait, durably, until the agent
 * acknowledges them; an outcome recorded again keeps its one id; a torn file is said and started
 * afresh; at most OUTBOX_MAX wait.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { callbackLogger, silentLogger } from '../../helper/log.js';
import { Outbox, OUTBOX_MAX, outcomeId } from '../../helper/outbox.js';
import type { ReportEvent } from '../../schema/types.js';

const rollback = (version: string): ReportEvent => ({
  id: outcomeId('rollback', version),
  at: '2026-12-04T12:00:00.000Z',
  kind: 'rollback',
  from: version,
  to: '1.0.3',
  result: 'ok',
  code: 'HEALTH_DEADLINE',
  duration_ms: 120,
  bytes: null,
});

const make = () => {
  const lines: string[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'mngd-outbox-'));
  return {
    dir,
    lines,
    box: new Outbox(
      dir,
      callbackLogger((level, t) => lines.push(`${level} ${t}`)),
    ),
  };
};

describe('the health gate outbox', () => {
  it('names an outcome by what it is: the report accepts the id, and a version has one per kind', () => {
    assert.equal(outcomeId('rollback', '1.0.4'), 'rollback-1_0_4');
    assert.equal(outcomeId('health', '10.20.30.40'), 'health-10_20_30_40');
  });

  it('keeps outcomes until acknowledged, root-only, once per id', async () => {
    const { dir, box } = make();
    await box.add(rollback('1.0.4'));
    await box.add(rollback('1.0.4')); // recorded again after a crash: the same event
    assert.deepEqual(
      (await box.pending()).map((e) => e.id),
      ['rollback-1_0_4'],
    );
    assert.equal(statSync(join(dir, 'outbox.json')).mode & 0o777, 0o600);
    // a new helper process reads what the last one wrote
    const again = new Outbox(dir, silentLogger);
    assert.equal((await again.pending()).length, 1);
    assert.equal(await again.ack(['rollback-1_0_4', 'unknown-id']), 0);
    assert.deepEqual(await box.pending(), []);
  });

  it('keeps at most OUTBOX_MAX, dropping the oldest', async () => {
    const { box } = make();
    for (let i = 0; i <= OUTBOX_MAX; i++) await box.add(rollback(`2.0.${i}`));
    const ids = (await box.pending()).map((e) => e.id);
    assert.equal(ids.length, OUTBOX_MAX);
    assert.equal(ids[0], 'rollback-2_0_1');
  });

  it('a torn file is said (STATE_TORN) and started afresh: the helper goes on recording', async () => {
    const { dir, box, lines } = make();
    writeFileSync(join(dir, 'outbox.json'), '{"events":[{"id":"rollb');
    assert.deepEqual(await box.pending(), []);
    assert.match(lines.join('\n'), /^WARN .*outbox\.json is torn or unreadable \[STATE_TORN\]/m);
    await box.add(rollback('1.0.4'));
    assert.equal((await box.pending()).length, 1);
  });
});
