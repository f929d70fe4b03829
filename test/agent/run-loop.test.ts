import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { jittered, runLoop } from '../../agent/run-loop.js';
import { MemoryLogger } from '../../agent/log.js';
import type { CheckResult } from '../../agent/check.js';
import { status } from '../support/https-server.js';
import {
  agentWorld,
  installed,
  installerFails,
  manifestBytes,
  newSigner,
  pkg,
  release,
  T0,
  type Fixture,
  LOOP_TIMING,
  loopOf,
} from './support.js';

const TIMING = LOOP_TIMING;

describe('agent run loop', () => {
  const other = newSigner();
  const p102 = pkg('1.0.2');
  const p103 = pkg('1.0.3');
  const w = agentWorld([p102, p103]);
  // Floor 1.0.3 is above the running 1.0.2.
  const floored = () => [
    release(p103, w.cdn.srv.origin, { min_required_version: '1.0.3' }),
    release(p102, w.cdn.srv.origin),
  ];
  before(() => (w.cdn.table['/api/v1/checkin'] = status(204)));

  /** Runs the loop with a recording sleep that stops it after `maxSleeps` sleeps. */
  const loop = (f: Fixture, maxSleeps = 4) => loopOf(w, f, maxSleeps);
  const make = (current = '1.0.2') => w.make({ current });

  it('checks in after every check, about hourly, after a random first delay', async () => {
    w.cdn.setManifest(manifestBytes(w.signer, { releases: [release(p102, w.cdn.srv.origin)] }));
    const f = await make();
    const r = await loop(f);
    assert.equal(r.end, 'stopped');
    assert.deepEqual(r.sleeps, [300_000, 3_600_000, 3_600_000, 3_600_000]);
    assert.equal(r.checkins.length, 3);
    assert.match(r.checkins[0]!.path, /\?device_id=device-1&version=1\.0\.2$/);
    // The checkin server answers 204 No Content: a checkin done, not a failure.
    assert.deepEqual(
      f.log.of('WARN').filter((l) => l.startsWith('Checkin:')),
      [],
    );
  });

  it('says to check checkin_url when the checkin URL answers 404, and goes on checking hourly', async () => {
    w.cdn.setManifest(manifestBytes(w.signer, { releases: [release(p102, w.cdn.srv.origin)] }));
    w.cdn.table['/api/v1/checkin'] = status(404);
    try {
      const f = await make();
      const r = await loop(f, 3);
      assert.equal(r.end, 'stopped');
      assert.deepEqual(r.sleeps, [300_000, 3_600_000, 3_600_000]);
      const warns = f.log.of('WARN').filter((l) => l.startsWith('Checkin: failed:'));
      assert.equal(warns.length, 2, warns.join('\n'));
      assert.match(
        warns[0]!,
        /HTTP 404; nothing is served at this URL; check checkin_url in the config \(--checkin-url\); retrying next interval$/,
      );
      assert.ok(!warns[0]!.includes('package'), warns[0]);
    } finally {
      w.cdn.table['/api/v1/checkin'] = status(204);
    }
  });

  it('blocks checkin while a verified floor is above the running version, retrying every few minutes, then exits after the install', async () => {
    w.cdn.setManifest(manifestBytes(w.signer, { releases: floored() }));
    let attempts = 0;
    w.helper.reply = (req) => (++attempts < 3 ? installerFails(req) : installed(req));
    const f = await make();
    const r = await loop(f, 10);
    assert.equal(r.end, 'updated', 'the loop ends so the process exits and launchd relaunches');
    assert.equal(attempts, 3);
    assert.equal(r.checkins.length, 0, 'no checkin while below the floor');
    assert.deepEqual(r.sleeps, [300_000, 300_000, 300_000], 'first delay, then the floor retry, not the hour');
    assert.equal(
      f.log
        .of('WARN')
        .filter((l) => l.startsWith('SelfUpdate: checkin blocked: current 1.0.2 is below the required 1.0.3')).length,
      2,
    );
    assert.ok(f.log.of('INFO').includes('SelfUpdate: install complete 1.0.2 -> 1.0.3'));
  });

  it('checks in hourly below a floor that no listed release satisfies, warning once per check', async () => {
    w.cdn.setManifest(
      manifestBytes(w.signer, {
        releases: [release(p102, w.cdn.srv.origin)],
        edit: (m) => void (m.min_required_version = '1.0.9'),
      }),
    );
    const f = await make();
    const r = await loop(f, 3);
    assert.equal(r.checkins.length, 2, 'checkin is not blocked');
    assert.deepEqual(r.sleeps, [300_000, 3_600_000, 3_600_000], 'the hour, not the floor retry');
    const warns = f.log.of('WARN').filter((l) => l.startsWith('SelfUpdate:'));
    assert.equal(warns.length, 2, warns.join('\n'));
    assert.ok(
      warns.every((l) =>
        /^SelfUpdate: check: current 1\.0\.2 is below the floor 1\.0\.9, but the manifest lists no release/.test(l),
      ),
    );
  });

  for (const [name, bytes] of [
    ['signed by an untrusted key', () => manifestBytes(w.signer, { releases: floored(), keys: [other.key] })],
    ['expired', () => manifestBytes(w.signer, { releases: floored(), now: new Date(T0.getTime() - 20 * 86_400_000) })],
  ] as const) {
    it(`never blocks checkin on a floor from a manifest ${name}`, async () => {
      w.cdn.setManifest(bytes());
      const r = await loop(await make(), 3);
      assert.equal(r.checkins.length, 2);
      assert.deepEqual(r.sleeps, [300_000, 3_600_000, 3_600_000]);
      assert.equal(w.helper.received.length, 0);
    });
  }

  it('exits for relaunch, without checking, once another session has installed a newer version', async () => {
    const f = await make();
    let checks = 0;
    const stop = new AbortController(); // without the exit, the loop ends here instead of hanging
    const installedOnDisk = ['1.0.2', '1.0.3'];
    const end = await runLoop({
      check: () => {
        if (++checks >= 3) stop.abort();
        return Promise.resolve({
          outcome: 'up-to-date',
          current: '1.0.2',
          target: null,
          blocked: false,
          floor: null,
          forced: false,
          unsupported: null,
          manifest: { sequence: 1, channel: 'stable', source: 'downloaded' },
        });
      },
      checkin: null,
      timing: TIMING,
      log: f.log,
      random: () => 0.5,
      sleep: async () => undefined,
      signal: stop.signal,
      installedSinceStart: async () => {
        const v = installedOnDisk.shift() ?? '1.0.3';
        return v === '1.0.2' ? null : v;
      },
    });
    assert.equal(end, 'updated');
    assert.equal(checks, 1);
    assert.ok(
      f.log
        .of('INFO')
        .some((l) => l.includes('1.0.3 was installed while this agent ran; exiting so launchd starts it')),
    );
  });

  it('keeps checking in when a check crashes', async () => {
    const log = new MemoryLogger();
    let checkins = 0;
    const stop = new AbortController();
    let n = 0;
    await runLoop({
      check: () => Promise.reject(new Error('disk full')),
      checkin: async () => void checkins++,
      timing: TIMING,
      log,
      random: () => 0,
      signal: stop.signal,
      sleep: async () => {
        if (++n >= 3) stop.abort();
      },
    });
    assert.equal(checkins, 2);
    assert.ok(log.of('ERROR').some((l) => l.includes('check crashed: disk full')));
  });

  it('calls beforeSleep once before each sleep, after the round (the bin gives memory back there)', async () => {
    const order: string[] = [];
    const stop = new AbortController();
    await runLoop({
      check: async () => {
        order.push('check');
        return { outcome: 'up-to-date', manifest: null } as unknown as CheckResult;
      },
      checkin: async () => void order.push('checkin'),
      timing: TIMING,
      log: new MemoryLogger(),
      random: () => 0,
      signal: stop.signal,
      beforeSleep: () => void order.push('beforeSleep'),
      sleep: async () => {
        order.push('sleep');
        if (order.filter((o) => o === 'sleep').length >= 3) stop.abort();
      },
    });
    // the first sleep is the random first delay, before any round
    assert.deepEqual(order, [
      'sleep',
      'check',
      'checkin',
      'beforeSleep',
      'sleep',
      'check',
      'checkin',
      'beforeSleep',
      'sleep',
    ]);
  });

  it('jitters within the promised spread', () => {
    assert.equal(
      jittered(1000, 0.1, () => 0),
      900,
    );
    assert.equal(
      jittered(1000, 0.1, () => 0.999999),
      1100,
    );
    assert.equal(
      jittered(300, 0.5, () => 0),
      150,
    );
  });
});
