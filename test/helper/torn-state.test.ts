/**
 * A torn state file: `accepted-stable.json` cut short, as a crash after a write that was never
 * fsynced leaves it. The real `mngd-helper serve` must go on installing what verifies (before,
 * every install answered INTERNAL until someone deleted the file), say so once in its log
 * (STATE_TORN), and fall back to the previous good copy it keeps beside the file.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { requestInstall, sendManifest } from '../../helper/client.js';
import { makePkg, newKey, releaseOf, signedManifest, startHelper, type HelperProcess } from './harness.js';

const key = newKey();
/** The highest sequence among the rollback marks a state file holds (one per signing key). */
const highest = (text: string): number =>
  Math.max(...Object.values(JSON.parse(text) as Record<string, { sequence: number }>).map((m) => m.sequence));

describe('mngd-helper with a torn state file', () => {
  let helper: HelperProcess;
  let work: string;
  let file: string;
  before(async () => {
    work = mkdtempSync(join(tmpdir(), 'mngd-helper-torn-'));
    helper = await startHelper({ key, installed: '1.0.2' });
    file = join(helper.dir, 'state', 'accepted-stable.json');
  });
  after(async () => {
    await helper.stop();
    rmSync(work, { recursive: true, force: true });
    rmSync(helper.dir, { recursive: true, force: true });
  });
  const tornLines = () =>
    readFileSync(helper.logFile, 'utf8')
      .split('\n')
      .filter((l) => l.includes('[STATE_TORN]'));
  const tear = () => {
    const whole = readFileSync(file, 'utf8');
    writeFileSync(file, whole.slice(0, Math.floor(whole.length / 2)));
  };

  it('installs a manifest that verifies, logs the torn file once, and rewrites it', async () => {
    mkdirSync(join(helper.dir, 'state'), { recursive: true });
    writeFileSync(file, '{"sequence":17957');
    const p103 = makePkg(work, '1.0.3');
    const m1 = signedManifest([releaseOf(p103), releaseOf(makePkg(work, '1.0.2'))], [key]);
    const r1 = await requestInstall(helper.socket, { manifest: m1, version: '1.0.3', pkg_path: p103.path });
    assert.equal(r1.ok, true, JSON.stringify(r1));
    assert.equal(helper.installedVersion(), '1.0.3');
    const lines = tornLines();
    assert.equal(lines.length, 1, lines.join('\n'));
    assert.ok(lines[0]!.includes(file) && lines[0]!.includes('nothing to do'), lines[0]);
    const seq1 = (JSON.parse(m1) as { signed: { sequence: number } }).signed.sequence;
    assert.equal(highest(readFileSync(file, 'utf8')), seq1);

    const p104 = makePkg(work, '1.0.4');
    const m2 = signedManifest([releaseOf(p104), releaseOf(p103)], [key]);
    const r2 = await requestInstall(helper.socket, { manifest: m2, version: '1.0.4', pkg_path: p104.path });
    assert.equal(r2.ok, true, JSON.stringify(r2));
    assert.equal(tornLines().length, 1, 'logged once, not at every install');
    assert.equal(highest(readFileSync(`${file}.prev`, 'utf8')), seq1);
  });

  it('keeps refusing a replayed older manifest when the file is torn: the previous good copy stands in', async () => {
    const p = makePkg(work, '1.0.9');
    const old = signedManifest([releaseOf(p)], [key]);
    const mid = signedManifest([releaseOf(p)], [key]);
    const newest = signedManifest([releaseOf(p)], [key]);
    for (const m of [old, mid, newest]) assert.equal((await sendManifest(helper.socket, m)).ok, true);
    tear();
    const replay = await sendManifest(helper.socket, old);
    assert.equal(replay.ok, false, JSON.stringify(replay));
    assert.equal(!replay.ok && replay.error.code, 'MANIFEST_ROLLBACK');
    const midSeq = (JSON.parse(mid) as { signed: { sequence: number } }).signed.sequence;
    const last = tornLines().at(-1)!;
    assert.ok(last.includes(`using the previous good copy (sequence ${midSeq})`), last);
  });
});
