/**
 * The health gate's first half (#19): the real helper keeps the package each version came from
 * and, installing N over P, re-hashes P's kept package and writes `pending` durably first.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { requestInstall } from '../../helper/client.js';
import { KeptStore } from '../../helper/kept.js';
import { callbackLogger } from '../../helper/log.js';
import {
  makePkg,
  newKey,
  releaseOf,
  signedManifest,
  startHelper,
  type HelperProcess,
  type TestPkg,
} from './harness.js';

describe('the helper keeps P and writes pending before installing N', () => {
  const key = newKey();
  let helper: HelperProcess;
  let work: string;
  let pkgs: Record<string, TestPkg>;
  const state = (): string => join(helper.dir, 'state');
  const install = async (version: string) =>
    requestInstall(helper.socket, {
      manifest: signedManifest([releaseOf(pkgs[version]!)], [key]),
      version,
      pkg_path: pkgs[version]!.path,
    });

  before(async () => {
    work = mkdtempSync(join(tmpdir(), 'mngd-health-'));
    pkgs = {};
    for (const v of ['1.0.3', '1.0.4', '1.0.5']) pkgs[v] = makePkg(work, v);
    helper = await startHelper({ key, installed: '1.0.2', extraArgs: ['--health-deadline', '900'] });
  });
  after(async () => {
    await helper.stop();
    rmSync(work, { recursive: true, force: true });
    rmSync(helper.dir, { recursive: true, force: true });
  });

  it('with nothing kept of 1.0.2, installs 1.0.3 without a gate and keeps 1.0.3, root-only', async () => {
    const r = await install('1.0.3');
    assert.equal(r.ok, true, JSON.stringify(r));
    assert.equal(existsSync(join(state(), 'pending.json')), false);
    const kept = join(state(), 'kept');
    assert.equal(statSync(kept).mode & 0o777, 0o700);
    assert.deepEqual(readdirSync(kept).sort(), ['1.0.3.json', '1.0.3.pkg']);
    assert.deepEqual(readFileSync(join(kept, '1.0.3.pkg')), readFileSync(pkgs['1.0.3']!.path));
    assert.match(
      readFileSync(helper.logFile, 'utf8'),
      /keeps no rollback for 1\.0\.2 -> 1\.0\.3 \(no kept package of 1\.0\.2/,
    );
  });

  it('installing 1.0.4 over 1.0.3 writes pending {from, to, to_sha256, deadline, restarts} and keeps both', async () => {
    const r = await install('1.0.4');
    assert.equal(r.ok, true, JSON.stringify(r));
    const pending = JSON.parse(readFileSync(join(state(), 'pending.json'), 'utf8')) as Record<string, unknown>;
    assert.equal(pending['from'], '1.0.3');
    assert.equal(pending['to'], '1.0.4');
    assert.equal(pending['to_sha256'], pkgs['1.0.4']!.sha256);
    assert.equal(pending['deadline_s'], 900);
    assert.equal(pending['restarts'], 0);
    assert.ok(Math.abs(Date.parse(pending['deadline'] as string) - Date.now() - 900_000) < 60_000);
    assert.deepEqual(readdirSync(join(state(), 'kept')).sort(), ['1.0.3.json', '1.0.3.pkg', '1.0.4.json', '1.0.4.pkg']);
    assert.match(
      readFileSync(helper.logFile, 'utf8'),
      /kept 1\.0\.3 \(re-hashed\) for a rollback; pending 1\.0\.3 -> 1\.0\.4/,
    );
  });

  it('a kept package changed on disk is caught by the re-hash: no pending, and the log says why', async () => {
    const kept = join(state(), 'kept', '1.0.4.pkg');
    writeFileSync(kept, Buffer.concat([readFileSync(kept), Buffer.from('x')]));
    const r = await install('1.0.5');
    assert.equal(r.ok, true, JSON.stringify(r));
    assert.equal(existsSync(join(state(), 'pending.json')), false);
    assert.match(
      readFileSync(helper.logFile, 'utf8'),
      /keeps no rollback for 1\.0\.4 -> 1\.0\.5 \(.*1\.0\.4\.pkg is not the package kept/,
    );
    assert.deepEqual(readdirSync(join(state(), 'kept')).sort(), ['1.0.5.json', '1.0.5.pkg']);
  });
});

describe('a half-written pending record (power loss)', () => {
  const setup = async (installed: string, keep: string[]) => {
    const dir = mkdtempSync(join(tmpdir(), 'mngd-torn-'));
    const lines: string[] = [];
    const store = new KeptStore(
      dir,
      callbackLogger((level, t) => lines.push(`${level} ${t}`)),
    );
    for (const v of keep) {
      const p = makePkg(dir, v);
      await store.keep(p.path, { version: v, sha256: p.sha256, size: p.size });
    }
    writeFileSync(store.pendingFile, '{"from":"1.0.3","to":"1.0.4","to_sha2');
    return { dir, store, lines, installed };
  };

  it('is detected (STATE_TORN) and rebuilt from the kept packages with a fresh deadline', async () => {
    const { store, lines } = await setup('1.0.4', ['1.0.3', '1.0.4']);
    assert.equal((await store.readPending()).state, 'torn');
    const now = new Date('2026-12-04T22:00:00Z');
    const p = await store.pendingAtStart('1.0.4', 900, now);
    assert.deepEqual(
      { ...p, to_sha256: undefined },
      {
        from: '1.0.3',
        to: '1.0.4',
        to_sha256: undefined,
        deadline: '2026-12-04T22:15:00.000Z',
        deadline_s: 900,
        restarts: 0,
      },
    );
    assert.equal((await store.readPending()).state, 'ok', 'the rebuilt record is written');
    assert.match(lines.join('\n'), /is torn or unreadable \[STATE_TORN\]; rebuilt as 1\.0\.3 -> 1\.0\.4/);
  });

  it('is removed when nothing else is kept (the install had not run: P stands)', async () => {
    const { store, lines } = await setup('1.0.3', ['1.0.3']);
    assert.equal(await store.pendingAtStart('1.0.3', 900, new Date()), null);
    assert.equal((await store.readPending()).state, 'none');
    assert.match(lines.join('\n'), /\[STATE_TORN\]; nothing kept to go back to, so it is removed and 1\.0\.3 stands/);
  });

  it('a record of the wrong shape counts as torn too', async () => {
    const { store } = await setup('1.0.4', []);
    writeFileSync(store.pendingFile, JSON.stringify({ from: '1.0.3', to: '1.0.4', restarts: -1 }));
    assert.equal((await store.readPending()).state, 'torn');
  });

  it('took_over: read when it is a due rollback to the same P; a record without it (the previous version) reads as before', async () => {
    const { store } = await setup('1.0.4', []);
    const base = { to_sha256: 'a'.repeat(64), deadline: '2026-12-04T22:15:00.000Z', deadline_s: 900, restarts: 0 };
    const due = {
      ...base,
      from: '1.0.3',
      to: '1.0.4',
      rolling_back: 'no health_ok within 900 s',
      cause: 'HEALTH_DEADLINE',
    };
    const read = async (record: unknown) => {
      writeFileSync(store.pendingFile, JSON.stringify(record));
      return store.readPending();
    };
    const old = { ...base, from: '1.0.3', to: '1.0.5' };
    assert.deepEqual(await read(old), { state: 'ok', pending: old }, 'written before took_over existed');
    const taking = { ...old, took_over: due };
    assert.deepEqual(await read(taking), { state: 'ok', pending: taking });
    // Strict: anything else under took_over is a damaged record (torn: rebuilt from the kept packages).
    for (const bad of [
      { ...old, took_over: { ...due, rolling_back: undefined } }, // not a due rollback
      { ...old, took_over: { ...due, from: '1.0.2' } }, // another P
      { ...old, took_over: { ...due, to: 'x' } },
      { ...old, took_over: { ...due, took_over: due } }, // nested
      { ...old, took_over: due, rolling_back: 'no health_ok within 900 s' }, // never both
      { ...old, took_over: '1.0.4' },
      { ...old, took_over: null },
    ])
      assert.equal((await read(bad)).state, 'torn', JSON.stringify(bad));
  });
});
