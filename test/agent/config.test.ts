import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, chown, mkdir, mkdtemp, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveConfig, type Platform } from '../../agent/config.js';
import { MemoryLogger } from '../../agent/log.js';
import { StateStore } from '../../agent/state.js';
import { MngdError } from '../../schema/errors.js';
import { newSigner } from './support.js';

const key = newSigner().publicKey;
const key2 = newSigner().publicKey;
const mac: Platform = { platform: 'darwin', home: '/Users/ada', env: {} };
const linux: Platform = { platform: 'linux', home: '/home/ada', env: {} };
const minimal = { 'manifest-url': 'https://cdn.mngd.app/agent/latest.json', 'trusted-key': [key] };

describe('agent config', () => {
  it('defaults to the macOS places', () => {
    const c = resolveConfig(null, minimal, mac);
    assert.equal(c.logFile, '/Users/ada/Library/Logs/mngd/mngd.log');
    assert.equal(c.stateDir, '/Users/ada/Library/Application Support/mngd/agent');
    assert.equal(c.versionFile, '/Library/Application Support/mngd/VERSION');
    assert.equal(c.channel, 'stable');
    assert.equal(c.intervalMs, 3_600_000);
    assert.equal(c.firstDelayMaxMs, 600_000);
    assert.equal(c.floorRetryMs, 300_000);
    assert.equal(c.deviceId, null);
    assert.equal(c.currentVersion, null);
  });

  it('uses XDG_STATE_HOME elsewhere, or ~/.local/state', () => {
    assert.equal(
      resolveConfig(null, minimal, { ...linux, env: { XDG_STATE_HOME: '/var/xdg' } }).logFile,
      '/var/xdg/mngd/mngd.log',
    );
    const c = resolveConfig(null, minimal, linux);
    assert.equal(c.logFile, '/home/ada/.local/state/mngd/mngd.log');
    assert.equal(c.stateDir, '/home/ada/.local/state/mngd/agent');
    assert.equal(c.versionFile, '/var/lib/mngd/VERSION');
  });

  it('lets flags override the file, and takes repeated trusted keys for rotation', () => {
    const file = {
      path: 'agent.json',
      data: {
        manifest_url: 'https://a.example/latest.json',
        trusted_keys: [key],
        channel: 'beta',
        interval_seconds: 60,
      },
    };
    const c = resolveConfig(file, { channel: 'stable', 'trusted-key': [key, key2], interval: '0.5' }, linux);
    assert.equal(c.manifestUrl, 'https://a.example/latest.json');
    assert.equal(c.channel, 'stable');
    assert.equal(c.trustedKeys.length, 2);
    assert.equal(c.intervalMs, 500);
  });

  for (const [name, file, flags, where] of [
    ['an unknown key', { manifest_uri: 'https://x' }, minimal, /agent\.json: unknown setting "manifest_uri"/],
    ['a channel with capitals', {}, { ...minimal, channel: 'Beta' }, /--channel: "Beta" is not a channel name/],
    [
      'a number where a string belongs',
      { state_dir: 5 },
      minimal,
      /agent\.json: "state_dir": expected a non-empty string/,
    ],
    ['a device id with spaces', {}, { ...minimal, 'device-id': 'my mac' }, /--device-id/],
    [
      'seconds that are not a number',
      { floor_retry_seconds: 'soon' },
      minimal,
      /"floor_retry_seconds": expected a number of seconds/,
    ],
    [
      'an interval of 0 (a tight loop on the CDN)',
      { interval_seconds: 0 },
      minimal,
      /"interval_seconds": expected a number of seconds above 0/,
    ],
    [
      'a read time-out of 0',
      {},
      { ...minimal, 'read-timeout': '0' },
      /--read-timeout: expected a number of seconds above 0/,
    ],
  ] as const) {
    it(`names the place of ${name}`, () => {
      assert.throws(
        () => resolveConfig({ path: 'agent.json', data: file }, flags, linux),
        (err: unknown) => err instanceof MngdError && err.code === 'CONFIG_INVALID' && where.test(err.message),
      );
    });
  }
});

