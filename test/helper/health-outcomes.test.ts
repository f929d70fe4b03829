/**
 * The health gate's outcomes reach the fleet (#19: "reports its outcome through the
 * closing-the-loop events"), with the real helper and agent bins: the helper records N committed
 * or P put back in its outbox, hands them to the agent in its replies, drops them on events_ack,
 * and the agent sends them with its next checkin. And a `pending.json` torn by a power loss,
 * found by the real helper at its restart.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { sendHealth } from '../../helper/client.js';
import { ackEvents } from '../../helper/events-ack-client.js';
import { EventQueue } from '../../agent/event-queue.js';
import { takeOutcomes } from '../../agent/health-gate.js';
import { MemoryLogger } from '../../agent/log.js';
import type { Report } from '../../schema/types.js';
import { startAgent } from '../agent/process.js';
import { macTools } from '../support/mac-tools.js';
import { routes, servePackage, startHttpsServer } from '../support/https-server.js';
import { newKey, releaseOf, signedManifest, startHelper, until } from './harness.js';
import { agentFlags, macOn103 as macOn103With } from './gate-mac.js';

const key = newKey();
const cleanup: (() => Promise<unknown>)[] = [];
after(async () => {
  for (const c of cleanup.reverse()) await c();
});

const macOn103 = (args: string[]) => macOn103With(key, cleanup, args);

describe('the health gate reports its outcome', () => {
  it("a committed N: health_ok's reply carries the health event until the agent acknowledges it", async () => {
    const mac = await macOn103(['--health-deadline', '600']);
    assert.equal((await mac.install('1.0.4')).ok, true);
    const ok = await sendHealth(mac.helper.socket, 'health_ok', '1.0.4');
    assert.ok(ok.ok, JSON.stringify(ok));
    assert.equal(ok.pending, false);
    assert.equal(ok.events?.length, 1);
    const [e] = ok.events ?? [];
    assert.deepEqual(
      { ...e, at: undefined, duration_ms: undefined },
      {
        id: 'health-1_0_4',
        at: undefined,
        kind: 'health',
        from: '1.0.3',
        to: '1.0.4',
        result: 'ok',
        code: null,
        duration_ms: undefined,
        bytes: null,
      },
    );
    assert.ok(Number.isSafeInteger(e!.duration_ms) && e!.duration_ms! >= 0);
    // Not acknowledged: handed over again (same id) at the next start.
    const again = await sendHealth(mac.helper.socket, 'started', '1.0.4');
    assert.deepEqual(again.ok && again.events?.map((x) => x.id), ['health-1_0_4']);
    const ack = await ackEvents(mac.helper.socket, ['health-1_0_4']);
    assert.deepEqual(ack.ok && ack.remaining, 0);
    const after = await sendHealth(mac.helper.socket, 'started', '1.0.4');
    assert.deepEqual(after.ok && after.events, []);
  });

  it('the agent acknowledges only what it queued: a queue it cannot write leaves the outcome with the helper', async () => {
    const mac = await macOn103(['--health-deadline', '600']);
    assert.equal((await mac.install('1.0.4')).ok, true);
    const ok = await sendHealth(mac.helper.socket, 'health_ok', '1.0.4');
    const events = (ok.ok && ok.events) || [];
    assert.equal(events.length, 1);
    const agent = (stateDir: string, log: MemoryLogger) => ({
      socket: mac.helper.socket,
      version: '1.0.4',
      log,
      queue: new EventQueue(stateDir, log),
      setQuarantined: () => undefined,
    });
    // A state folder that cannot be written (a file stands where its parent should be).
    writeFileSync(join(mac.work, 'not-a-folder'), '');
    const broken = new MemoryLogger();
    await takeOutcomes(agent(join(mac.work, 'not-a-folder', 'state'), broken), events);
    assert.match(broken.lines.map((l) => l.message).join('\n'), /outcomes stay with it until the next start/);
    assert.deepEqual(
      mac.outbox()?.events.map((e) => e.id),
      ['health-1_0_4'],
      "not acknowledged: still the helper's",
    );
    // Queued, then acknowledged: the helper drops it.
    const log = new MemoryLogger();
    const stateDir = join(mac.work, 'agent-state-ok');
    mkdirSync(stateDir, { recursive: true });
    await takeOutcomes(agent(stateDir, log), events);
    assert.deepEqual(mac.outbox()?.events ?? [], [], log.lines.map((l) => l.message).join('\n'));
    assert.deepEqual(
      (await new EventQueue(stateDir, log).read()).events.map((e) => e.id),
      ['health-1_0_4'],
    );
  });

  it('a rollback reaches the server: the restarted P agent queues it, acknowledges it and sends it with its checkin', async () => {
    const mac = await macOn103(['--health-deadline', '2']);
    assert.equal((await mac.install('1.0.4')).ok, true);
    await until('rollback', () => mac.log().includes('rollback complete'), 20_000);
    assert.deepEqual(
      mac.outbox()?.events.map((e) => [e.id, e.kind]),
      [['rollback-1_0_4', 'rollback']],
      'recorded durably before anyone asked',
    );

    // The server: a CDN with a manifest that still offers 1.0.4 (quarantined here) and the checkin.
    const reports: Report[] = [];
    let received: () => void = () => undefined;
    const checkedIn = new Promise<void>((resolve) => (received = resolve));
    const manifest = Buffer.from(signedManifest([releaseOf(mac.pkgs['1.0.4']!)], [key]));
    const srv = await startHttpsServer(
      routes({
        '/latest.json': servePackage(manifest),
        '/checkin': (req, res) => {
          const chunks: Buffer[] = [];
          req.on('data', (c: Buffer) => chunks.push(c));
          req.on('end', () => {
            reports.push(JSON.parse(Buffer.concat(chunks).toString('utf8')) as Report);
            res.writeHead(204).end();
            received();
          });
        },
      }),
    );
    cleanup.push(() => srv.close());
    const tools = macTools(join(mac.work, 'tools'), '14.6', 'apple');
    const agentLog = join(mac.work, 'agent.log');
    // "launchd" starts the agent that is installed again: 1.0.3.
    const agent = startAgent([
      'run',
      ...agentFlags(mac, key, srv.url('/latest.json'), 'outcome-device'),
      '--checkin-url',
      srv.url('/checkin'),
      '--sw-vers',
      tools.swVers,
      '--sysctl',
      tools.sysctl,
      '--first-delay',
      '0',
    ]);
    try {
      await checkedIn;
    } finally {
      agent.proc.kill('SIGTERM');
      await agent.exited;
    }
    const [report] = reports;
    assert.equal(report?.current, '1.0.3');
    const rollback = report?.events.find((e) => e.kind === 'rollback');
    assert.deepEqual(
      { ...rollback, at: undefined, duration_ms: undefined },
      {
        id: 'rollback-1_0_4',
        at: undefined,
        kind: 'rollback',
        from: '1.0.4',
        to: '1.0.3',
        result: 'ok',
        code: 'HEALTH_DEADLINE',
        duration_ms: undefined,
        bytes: null,
      },
      JSON.stringify(report),
    );
    // from the deadline to 1.0.3 installed again, on the helper's monotonic clock
    assert.ok(Number.isSafeInteger(rollback?.duration_ms) && rollback!.duration_ms! < 20_000);
    assert.deepEqual(mac.outbox()?.events, [], 'acknowledged: the helper dropped it');
    assert.match(
      readFileSync(agentLog, 'utf8'),
      /queued the helper's rollback 1\.0\.4 -> 1\.0\.3 \(ok, HEALTH_DEADLINE\) for the next checkin/,
    );
    // The quarantined 1.0.4 was not installed again.
    assert.equal(mac.helper.installedVersion(), '1.0.3');
  });
});

describe('a pending.json torn by a power loss, found by the real helper at its restart', () => {
  it('after N installed: logged STATE_TORN, rebuilt as P -> N with a fresh deadline, and rolled back at it', async () => {
    const mac = await macOn103(['--health-deadline', '600']);
    assert.equal((await mac.install('1.0.4')).ok, true);
    await mac.helper.stop();
    const pending = join(mac.helper.dir, 'state', 'pending.json');
    const whole = readFileSync(pending, 'utf8');
    writeFileSync(pending, whole.slice(0, Math.floor(whole.length / 2)));
    mac.helper = await startHelper({ key, dir: mac.helper.dir, extraArgs: ['--health-deadline', '2'] });
    assert.match(
      mac.log(),
      /pending\.json is torn or unreadable \[STATE_TORN\]; rebuilt as 1\.0\.3 -> 1\.0\.4 with a fresh deadline of 2 s/,
    );
    await until('rollback', () => mac.log().includes('rollback complete'), 20_000);
    assert.equal(mac.helper.installedVersion(), '1.0.3');
    assert.match(mac.log(), /SelfUpdate: rollback 1\.0\.4 -> 1\.0\.3 \(no health_ok within 2 s\)/);
  });

  it("a quarantined version kept beside P (a half restore) is never the rebuilt record's P: the newest other one is", async () => {
    const mac = await macOn103(['--health-deadline', '600']);
    assert.equal((await mac.install('1.0.4')).ok, true);
    const kept = join(mac.helper.dir, 'state', 'kept');
    const p103 = ['1.0.3.pkg', '1.0.3.json'].map((f) => [f, readFileSync(join(kept, f))] as const);
    assert.equal((await mac.install('1.0.5')).ok, true); // 1.0.4 asked for it (committed): 1.0.4 -> 1.0.5
    await mac.helper.stop();
    for (const [f, data] of p103) writeFileSync(join(kept, f), data); // 1.0.3 back beside 1.0.4 and 1.0.5
    writeFileSync(join(mac.helper.dir, 'state', 'quarantine.json'), '{"versions":["1.0.4"]}\n');
    const pending = join(mac.helper.dir, 'state', 'pending.json');
    writeFileSync(pending, readFileSync(pending, 'utf8').slice(0, 20));
    mac.helper = await startHelper({ key, dir: mac.helper.dir, extraArgs: ['--health-deadline', '2'] });
    assert.match(mac.log(), /\[STATE_TORN\]; rebuilt as 1\.0\.3 -> 1\.0\.5 with a fresh deadline of 2 s/);
    await until('rollback', () => mac.log().includes('rollback complete'), 20_000);
    assert.equal(mac.helper.installedVersion(), '1.0.3');
  });

  it('before N ran (only P kept): logged STATE_TORN and removed; P stands and nothing is rolled back', async () => {
    const mac = await macOn103(['--health-deadline', '2']);
    await mac.helper.stop();
    const pending = join(mac.helper.dir, 'state', 'pending.json');
    writeFileSync(pending, '{"from":"1.0.3","to":"1.0.4","to_sha256":"ab');
    mac.helper = await startHelper({ key, dir: mac.helper.dir, extraArgs: ['--health-deadline', '2'] });
    assert.match(mac.log(), /\[STATE_TORN\]; nothing kept to go back to, so it is removed and 1\.0\.3 stands/);
    assert.equal(existsSync(pending), false);
    // The ping answers after the start's reading: the helper is up, 1.0.3 stands, no installer ran again.
    const r = await sendHealth(mac.helper.socket, 'started', '1.0.3');
    assert.equal(r.ok && r.pending, false);
    assert.equal(mac.helper.installedVersion(), '1.0.3');
    assert.equal(mac.helper.invocations().length, 1);
  });
});
