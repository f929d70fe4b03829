import { describe, it, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import {
  agentWorld,
  helperClient,
  installed,
  installerFails,
  manifestBytes,
  pkg,
  release,
  requestsTo,
  sha256,
  T0,
  warnings,
} from './support.js';

describe('agent hand-off to the helper', () => {
  const p102 = pkg('1.0.2');
  const p103 = pkg('1.0.3');
  const p104 = pkg('1.0.4');
  const w = agentWorld([p102, p103, p104]);
  const make = () => w.make();
  beforeEach(() =>
    w.cdn.setManifest(
      manifestBytes(w.signer, { releases: [release(p103, w.cdn.srv.origin), release(p102, w.cdn.srv.origin)] }),
    ),
  );

  it('stays and says why when the helper is unreachable, and reuses the verified package next time', async () => {
    const f = await make();
    const r = await f.check({ helper: helperClient(join(w.dir, 'no-such.sock')) });
    assert.equal(r.outcome, 'failed');
    assert.equal(r.step, 'install');
    assert.equal(r.code, 'HELPER_UNREACHABLE');
    const warns = warnings(f.log);
    assert.equal(warns.length, 1);
    assert.ok(
      warns[0]!.startsWith(
        `SelfUpdate: install failed: 1.0.2 -> 1.0.3 from ${w.cdn.srv.url(p103.path)}: cannot talk to the helper`,
      ),
      warns[0],
    );
    assert.ok(warns[0]!.includes('staying on 1.0.2'), warns[0]);
    assert.ok(!f.log.of('INFO').some((l) => l.includes('install complete')));

    const again = await f.check();
    assert.equal(again.outcome, 'updated');
    assert.deepEqual(again.download, { transferred: 0, resumed: false, reused: true });
    assert.equal(requestsTo(w.cdn, p103.path).length, 1, 'downloaded once');
    assert.equal(w.helper.received[0]!.sha256, sha256(p103.bytes));
  });

  it('stays and logs the installer exit code and output when the installer fails', async () => {
    w.helper.reply = installerFails;
    const f = await make();
    const r = await f.check();
    assert.equal(r.outcome, 'failed');
    assert.equal(r.step, 'install');
    assert.equal(r.code, 'INSTALLER_FAILED');
    const warns = warnings(f.log);
    assert.equal(warns.length, 1);
    assert.ok(
      warns[0]!.includes('install failed: 1.0.2 -> 1.0.3') &&
        warns[0]!.includes('installer exit code 1') &&
        warns[0]!.includes('the package is damaged'),
      warns[0],
    );
    assert.ok(!f.log.of('INFO').some((l) => l.includes('install complete')));
  });

  it('puts a package on a 24 h cool-down after three failures, persisted, and tries a newer release at once', async () => {
    w.helper.reply = installerFails;
    const f = await make();
    for (let i = 1; i <= 3; i++) {
      const r = await f.check();
      assert.equal(r.outcome, 'failed');
      f.clock.now = new Date(f.clock.now.getTime() + 5 * 60_000);
    }
    assert.ok(warnings(f.log)[2]!.includes('failed 3 times: cool-down until'), warnings(f.log)[2]);
    const saved = JSON.parse(await readFile(join(f.state.dir, 'state.json'), 'utf8')) as {
      cooldowns: Record<string, { failures: number; until: string }>;
    };
    const entry = saved.cooldowns[sha256(p103.bytes)]!;
    assert.equal(entry.failures, 3);

    w.helper.received.length = 0;
    w.cdn.srv.requests.length = 0;
    const cooling = await f.check();
    assert.equal(cooling.outcome, 'cooling-down');
    assert.equal(cooling.cooldown_until, entry.until);
    assert.equal(requestsTo(w.cdn, p103.path).length, 0, 'no download during the cool-down');
    assert.equal(w.helper.received.length, 0);

    // A newer release is another package: tried at once.
    w.cdn.setManifest(
      manifestBytes(w.signer, {
        releases: [release(p104, w.cdn.srv.origin), release(p102, w.cdn.srv.origin)],
        now: new Date(T0.getTime() + 60_000),
      }),
    );
    w.helper.reply = installed;
    const newer = await f.check();
    assert.equal(newer.outcome, 'updated');
    assert.equal(newer.target, '1.0.4');
  });

  it('never cools a package down for a helper that is down: it is tried again at every check', async () => {
    const f = await make();
    const down = helperClient(join(w.dir, 'no-such.sock'));
    for (let i = 0; i < 4; i++) {
      const r = await f.check({ helper: down });
      assert.equal(r.outcome, 'failed');
      assert.equal(r.code, 'HELPER_UNREACHABLE');
      assert.ok(warnings(f.log)[i]!.includes('not counted toward the cool-down'), warnings(f.log)[i]);
    }
    const saved = JSON.parse(await readFile(join(f.state.dir, 'state.json'), 'utf8')) as {
      cooldowns: Record<string, unknown>;
    };
    assert.equal(saved.cooldowns[sha256(p103.bytes)], undefined);
    w.helper.reply = installed;
    assert.equal((await f.check()).outcome, 'updated');
  });

  it('tries the package again once the cool-down is over', async () => {
    w.helper.reply = installerFails;
    const f = await make();
    for (let i = 0; i < 3; i++) await f.check();
    f.clock.now = new Date(f.clock.now.getTime() + 23 * 3600_000);
    assert.equal((await f.check()).outcome, 'cooling-down');
    f.clock.now = new Date(f.clock.now.getTime() + 3600_000 + 1000);
    w.helper.reply = installed;
    const r = await f.check();
    assert.equal(r.outcome, 'updated');
    assert.deepEqual(await readdir(f.state.downloads), []);
  });
});