describe('an unknown key in the agent config file', () => {
  it('says the closest known key, then every known one', () => {
    assert.throws(
      () => resolveConfig({ path: 'agent.json', data: { manifest_uri: 'https://x' } }, minimal, linux),
      (err: unknown) =>
        err instanceof MngdError &&
        err.code === 'CONFIG_INVALID' &&
        err.message ===
          'agent.json: unknown setting "manifest_uri": did you mean "manifest_url"? Known settings: manifest_url, manifest_spec, sw_vers_command, sysctl_command, channel, trusted_keys, device_id, device_id_file, current_version, version_file, state_dir, helper_socket, log_file, ca_file, checkin_url, interval_seconds, first_delay_seconds, floor_retry_seconds, connect_timeout_seconds, read_timeout_seconds, install_timeout_seconds',
    );
  });

  it('lists the known keys alone when none is close', () => {
    assert.throws(
      () => resolveConfig({ path: 'agent.json', data: { colour: 'blue' } }, minimal, linux),
      (err: unknown) =>
        err instanceof MngdError &&
        err.message.startsWith('agent.json: unknown setting "colour"; known settings: manifest_url, '),
    );
  });
});

describe('agent state folder', () => {
  const dirs: string[] = [];
  const tmp = async () => {
    const d = await mkdtemp(join(tmpdir(), 'mngd-state-'));
    dirs.push(d);
    return d;
  };
  after(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

  it('creates a stable device id once, in a private file', async () => {
    const s = new StateStore(join(await tmp(), 'state'));
    await s.init();
    const id = await s.deviceId();
    assert.match(id, /^[0-9a-f]{32}$/);
    assert.equal(await new StateStore(s.dir).deviceId(), id);
    assert.equal((await stat(join(s.dir, 'device-id'))).mode & 0o777, 0o600);
  });

  it('tightens a state folder that others can read to 0700', async () => {
    const d = join(await tmp(), 'state');
    await mkdir(d, { mode: 0o755 });
    await chmod(d, 0o755);
    await new StateStore(d).init();
    assert.equal((await stat(d)).mode & 0o777, 0o700);
  });

  it('refuses a state folder that is a symbolic link', async () => {
    const base = await tmp();
    await mkdir(join(base, 'elsewhere'));
    await symlink(join(base, 'elsewhere'), join(base, 'state'));
    await assert.rejects(
      new StateStore(join(base, 'state')).init(),
      (err: unknown) => err instanceof MngdError && err.code === 'STATE_DIR',
    );
  });

  it('starts over from an unreadable state file with a warning, dropping the cached manifest', async () => {
    const s = new StateStore(join(await tmp(), 'state'));
    await s.init();
    await writeFile(join(s.dir, 'state.json'), '{"accepted": ');
    await s.writeCachedManifest(Buffer.from('{}'));
    const log = new MemoryLogger();
    const st = await s.read(log);
    assert.deepEqual(st, { accepted: null, manifest_etag: null, cooldowns: {} });
    assert.equal(log.of('WARN').length, 1);
    assert.equal(await s.readCachedManifest(), null);
    await s.write({ ...st, manifest_etag: '"x"' });
    assert.equal(
      (JSON.parse(await readFile(join(s.dir, 'state.json'), 'utf8')) as { manifest_etag: string }).manifest_etag,
      '"x"',
    );
  });
});

describe('the private state folder owned by another user', () => {
  it('is refused (STATE_DIR), not used: another user could plant or swap a package there', async () => {
    assert.equal(process.getuid?.(), 0, 'this test hands a folder to another user: run it as root');
    const base = await mkdtemp(join(tmpdir(), 'mngd-state-owner-'));
    try {
      const d = join(base, 'state');
      await mkdir(d, { mode: 0o700 });
      await chown(d, 65534, 65534);
      await assert.rejects(
        new StateStore(d).init(),
        (err: unknown) =>
          err instanceof MngdError && err.code === 'STATE_DIR' && /owned by uid 65534/.test(err.message),
      );
    } finally {
      await rm(base, { recursive: true, force: true });
    }
  });
});
