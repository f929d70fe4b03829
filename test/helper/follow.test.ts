/**
 * The helper follows the newest manifest the agent verified (docs/DESIGN.md, "Stopping a bad
 * release"), through the real bins and a real socket: the real `mngd-agent check --once` hands
 * its verified manifest to the real `mngd-helper serve`, and a local user of another uid (65534,
 * through `setpriv`) then replays an older signed manifest, or asks for a release outside this
 * device's rollout cohort. Both are refused; the installer never runs.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, chownSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sendManifest } from '../../helper/client.js';
import { testTls } from '../support/tls.js';
import { startCdn, type Cdn } from '../agent/support.js';
import { runAgent } from '../agent/process.js';
import {
  deviceIdFor,
  makePkg,
  newKey,
  releaseOf,
  requestAsUid,
  signedManifest,
  startHelper,
  type HelperProcess,
  type TestPkg,
} from './harness.js';

const NOBODY = 65534;

interface Reply {
  ok: boolean;
  error?: { code: string; message: string };
  outcome?: string;
  installed_version?: string;
}

describe('the helper follows the newest manifest the agent verified', () => {
  const key = newKey();
  let work: string;
  let cdn: Cdn;
  let pkg103: TestPkg;
  let pkg104: TestPkg;

  /** Sends one request to the helper as uid/gid 65534 with no other group, its uid proven: a local user, not the agent. */
  async function asNobody(helper: HelperProcess, request: object): Promise<Reply> {
    return (await requestAsUid(helper.socket, work, NOBODY, request)) as Reply;
  }

  /** A helper whose socket is 0660 with group 65534, reachable by that uid through the group only. */
  async function helperFor(deviceId: string): Promise<HelperProcess> {
    const h = await startHelper({ key, installed: '1.0.3', deviceId, extraArgs: ['--socket-group', String(NOBODY)] });
    chmodSync(h.dir, 0o755); // the folders on the way to the socket: any user may pass
    chmodSync(join(h.dir, 'run'), 0o755);
    const ping = await asNobody(h, { type: 'ping' });
    assert.equal(ping.installed_version, '1.0.3', `uid ${NOBODY} reaches the socket`);
    return h;
  }

  before(async () => {
    work = mkdtempSync(join(tmpdir(), 'mngd-follow-'));
    chmodSync(work, 0o755);
    pkg103 = makePkg(work, '1.0.3');
    pkg104 = makePkg(work, '1.0.4');
    chownSync(pkg104.path, NOBODY, NOBODY); // the local user's own download: the helper takes no other

    cdn = await startCdn();
  });
  after(async () => {
    await cdn.close();
    rmSync(work, { recursive: true, force: true });
  });

  it('refuses, to another uid, the replay of an older manifest after the agent verified a newer one (a yank)', async () => {
    const helper = await helperFor(deviceIdFor('1.0.4', 100));
    try {
      const offered = signedManifest([releaseOf(pkg104), releaseOf(pkg103)], [key]);
      const yanked = signedManifest([releaseOf(pkg103)], [key]); // 1.0.4 yanked: a newer sequence
      cdn.setManifest(Buffer.from(yanked));
      const agentState = mkdtempSync(join(work, 'agent-'));
      const agent = await runAgent([
        'check',
        '--once',
        '--json',
        '--manifest-url',
        cdn.manifestUrl,
        '--trusted-key',
        key.public_key,
        '--current-version',
        '1.0.3',
        '--state-dir',
        join(agentState, 'state'),
        '--log-file',
        join(agentState, 'agent.log'),
        '--helper-socket',
        helper.socket,
        '--device-id-file',
        helper.deviceIdFile,
        '--ca-file',
        testTls().caFile,
      ]);
      assert.equal(agent.code, 0, agent.stderr);
      assert.equal((JSON.parse(agent.stdout) as { outcome: string }).outcome, 'up-to-date');
      const sequence = (JSON.parse(yanked) as { signed: { sequence: number } }).signed.sequence;
      assert.match(
        readFileSync(helper.logFile, 'utf8'),
        new RegExp(`helper follows the stable manifest sequence ${sequence}`),
      );

      // The local user replays the older, still valid manifest that offered 1.0.4.
      const replay = await asNobody(helper, {
        type: 'install',
        manifest: offered,
        version: '1.0.4',
        pkg_path: pkg104.path,
      });
      assert.equal(replay.ok, false);
      assert.equal(replay.error?.code, 'MANIFEST_ROLLBACK', replay.error?.message);
      assert.deepEqual(helper.invocations(), [], 'the installer never ran');
      assert.equal(helper.installedVersion(), '1.0.3');
      // Nor can the older manifest be handed over as if the agent had verified it.
      const back = await sendManifest(helper.socket, offered);
      assert.equal(back.ok ? 'accepted' : back.error.code, 'MANIFEST_ROLLBACK');
    } finally {
      await helper.stop();
    }
  });

  it("refuses, to another uid, a version outside this device's rollout cohort, whatever the request says", async () => {
    const outside = deviceIdFor('1.0.4', 10, false);
    const helper = await helperFor(outside);
    try {
      const staged = signedManifest([releaseOf(pkg104, 10), releaseOf(pkg103)], [key]);
      const request = { type: 'install', manifest: staged, version: '1.0.4', pkg_path: pkg104.path };
      const refused = await asNobody(helper, request);
      assert.equal(refused.ok, false);
      assert.equal(refused.error?.code, 'VERSION_NOT_OFFERED', refused.error?.message);
      assert.match(refused.error?.message ?? '', /outside the 10% rollout cohort of 1\.0\.4/);
      assert.deepEqual(helper.invocations(), [], 'the installer never ran');
      assert.equal(helper.installedVersion(), '1.0.3');

      // The control: the same request on a device inside the cohort installs (the helper reads
      // the id itself at each install; only root may write the file).
      writeFileSync(helper.deviceIdFile, `${deviceIdFor('1.0.4', 10)}\n`);
      const done = await asNobody(helper, request);
      assert.equal(done.outcome, 'installed', done.error?.message);
      assert.equal(helper.installedVersion(), '1.0.4');
    } finally {
      await helper.stop();
    }
  });
});
