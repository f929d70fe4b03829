import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, readdir, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { errorReply } from '../../helper/protocol.js';
import { bucket } from '../../schema/choose.js';
import { countsTowardCooldown } from '../../agent/cooldown.js';
import {
  agentWorld,
  deviceFor,
  helperClient,
  installed,
  installerFails,
  manifestBytes,
  pkg,
  release,
  requestsTo,
  sha256,
  warnings,
  type StandInReply,
} from './support.js';

/** The bucket as the check line writes it: two decimals, truncated. */
const bucketOf = (deviceId: string, version: string) => (Math.floor(bucket(deviceId, version) * 100) / 100).toFixed(2);

describe('agent check', () => {
  const p102 = pkg('1.0.2');
  const p103 = pkg('1.0.3', 200_000);
  const w = agentWorld([p102, p103]);
  const make = (current: string, deviceId?: string) =>
    w.make({ current, ...(deviceId === undefined ? {} : { deviceId }) });

  it('updates end to end: downloads, verifies, hands the exact manifest and a verified package to the helper', async () => {
    const m = manifestBytes(w.signer, { releases: [release(p103, w.cdn.srv.origin), release(p102, w.cdn.srv.origin)] });
    w.cdn.setManifest(m);
    const f = await make('1.0.2');
    const r = await f.check();
    assert.equal(r.outcome, 'updated');
    assert.equal(r.target, '1.0.3');
    assert.equal(r.blocked, false);
    assert.equal(w.helper.received.length, 1);
    const got = w.helper.received[0]!;
    assert.equal(got.request.version, '1.0.3');
    assert.equal(
      got.request.manifest,
      m.toString('utf8'),
      'the raw manifest, byte for byte, so the helper verifies the same thing',
    );
    assert.equal(got.sha256, sha256(p103.bytes));
    assert.equal(dirname(got.request.pkg_path), f.state.downloads);
    assert.equal((await stat(f.state.downloads)).mode & 0o777, 0o700);
    assert.equal((await stat(f.state.dir)).mode & 0o777, 0o700);
    assert.deepEqual(await readdir(f.state.downloads), [], 'the installed package is removed');
    assert.ok(f.log.of('INFO').includes('SelfUpdate: install complete 1.0.2 -> 1.0.3'));
    assert.ok(
      f.log
        .of('INFO')
        .some((l) =>
          /check: current 1\.0\.2, manifest stable seq \d+ offers 1\.0\.3 \(rollout 100%, this device in cohort, bucket \d+\.\d\d\) -> updating/.test(
            l,
          ),
        ),
    );
    assert.deepEqual(warnings(f.log), []);
  });

  it('answers an unchanged manifest with a 304: no body transferred, the cached copy verified again', async () => {
    w.cdn.setManifest(
      manifestBytes(w.signer, { releases: [release(p103, w.cdn.srv.origin), release(p102, w.cdn.srv.origin)] }),
    );
    const f = await make('1.0.3');
    const first = await f.check();
    assert.equal(first.manifest?.source, 'downloaded');
    const bodyBefore = w.cdn.srv.bodyBytes;
    const stateBefore = await stat(join(f.state.dir, 'state.json'));
    const second = await f.check();
    assert.equal(
      (await stat(join(f.state.dir, 'state.json'))).mtimeMs,
      stateBefore.mtimeMs,
      'an unchanged check writes nothing',
    );
    assert.equal(second.outcome, 'up-to-date');
    assert.equal(second.manifest?.source, 'cached');
    const reqs = requestsTo(w.cdn, '/latest.json');
    assert.equal(reqs.length, 2);
    assert.equal(reqs[0]!.headers['if-none-match'], undefined);
    assert.match(String(reqs[1]!.headers['if-none-match']), /^"m\d+-/);
    assert.equal(w.cdn.srv.bodyBytes, bodyBefore, 'a 304 carries no body');
    // Freeze: the cached copy is verified again, so it cannot outlive its expiry by being unchanged.
    f.clock.now = new Date('2026-12-12T00:00:00Z');
    const third = await f.check();
    assert.equal(third.outcome, 'failed');
    assert.equal(third.code, 'MANIFEST_EXPIRED');
    assert.equal(third.blocked, false);
  });

  it('hands every manifest it verified to the helper, raw, downloaded or unchanged (304), and never an unverified one', async () => {
    const bytes = manifestBytes(w.signer, {
      releases: [release(p103, w.cdn.srv.origin), release(p102, w.cdn.srv.origin)],
    });
    w.cdn.setManifest(bytes);
    const f = await make('1.0.3');
    assert.equal((await f.check()).manifest?.source, 'downloaded');
    assert.equal((await f.check()).manifest?.source, 'cached');
    assert.deepEqual(w.helper.manifests, [bytes.toString('utf8'), bytes.toString('utf8')]);
    f.clock.now = new Date('2026-12-12T00:00:00Z'); // expired: not verified, not handed over
    assert.equal((await f.check()).code, 'MANIFEST_EXPIRED');
    assert.equal(w.helper.manifests.length, 2);
  });

  it('goes on when the helper cannot be told of a manifest (it learns it with the next install)', async () => {
    w.cdn.setManifest(manifestBytes(w.signer, { releases: [release(p102, w.cdn.srv.origin)] }));
    const f = await make('1.0.2');
    const r = await f.check({ helper: helperClient(join(w.dir, 'no-helper.sock')) });
    assert.equal(r.outcome, 'up-to-date');
    assert.deepEqual(warnings(f.log), []);
    assert.ok(
      f.log
        .of('INFO')
        .some((l) => /^SelfUpdate: the helper was not told of manifest seq \d+: .*\[HELPER_UNREACHABLE\]$/.test(l)),
    );
  });

  it('does nothing when the current version is the newest', async () => {
    w.cdn.setManifest(
      manifestBytes(w.signer, { releases: [release(p103, w.cdn.srv.origin), release(p102, w.cdn.srv.origin)] }),
    );
    const f = await make('1.0.3');
    const r = await f.check();
    assert.equal(r.outcome, 'up-to-date');
    assert.equal(r.target, null);
    assert.equal(requestsTo(w.cdn, p103.path).length, 0);
    assert.equal(w.helper.received.length, 0);
    assert.deepEqual(
      f.log.of('INFO').filter((l) => l.startsWith('SelfUpdate: check:')),
      [
        `SelfUpdate: check: current 1.0.3, manifest stable seq ${r.manifest?.sequence} offers nothing newer (newest 1.0.3) -> up to date`,
      ],
    );
    assert.deepEqual(warnings(f.log), []);
  });

  it('never downgrades when the current version was yanked', async () => {
    // 1.0.3 is yanked: the manifest falls back to 1.0.2.
    w.cdn.setManifest(
      manifestBytes(w.signer, {
        releases: [release(p103, w.cdn.srv.origin, { active: false }), release(p102, w.cdn.srv.origin)],
      }),
    );
    const f = await make('1.0.3');
    const r = await f.check();
    assert.equal(r.outcome, 'up-to-date');
    assert.equal(r.target, null);
    assert.equal(requestsTo(w.cdn, p102.path).length, 0);
    assert.equal(w.helper.received.length, 0);
    // Not "up to date": the device is told its own version is gone, and why it stays anyway.
    assert.deepEqual(
      f.log.of('INFO').filter((l) => l.startsWith('SelfUpdate: check:')),
      [
        `SelfUpdate: check: current 1.0.3, manifest stable seq ${r.manifest?.sequence} offers nothing newer (newest 1.0.2); 1.0.3 is not offered (yanked?); no downgrade -> staying on 1.0.3`,
      ],
    );
  });

  it('respects the rollout cohort: outside it stays, inside it updates', async () => {
    w.cdn.setManifest(
      manifestBytes(w.signer, {
        releases: [release(p103, w.cdn.srv.origin, { rollout_percent: 10 }), release(p102, w.cdn.srv.origin)],
      }),
    );
    const outId = deviceFor('1.0.3', 10, false);
    const out = await make('1.0.2', outId);
    const r1 = await out.check();
    assert.equal(r1.outcome, 'up-to-date');
    assert.equal(r1.target, null);
    assert.equal(w.helper.received.length, 0);
    // The line carries this device's bucket for 1.0.3: how far the share must rise for it.
    assert.deepEqual(
      out.log.of('INFO').filter((l) => l.startsWith('SelfUpdate: check:')),
      [
        `SelfUpdate: check: current 1.0.2, manifest stable seq ${r1.manifest?.sequence} offers 1.0.3 (rollout 10%, this device not in cohort, bucket ${bucketOf(outId, '1.0.3')}) -> staying on 1.0.2`,
      ],
    );

    const inId = deviceFor('1.0.3', 10, true);
    const inside = await make('1.0.2', inId);
    const r2 = await inside.check();
    assert.equal(r2.outcome, 'updated');
    assert.equal(w.helper.received.length, 1);
    assert.deepEqual(
      inside.log.of('INFO').filter((l) => l.startsWith('SelfUpdate: check:')),
      [
        `SelfUpdate: check: current 1.0.2, manifest stable seq ${r2.manifest?.sequence} offers 1.0.3 (rollout 10%, this device in cohort, bucket ${bucketOf(inId, '1.0.3')}) -> updating`,
      ],
    );
  });

  it('lets a floor force the update past the rollout share, and reports checkin blocked until it is done', async () => {
    w.cdn.setManifest(
      manifestBytes(w.signer, {
        releases: [
          release(p103, w.cdn.srv.origin, { rollout_percent: 10, min_required_version: '1.0.3' }),
          release(p102, w.cdn.srv.origin),
        ],
      }),
    );
    const f = await make('1.0.2', deviceFor('1.0.3', 10, false));
    w.helper.reply = installerFails;
    const failed = await f.check();
    assert.equal(failed.outcome, 'failed');
    assert.equal(failed.step, 'install');
    assert.equal(failed.forced, true);
    assert.equal(failed.blocked, true, 'still below the floor: checkin stays blocked');
    assert.equal(failed.floor, '1.0.3');
    assert.ok(
      f.log.of('INFO').some((l) => l.includes('is below the floor 1.0.3: forced update to 1.0.3 (rollout ignored)')),
    );
    w.helper.reply = installed;
    const done = await f.check();
    assert.equal(done.outcome, 'updated');
    assert.equal(done.blocked, false);
  });

  for (const [name, floor, rollout, why] of [
    ['above every listed release', '1.0.9', 100, /the manifest lists no release at or above the floor 1\.0\.9/],
    ['whose only release is paused', '1.0.4', 0, /every release at or above the floor 1\.0\.4 is paused \(1\.0\.4\)/],
  ] as const) {
    it(`never blocks checkin on a floor ${name}: one warning naming why, and the normal target is still taken`, async () => {
      const paused = { ...p103, version: '1.0.4' };
      w.cdn.setManifest(
        manifestBytes(w.signer, {
          releases: [
            ...(rollout === 0 ? [release(paused, w.cdn.srv.origin, { rollout_percent: 0 })] : []),
            release(p103, w.cdn.srv.origin),
            release(p102, w.cdn.srv.origin),
          ],
          edit: (m) => void (m.min_required_version = floor),
        }),
      );
      const f = await make('1.0.2');
      const r = await f.check();
      assert.equal(r.outcome, 'updated');
      assert.equal(r.target, '1.0.3', 'the normal target, not a forced one');
      assert.equal(r.blocked, false);
      assert.equal(r.forced, false);
      assert.match(r.unsupported ?? '', why);
      const warns = warnings(f.log);
      assert.equal(warns.length, 1, warns.join('\n'));
      assert.match(warns[0]!, new RegExp(`below the floor ${floor.replace(/\./g, '\\.')}, but `));
      assert.match(warns[0]!, /checkin not blocked/);
      assert.match(warns[0]!, why);
    });
  }

  it("counts the helper's refusal of the package, not its refusal of the agent's proof of uid", () => {
    assert.equal(countsTowardCooldown('PKG_REFUSED'), true);
    assert.equal(countsTowardCooldown('PEER_UNPROVEN'), false);
  });

  it('never cools a package down for a helper whose installer cannot be started (its --installer), even a forced one', async () => {
    w.cdn.setManifest(
      manifestBytes(w.signer, {
        releases: [release(p103, w.cdn.srv.origin, { min_required_version: '1.0.3' }), release(p102, w.cdn.srv.origin)],
      }),
    );
    const unavailable: StandInReply = (req) =>
      errorReply(
        req.id,
        'INSTALLER_UNAVAILABLE',
        "the installer /nope could not be started: spawn /nope ENOENT; check the helper's --installer",
        { output_tail: '' },
      );
    const f = await make('1.0.2');
    const failuresOf = async (): Promise<number | undefined> => {
      const saved = JSON.parse(await readFile(join(f.state.dir, 'state.json'), 'utf8')) as {
        cooldowns: Record<string, { failures: number }>;
      };
      return saved.cooldowns[sha256(p103.bytes)]?.failures;
    };
    try {
      w.helper.reply = unavailable;
      for (let i = 0; i < 4; i++) {
        const r = await f.check();
        assert.equal(r.outcome, 'failed', `check ${i + 1} is tried, not cooling down`);
        assert.equal(r.code, 'INSTALLER_UNAVAILABLE');
        assert.equal(r.blocked, true);
        const warn = warnings(f.log)[i]!;
        assert.ok(warn.startsWith('SelfUpdate: install failed: 1.0.2 -> 1.0.3'), warn);
        assert.ok(
          warn.includes("the helper's installer could not be started") &&
            warn.includes("check the helper's --installer"),
          warn,
        );
        assert.ok(warn.includes('not counted toward the cool-down') && !warn.includes('of 3 for this package'), warn);
        assert.equal(await failuresOf(), undefined, 'the package has no failure on record');
        f.clock.now = new Date(f.clock.now.getTime() + 5 * 60_000);
      }
      // An installer that ran and failed is about the package: it still counts.
      w.helper.reply = installerFails;
      assert.equal((await f.check()).code, 'INSTALLER_FAILED');
      assert.equal(await failuresOf(), 1);
      w.helper.reply = installed;
      assert.equal((await f.check()).outcome, 'updated');
    } finally {
      w.helper.reply = installed;
    }
  });
});
