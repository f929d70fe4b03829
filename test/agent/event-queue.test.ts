/**
 * The agent's durable event queue and the checkin that sends it, against a real HTTPS server on
 * loopback that stores reports with the reference ingest (pipeline/fleet/ingest.ts) in PGlite:
 * the queue survives a SIGKILL and a restart without losing or duplicating an event; a 500 keeps
 * the events; a 2xx drops exactly what was sent; over 200 the oldest are dropped and counted.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { EventQueue, MAX_QUEUED_EVENTS, type NewEvent } from '../../agent/event-queue.js';
import { recordingCheck, reportingCheckin } from '../../agent/checkin.js';
import { eventsOf } from '../../agent/events.js';
import { MemoryLogger } from '../../agent/log.js';
import { hashedDevice } from '../../agent/report.js';
import type { CheckResult } from '../../agent/check-result.js';
import { ingestReport, migrateFleet } from '../../pipeline/fleet/ingest.js';
import { openTestPglite, type TestDatabase } from '../support/db.js';
import { startHttpsServer, type TestServer } from '../support/https-server.js';
import { REPO_ROOT } from '../support/cli.js';
import { testHttp } from './support.js';

const NOW = new Date('2026-12-04T12:00:00Z');
const ev = (n: number): NewEvent => ({
  at: new Date(NOW.getTime() - 60_000 + n).toISOString(),
  kind: 'check',
  from: '1.0.3',
  to: '1.0.4',
  result: 'ok',
  code: null,
  duration_ms: n,
  bytes: null,
});

/** The stand-in mngd server: each POST is stored by the reference ingest, then answered `status()`. */
function fleetServer(t: TestDatabase, status: () => number, onStored?: () => Promise<void>) {
  return async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    try {
      await ingestReport(t.db, Buffer.concat(chunks), NOW);
      await onStored?.();
      res.writeHead(status()).end();
    } catch (err) {
      res.writeHead(400).end(String(err));
    }
  };
}

const stored = async (t: TestDatabase) =>
  (await t.db.query<{ event_id: string }>('SELECT event_id FROM agent_update_events ORDER BY event_id')).rows.map(
    (r) => r.event_id,
  );

