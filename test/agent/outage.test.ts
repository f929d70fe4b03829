/**
 * A CDN outage during a forced update (floor above the running version): the run loop against a
 * loopback CDN whose package URL answers 503/429/408, with the clock moved by each sleep. The
 * outage never starts the cool-down, and a cool-down (a package that really is bad) never keeps
 * checkin blocked: before, three 503s within 15 minutes locked the Mac out of checkin for a day.
 */
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { servePackage, status, type Handler } from '../support/https-server.js';
import { agentWorld, manifestBytes, pkg, release, sha256, type Fixture, loopOf } from './support.js';

describe('agent: a CDN outage during a forced update', () => {
  const p102 = pkg('1.0.2');
  const p103 = pkg('1.0.3');
  const w = agentWorld([p102, p103]);
  const floored = () => [
    release(p103, w.cdn.srv.origin, { min_required_version: '1.0.3' }),
    release(p102, w.cdn.srv.origin),
  ];
  before(() => (w.cdn.table['/api/v1/checkin'] = status(204)));
  const make = () => w.make({ current: '1.0.2' });
  const all = (f: Fixture) => f.log.lines.map((l) => l.message);

  /** The loop, each sleep moving the fixture's clock. */
  const loop = (f: Fixture, maxSleeps: number) => loopOf(w, f, maxSleeps, { moveClock: true });

  const cooldownOf = async (f: Fixture) => {
    const saved = JSON.parse(await readFile(join(f.state.dir, 'state.json'), 'utf8').catch(() => '{}')) as {
      cooldowns?: Record<string, { failures: number; until: string | null }>;
    };
    return saved.cooldowns?.[sha256(p103.bytes)];
  };

  it('never counts 503, 429 or 408 toward the cool-down: the update is retried every few minutes and done when the CDN is back', async () => {
    w.cdn.setManifest(manifestBytes(w.signer, { releases: floored() }));
    const outage: Handler[] = [status(503), status(429, { 'retry-after': '0' }), status(408), status(503), status(503)];
    let served = 0;
    w.cdn.addPkg(p103, (req, res, srv) => (outage[served++] ?? servePackage(p103.bytes))(req, res, srv));
    try {
      const f = await make();
      // first delay, then a floor retry after each failed check: five checks in the outage (the
      // agent's one quick retry per check takes the next status), then the CDN is back
      const r = await loop(f, 10);
      assert.equal(r.end, 'updated', all(f).join('\n'));
      assert.equal(r.checkins.length, 0, 'below the floor and able to update: checkin waits for the update');
      const failed = f.log.of('WARN').filter((l) => l.startsWith('SelfUpdate: download failed'));
      assert.ok(failed.length >= 2, failed.join('\n'));
      for (const l of failed) {
        assert.match(l, /HTTP (503|429|408)/);
        assert.ok(l.includes('not counted toward the cool-down'), l);
      }
      assert.ok(!all(f).some((l) => l.includes('cool-down until') || l.includes('cooling down')));
      assert.equal(await cooldownOf(f), undefined, 'no failure on record for the package');
      assert.ok(f.log.of('INFO').includes('SelfUpdate: install complete 1.0.2 -> 1.0.3'));
    } finally {
      w.cdn.addPkg(p103);
    }
  });

  it('never keeps checkin blocked during a cool-down: a package that really is bad rests a day, and the Mac checks in hourly meanwhile', async () => {
    w.cdn.setManifest(manifestBytes(w.signer, { releases: floored() }));
    w.cdn.addPkg(p103, servePackage(Buffer.alloc(p103.bytes.length, 7))); // right size, wrong bytes
    try {
      const f = await make();
      const r = await loop(f, 6);
      const c = await cooldownOf(f);
      assert.equal(c?.failures, 3);
      assert.ok(c?.until !== null && c?.until !== undefined);
      // first delay, two floor retries, then the third failure starts the cool-down: the hour
      assert.deepEqual(r.sleeps, [300_000, 300_000, 300_000, 3_600_000, 3_600_000, 3_600_000]);
      assert.equal(r.checkins.length, 3, 'checked in after the third failure and during the cool-down');
      const third = f.log.of('WARN').filter((l) => l.startsWith('SelfUpdate: download failed'))[2]!;
      assert.ok(third.includes('checkin no longer blocked') && third.includes('cool-down until'), third);
      const cooling = f.log.of('WARN').filter((l) => l.startsWith('SelfUpdate: cool-down:'));
      assert.equal(cooling.length, 2);
      assert.ok(cooling[0]!.includes('checkin not blocked meanwhile'), cooling[0]);
      assert.ok(!all(f).some((l) => l.startsWith('SelfUpdate: checkin blocked') && l.includes('cool')));
    } finally {
      w.cdn.addPkg(p103);
    }
  });
});
