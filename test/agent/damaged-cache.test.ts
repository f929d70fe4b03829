/**
 * A damaged cached manifest (`<state>/manifest.json` cut short, as a power loss or a bad sector
 * leaves it) while the CDN answers 304: before, the check failed at verify-manifest and the
 * agent waited a whole interval to fetch it again; now it is fetched whole in the same check.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { agentWorld, manifestBytes, pkg, release, requestsTo, warnings } from './support.js';

describe('agent: a damaged cached manifest', () => {
  const p102 = pkg('1.0.2');
  const p103 = pkg('1.0.3');
  const w = agentWorld([p102, p103]);

  it('is fetched again whole in the same check, and the update goes on', async () => {
    w.cdn.setManifest(manifestBytes(w.signer, { releases: [release(p102, w.cdn.srv.origin)] }));
    const f = await w.make();
    assert.equal((await f.check()).outcome, 'up-to-date');
    const cached = join(f.state.dir, 'manifest.json');
    const whole = await readFile(cached);
    await writeFile(cached, whole.subarray(0, Math.floor(whole.length / 2)));
    w.cdn.srv.requests.length = 0;

    const r = await f.check();
    assert.equal(r.outcome, 'up-to-date', JSON.stringify(r));
    assert.equal(r.manifest?.source, 'downloaded');
    const asked = requestsTo(w.cdn, '/latest.json');
    assert.equal(asked.length, 2, 'a conditional request (304), then the whole manifest');
    assert.deepEqual(await readFile(cached), whole, 'the cache holds the whole manifest again');
    assert.deepEqual(warnings(f.log), []);
  });
});
