import { describe, it, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import {
  deviceFor,
  fixture,
  installed,
  installerFails,
  manifestBytes,
  newSigner,
  pkg,
  release,
  requestsTo,
  sha256,
  startCdn,
  startStandInHelper,
  warnings,
  type Cdn,
  type Fixture,
  type StandInHelper,
} from './support.js';

describe('agent check', () => {
  const signer = newSigner();
  const p102 = pkg('1.0.2');
  const p103 = pkg('1.0.3', 200_000);
  let cdn: Cdn;
  let helper: StandInHelper;
  let dir: string;
  const fixtures: Fixture[] = [];
  const make = async (current: string, deviceId?: string) => {
    const f = await fixture({ cdn, signer, helperSocket: helper.socketPath, current, ...(deviceId === undefined ? {} : { deviceId }) });
    fixtures.push(f);
    return f;
  };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mngd-check-'));
    cdn = await startCdn();
    cdn.addPkg(p102);
    cdn.addPkg(p103);
    helper = await startStandInHelper(dir);
  });
  after(async () => {
    await helper.close();
    await cdn.close();
    await Promise.all(fixtures.map((f) => f.cleanup()));
    await rm(dir, { recursive: true, force: true });
  });
  beforeEach(() => {
    helper.received.length = 0;
    helper.reply = installed;
    cdn.srv.requests.length = 0;
  });

  it('updates end to end: downloads, verifies, hands the exact manifest and a verified package to the helper', async () => {
    const m = manifestBytes(signer, { releases: [release(p103, cdn.srv.origin), release(p102, cdn.srv.origin)] });
    cdn.setManifest(m);
    const f = await make('1.0.2');
    const r = await f.check();
    assert.equal(r.outcome, 'updated');
    assert.equal(r.target, '1.0.3');
    assert.equal(r.blocked, false);
    assert.equal(helper.received.length, 1);
    const got = helper.received[0]!;
    assert.equal(got.request.version, '1.0.3');
    assert.equal(got.request.manifest, m.toString('utf8'), 'the raw manifest, byte for byte, so the helper verifies the same thing');
    assert.equal(got.sha256, sha256(p103.bytes));
    assert.equal(dirname(got.request.pkg_path), f.state.downloads);
    assert.equal((await stat(f.state.downloads)).mode & 0o777, 0o700);
    assert.equal((await stat(f.state.dir)).mode & 0o777, 0o700);
    assert.deepEqual(await readdir(f.state.downloads), [], 'the installed package is removed');
    assert.ok(f.log.of('INFO').includes('SelfUpdate: install complete 1.0.2 -> 1.0.3'));
    assert.ok(f.log.of('INFO').some((l) => /check: current 1\.0\.2, manifest stable seq \d+ offers 1\.0\.3 \(rollout 100%, this device in cohort\) -> updating/.test(l)));
    assert.deepEqual(warnings(f.log), []);
  });

  it('answers an unchanged manifest with a 304: no body transferred, the cached copy verified again', async () => {
    cdn.setManifest(manifestBytes(signer, { releases: [release(p103, cdn.srv.origin), release(p102, cdn.srv.origin)] }));
    const f = await make('1.0.3');
    const first = await f.check();
    assert.equal(first.manifest?.source, 'downloaded');
    const bodyBefore = cdn.srv.bodyBytes;
    const second = await f.check();
    assert.equal(second.outcome, 'up-to-date');
    assert.equal(second.manifest?.source, 'cached');
    const reqs = requestsTo(cdn, '/latest.json');
    assert.equal(reqs.length, 2);
    assert.equal(reqs[0]!.headers['if-none-match'], undefined);
    assert.match(String(reqs[1]!.headers['if-none-match']), /^"m\d+-/);
    assert.equal(cdn.srv.bodyBytes, bodyBefore, 'a 304 carries no body');
    // Freeze: the cached copy is verified again, so it cannot outlive its expiry by being unchanged.
    f.clock.now = new Date('2026-12-12T00:00:00Z');
    const third = await f.check();
    assert.equal(third.outcome, 'failed');
    assert.equal(third.code, 'MANIFEST_EXPIRED');
    assert.equal(third.blocked, false);
  });

  it('does nothing when the current version is the newest', async () => {
    cdn.setManifest(manifestBytes(signer, { releases: [release(p103, cdn.srv.origin), release(p102, cdn.srv.origin)] }));
    const f = await make('1.0.3');
    const r = await f.check();
    assert.equal(r.outcome, 'up-to-date');
    assert.equal(r.target, null);
    assert.equal(requestsTo(cdn, p103.path).length, 0);
    assert.equal(helper.received.length, 0);
    assert.ok(f.log.of('INFO').some((l) => l.includes('offers nothing newer (newest 1.0.3) -> up to date')));
    assert.deepEqual(warnings(f.log), []);
  });

  it('never downgrades when the current version was yanked', async () => {
    // 1.0.3 is yanked: the manifest falls back to 1.0.2.
    cdn.setManifest(manifestBytes(signer, { releases: [release(p103, cdn.srv.origin, { active: false }), release(p102, cdn.srv.origin)] }));
    const f = await make('1.0.3');
    const r = await f.check();
    assert.equal(r.outcome, 'up-to-date');
    assert.equal(r.target, null);
    assert.equal(requestsTo(cdn, p102.path).length, 0);
    assert.equal(helper.received.length, 0);
  });

  it('respects the rollout cohort: outside it stays, inside it updates', async () => {
    cdn.setManifest(manifestBytes(signer, { releases: [release(p103, cdn.srv.origin, { rollout_percent: 10 }), release(p102, cdn.srv.origin)] }));
    const out = await make('1.0.2', deviceFor('1.0.3', 10, false));
    const r1 = await out.check();
    assert.equal(r1.outcome, 'up-to-date');
    assert.equal(r1.target, null);
    assert.equal(helper.received.length, 0);
    assert.ok(out.log.of('INFO').some((l) => l.includes('offers 1.0.3 (rollout 10%, this device not in cohort) -> staying on 1.0.2')));

    const inside = await make('1.0.2', deviceFor('1.0.3', 10, true));
    const r2 = await inside.check();
    assert.equal(r2.outcome, 'updated');
    assert.equal(helper.received.length, 1);
    assert.ok(inside.log.of('INFO').some((l) => l.includes('offers 1.0.3 (rollout 10%, this device in cohort) -> updating')));
  });

  it('lets a floor force the update past the rollout share, and reports checkin blocked until it is done', async () => {
    cdn.setManifest(
      manifestBytes(signer, { releases: [release(p103, cdn.srv.origin, { rollout_percent: 10, min_required_version: '1.0.3' }), release(p102, cdn.srv.origin)] }),
    );
    const f = await make('1.0.2', deviceFor('1.0.3', 10, false));
    helper.reply = installerFails;
    const failed = await f.check();
    assert.equal(failed.outcome, 'failed');
    assert.equal(failed.step, 'install');
    assert.equal(failed.forced, true);
    assert.equal(failed.blocked, true, 'still below the floor: checkin stays blocked');
    assert.equal(failed.floor, '1.0.3');
    assert.ok(f.log.of('INFO').some((l) => l.includes('is below the floor 1.0.3: forced update to 1.0.3 (rollout ignored)')));
    helper.reply = installed;
    const done = await f.check();
    assert.equal(done.outcome, 'updated');
    assert.equal(done.blocked, false);
  });
});
