/**
 * The mngd pkg's contents and its postinstall, as the Installer would run it: the payload laid
 * out in a temporary root (DESTDIR-style), then postinstall with stand-in launchctl on the PATH.
 * It writes the settings the pkg was built with and starts exactly the documented daemons, helper
 * first; an upgrade reloads them in the background; another volume starts nothing.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { resolveConfig as resolveAgentConfig } from '../../agent/config.js';
import { defaults as helperDefaults, resolveConfig as resolveHelperConfig } from '../../helper/config.js';
import { AGENT_USER, DAEMON_LABELS, MAC_LAYOUT } from '../../scripts/package/layout.js';
import { ROOT } from '../helper/harness.js';
import { waitFor } from '../agent/process.js';

const run = promisify(execFile);
const STAND_INS = join(ROOT, 'test/support/stand-in-macos');
const PKG_ROOT = join(ROOT, 'dist/scripts/pkg-root.js');
const MANIFEST_URL = 'https://cdn.mngd.app/agent/channels/stable/latest.json';
const POLICY_KEYS = [...readFileSync(join(ROOT, 'releases/policy.yaml'), 'utf8').matchAll(/public_key: (\S+)/g)].map(
  (m) => m[1],
);

interface Installed {
  volume: string;
  record: string;
  state: string;
  stdout: string;
}

describe('the mngd pkg', () => {
  let work: string;
  let out: string;

  before(async () => {
    work = mkdtempSync(join(tmpdir(), 'mngd-pkg-'));
    const bins = join(work, 'bins');
    mkdirSync(bins);
    for (const b of ['mngd-agent', 'mngd-helper']) writeFileSync(join(bins, b), `#!/bin/sh\necho ${b}\n`);
    writeFileSync(
      join(work, 'settings.json'),
      JSON.stringify({ manifest_url: MANIFEST_URL, channel: 'beta', team_ids: ['ABCDE12345', 'QQQQQ11111'] }),
    );
    out = join(work, 'out');
    const r = await run(process.execPath, [
      PKG_ROOT,
      '--bins',
      bins,
      '--version',
      '1.4.0',
      '--settings',
      join(work, 'settings.json'),
      '--out',
      out,
    ]);
    assert.match(r.stdout, /pkg root: /);
  });
  after(() => rmSync(work, { recursive: true, force: true }));

  /** Copies the payload onto a fresh "volume" and runs postinstall there as the Installer would. */
  async function install(volume: string, target = '/', env: Record<string, string> = {}): Promise<Installed> {
    mkdirSync(volume, { recursive: true });
    cpSync(join(out, 'root'), volume, { recursive: true });
    const record = join(volume, '..', `${volume.split('/').pop()}-launchctl.txt`);
    const state = join(volume, '..', `${volume.split('/').pop()}-launchd`);
    const { stdout } = await run(join(out, 'scripts', 'postinstall'), ['/tmp/mngd-1.4.0.pkg', '/', target], {
      env: {
        PATH: `${STAND_INS}:${process.env['PATH']}`,
        DESTDIR: volume,
        STANDIN_LAUNCHCTL_RECORD: record,
        STANDIN_LAUNCHCTL_STATE: state,
        ...env,
      },
    });
    return { volume, record, state, stdout };
  }
  const calls = (i: Installed): string[] =>
    existsSync(i.record) ? readFileSync(i.record, 'utf8').trim().split('\n').filter(Boolean) : [];

  it('lays the payload out as documented: the executables, VERSION, both daemons, the newsyslog entry', () => {
    const root = join(out, 'root');
    for (const bin of [MAC_LAYOUT.agentBin, MAC_LAYOUT.helperBin])
      assert.equal(statSync(join(root, bin)).mode & 0o777, 0o755, bin);
    assert.equal(readFileSync(join(root, MAC_LAYOUT.versionFile), 'utf8'), '1.4.0\n');
    for (const label of DAEMON_LABELS)
      assert.ok(existsSync(join(root, MAC_LAYOUT.launchDaemons, `${label}.plist`)), label);
    assert.ok(existsSync(join(root, MAC_LAYOUT.newsyslog)));
    assert.equal(`/${MAC_LAYOUT.helperLog}`, helperDefaults('darwin').logFile);
  });

  it('postinstall writes the settings and bootstraps exactly the documented labels, helper first', async () => {
    const i = await install(join(work, 'mac1'));
    const app = join(i.volume, MAC_LAYOUT.appDir);
    const agent = JSON.parse(readFileSync(join(i.volume, MAC_LAYOUT.agentConfig), 'utf8')) as Record<string, unknown>;
    assert.deepEqual(agent, {
      manifest_url: MANIFEST_URL,
      channel: 'beta',
      trusted_keys: POLICY_KEYS,
      state_dir: `/${MAC_LAYOUT.agentState}`,
      log_file: `/${MAC_LAYOUT.agentLog}`,
    });
    // The daemons' own parsers accept what was written.
    const a = resolveAgentConfig({ path: 'agent.json', data: agent }, {}, { platform: 'darwin', home: '/', env: {} });
    assert.equal(a.manifestUrl, MANIFEST_URL);
    const h = resolveHelperConfig({ config: join(i.volume, MAC_LAYOUT.helperConfig) }, undefined, 'darwin');
    assert.equal(h.socketGroup, AGENT_USER);
    assert.equal(h.agentUser, AGENT_USER, 'only the agent may acknowledge the health gate outcomes');
    assert.equal(h.channel, 'beta');
    assert.equal(h.trustedKeys.length, POLICY_KEYS.length);
    assert.deepEqual(h.teamIds, ['ABCDE12345', 'QQQQQ11111'], 'the helper checks the signer against these');
    for (const f of [MAC_LAYOUT.agentConfig, MAC_LAYOUT.helperConfig])
      assert.equal(statSync(join(i.volume, f)).mode & 0o777, 0o644, f);
    // The agent's daemon (nobody) owns its state and log folders, and nothing else.
    const nobody = Number((await run('id', ['-u', AGENT_USER])).stdout.trim());
    assert.equal(statSync(join(i.volume, MAC_LAYOUT.agentState)).uid, nobody);
    assert.equal(statSync(join(i.volume, 'Library/Logs/mngd')).uid, nobody);
    assert.equal(statSync(app).uid, process.getuid?.());
    assert.deepEqual(
      calls(i),
      DAEMON_LABELS.flatMap((label) => [
        `print system/${label}`,
        `enable system/${label}`,
        `bootstrap system ${join(i.volume, MAC_LAYOUT.launchDaemons, `${label}.plist`)}`,
        `kickstart system/${label}`,
      ]),
    );
    assert.match(i.stdout, /com\.mngd\.helper started\npostinstall: com\.mngd\.agent started/);
  });

  it('an upgrade reloads both daemons in the background and removes the old per-user LaunchAgent', async () => {
    const volume = join(work, 'mac2');
    const old = join(volume, 'Library/LaunchAgents/com.mngd.agent.plist');
    mkdirSync(join(volume, 'Library/LaunchAgents'), { recursive: true });
    writeFileSync(old, '<plist/>');
    const first = await install(volume);
    assert.ok(!existsSync(old));
    const n = calls(first).length;
    const again = await install(volume);
    assert.match(again.stdout, /com\.mngd\.helper restarts with the new version/);
    // Backgrounded by design (the helper may be waiting on this very install): await its record.
    await waitFor(async () => calls(again).length >= n + 6, 'the background reloads');
    const reloads = calls(again).slice(n);
    for (const label of DAEMON_LABELS) {
      const plist = join(volume, MAC_LAYOUT.launchDaemons, `${label}.plist`);
      const i = reloads.indexOf(`bootout system/${label}`);
      assert.ok(i >= 0 && reloads.indexOf(`bootstrap system ${plist}`) > i, reloads.join('\n'));
    }
    assert.ok(!reloads.some((c) => c.startsWith('enable') || c.startsWith('kickstart')), reloads.join('\n'));
  });

  it('installed on another volume, postinstall writes the settings and starts nothing', async () => {
    const i = await install(join(work, 'external'), '/Volumes/Other');
    assert.deepEqual(calls(i), []);
    assert.ok(!existsSync(join(i.volume, MAC_LAYOUT.agentConfig)), 'not under the DESTDIR of the running system');
    assert.ok(existsSync(join(i.volume, 'Volumes/Other', MAC_LAYOUT.agentConfig)));
    assert.match(i.stdout, /not the running system/);
  });

  it('refuses bad build settings, naming the file and what to write, and writes nothing', async () => {
    const bad = join(work, 'bad.json');
    const o = join(work, 'bad-out');
    const refused = async (settings: object): Promise<string> => {
      writeFileSync(bad, JSON.stringify(settings));
      const args = [PKG_ROOT, '--bins', work, '--version', '1.4.0', '--settings', bad, '--out', o];
      const r = await run(process.execPath, args).then(
        () => ({ code: 0, stderr: '' }),
        (e: { code: number; stderr: string }) => e,
      );
      assert.equal(r.code, 2, r.stderr);
      assert.ok(!existsSync(o), `${JSON.stringify(settings)}: nothing written`);
      return r.stderr;
    };
    assert.match(
      await refused({ manifest_uri: MANIFEST_URL }),
      /bad\.json: unknown key "manifest_uri"; known: manifest_url/,
    );
    assert.match(await refused({ manifest_url: 'http://cdn.mngd.app/latest.json' }), /https/);
    // A Team ID the helper refuses leaves no half-written payload either.
    assert.match(
      await refused({ manifest_url: MANIFEST_URL, team_ids: ['abcde12345'] }),
      /--team-id "abcde12345" is not a Team ID/,
    );
  });
});