describe('the agent event queue', () => {
  let t: TestDatabase;
  let srv: TestServer;
  let answer = 204;
  let during: (() => Promise<void>) | undefined;
  before(async () => {
    t = await openTestPglite();
    await migrateFleet(t.db);
    srv = await startHttpsServer(
      (req, res) =>
        void fleetServer(
          t,
          () => answer,
          () => during?.() ?? Promise.resolve(),
        )(req, res),
    );
  });
  after(async () => {
    await srv?.close();
    await t?.close();
  });

  const checkin = (queue: EventQueue) =>
    reportingCheckin(
      srv.url('/api/v1/checkin'),
      testHttp({ retries: { limit: 0 } }),
      {
        queue,
        facts: async () => ({ macos: '14.6', hw_arch: 'arm64' }),
        ringSalt: async () => 'a1b2c3',
        deviceId: 'C02XK1ZZJG5J',
        channel: 'stable',
        current: '1.0.3',
      },
      () => Promise.reject(new Error('the plain checkin must not be used on a Mac')),
    );

  it('survives a SIGKILL mid-write and a restart: nothing lost, nothing duplicated, ids never reused', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mngd-queue-'));
    const script = join(dir, 'writer.mjs');
    writeFileSync(
      script,
      `import { EventQueue } from ${JSON.stringify(join(REPO_ROOT, 'dist', 'agent', 'event-queue.js'))};
const q = new EventQueue(process.argv[2]);
for (let n = 0; ; n++) {
  const [e] = await q.append([{ at: process.argv[3], kind: 'check', from: '1.0.3', to: '1.0.4', result: 'ok', code: null, duration_ms: n, bytes: null }]);
  process.stdout.write(e.id + '\\n');
}
`,
    );
    const child = spawn(process.execPath, [script, dir, NOW.toISOString()], { stdio: ['ignore', 'pipe', 'inherit'] });
    const acked: string[] = [];
    let buf = '';
    child.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      const lines = buf.split('\n');
      buf = lines.pop()!;
      acked.push(...lines);
      // Killed while it keeps writing: the kill lands at any point of the next write.
      if (acked.length >= 150 && !child.killed) child.kill('SIGKILL');
    });
    const [code, signal] = (await once(child, 'exit')) as [number | null, string | null];
    assert.equal(signal, 'SIGKILL', `exit ${code}`);

    const queue = new EventQueue(dir);
    const after1 = await queue.read();
    const ids = after1.events.map((e) => e.id);
    assert.equal(new Set(ids).size, ids.length, 'no duplicate');
    // The queue keeps the newest 200: every event whose write completed and is among those is there.
    const prefix = after1.queue;
    const numbers = ids.map((id) => Number(id.slice(prefix.length + 1)));
    const last = numbers[numbers.length - 1]!;
    assert.ok(last >= acked.length && last <= acked.length + 1, `last ${last}, acked ${acked.length}`);
    assert.deepEqual(
      numbers,
      Array.from({ length: numbers.length }, (_, i) => last - numbers.length + 1 + i),
      'contiguous: nothing lost in between',
    );
    assert.equal(after1.dropped + numbers.length, last, 'every event is either queued or counted as dropped');
    for (const id of acked.slice(-MAX_QUEUED_EVENTS)) assert.ok(ids.includes(id), `${id} was written, then lost`);

    // The restart: new events continue the numbering, and one checkin stores each event once.
    const [next] = await queue.append([ev(1)]);
    assert.equal(next!.id, `${prefix}-${last + 1}`);
    // (A full queue drops its oldest for the new one: what is queued now is what must arrive.)
    const queued = (await queue.read()).events.map((e) => e.id);
    assert.deepEqual(queued, [...ids, next!.id].slice(-MAX_QUEUED_EVENTS));
    answer = 204;
    await checkin(queue)();
    const inDb = await stored(t);
    assert.deepEqual(inDb.filter((id) => id.startsWith(prefix)).sort(), [...queued].sort());
    assert.deepEqual((await queue.read()).events, []);
  });

  it('keeps the events when the server answers 500, and a retry stores each once', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mngd-queue-'));
    const queue = new EventQueue(dir);
    await queue.append([ev(1), ev(2), ev(3)]);
    const before500 = await queue.read();
    answer = 500; // stored, but the answer says otherwise (a proxy failing after the server)
    await assert.rejects(checkin(queue)(), /HTTP 500/);
    assert.deepEqual(await queue.read(), before500, 'the queue is untouched');
    answer = 200;
    await checkin(queue)();
    const mine = (await stored(t)).filter((id) => id.startsWith(before500.queue));
    assert.equal(mine.length, 3, 'sent twice, stored once');
    assert.deepEqual((await queue.read()).events, []);
  });

  it('drops exactly what was sent: an event queued while the checkin is in flight stays', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mngd-queue-'));
    const queue = new EventQueue(dir);
    await queue.append([ev(1), ev(2)]);
    answer = 204;
    let late: string | undefined;
    during = async () => {
      late = (await queue.append([ev(3)]))[0]?.id;
    };
    try {
      await checkin(queue)();
    } finally {
      during = undefined;
    }
    assert.deepEqual(
      (await queue.read()).events.map((e) => e.id),
      [late],
    );
  });

  it('keeps at most 200, dropping the oldest and counting them; the count goes with the report', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mngd-queue-'));
    const queue = new EventQueue(dir);
    await queue.append(Array.from({ length: 205 }, (_, i) => ev(i)));
    const q = await queue.read();
    assert.equal(q.events.length, 200);
    assert.equal(q.dropped, 5);
    assert.equal(q.events[0]!.id, `${q.queue}-6`);
    answer = 204;
    await checkin(queue)();
    const device = hashedDevice('a1b2c3', 'C02XK1ZZJG5J');
    const row = (
      await t.db.query<{ dropped_events: string }>('SELECT dropped_events FROM agent_devices WHERE device = $1', [
        device,
      ])
    ).rows[0];
    assert.ok(Number(row?.dropped_events) >= 5);
    assert.deepEqual(await queue.read(), { ...q, events: [], dropped: 0 });
  });

  it("queues the helper's outcomes with their own ids, once however often they are handed over", async () => {
    const queue = new EventQueue(mkdtempSync(join(tmpdir(), 'mngd-queue-')));
    const rollback = { ...ev(1), id: 'rollback-1_0_4', kind: 'rollback' as const, from: '1.0.4', to: '1.0.3' };
    assert.deepEqual(await queue.adopt([rollback]), [rollback]);
    assert.deepEqual(await queue.adopt([rollback]), [], 'handed over again (no ack came): queued once');
    await queue.append([ev(2)]);
    assert.deepEqual(
      (await queue.read()).events.map((e) => e.id),
      ['rollback-1_0_4', `${(await queue.read()).queue}-1`],
    );
    answer = 204;
    await checkin(queue)();
    assert.ok((await stored(t)).includes('rollback-1_0_4'));
    assert.deepEqual((await queue.read()).events, []);
  });

  it('sends the device id hashed, SHA-256(ring_salt/device_id), never the raw id in the body', async () => {
    assert.equal(
      hashedDevice('a1b2c3', 'C02XK1ZZJG5J'),
      createHash('sha256').update('a1b2c3/C02XK1ZZJG5J').digest('hex'),
    );
    const rows = await t.db.query<{ device: string }>('SELECT DISTINCT device FROM agent_update_events');
    assert.deepEqual(
      rows.rows.map((r) => r.device),
      [hashedDevice('a1b2c3', 'C02XK1ZZJG5J')],
    );
  });

  it('queues what a check did before its result is acted on', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mngd-queue-'));
    const queue = new EventQueue(dir);
    const result: CheckResult = {
      outcome: 'failed',
      step: 'install',
      code: 'INSTALLER_FAILED',
      message: 'exit 1',
      current: '1.0.3',
      target: '1.0.4',
      blocked: false,
      floor: null,
      forced: false,
      unsupported: null,
      manifest: { sequence: 1, channel: 'stable', source: 'downloaded' },
      download: { transferred: 4096, resumed: false, reused: false },
    };
    const r = await recordingCheck(
      async () => result,
      queue,
      new MemoryLogger(),
      () => NOW,
    )();
    assert.equal(r, result);
    assert.deepEqual(
      (await queue.read()).events.map((e) => [e.kind, e.to, e.result, e.code, e.bytes]),
      [
        ['check', '1.0.4', 'ok', null, null],
        ['download', '1.0.4', 'ok', null, 4096],
        ['install', '1.0.4', 'error', 'INSTALLER_FAILED', null],
      ],
    );
    const upToDate: CheckResult = {
      outcome: 'up-to-date',
      current: '1.0.4',
      target: null,
      blocked: false,
      floor: null,
      forced: false,
      unsupported: null,
      manifest: { sequence: 1, channel: 'stable', source: 'cached' },
    };
    assert.deepEqual(eventsOf(upToDate, NOW, 1), [], 'nothing to do: nothing to report');
  });
});
