/** Settings of `mngd-helper serve`: flags over the config file over the defaults, and every bad value refused. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defaults, parseKeysFile, resolveConfig } from '../../helper/config.js';
import { gidFromGroupFile, idFromDscl, resolveGroup, resolveUser, uidFromPasswdFile } from '../../helper/group.js';
import { MngdError } from '../../schema/errors.js';
import { newKey } from './harness.js';

const key = newKey().public_key;
const key2 = newKey().public_key;

function files(map: Record<string, string>): (p: string) => string {
  return (p) => {
    const t = map[p];
    if (t === undefined) throw Object.assign(new Error('missing'), { code: 'ENOENT' });
    return t;
  };
}

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof MngdError, String(err));
    return err.code;
  }
  return 'none';
}

describe('resolveConfig', () => {
  it('uses the platform defaults: /usr/sbin/installer -pkg {pkg} -target /, /var/log/mngd.log on macOS', () => {
    const c = resolveConfig({ 'trusted-key': [key] }, files({}), 'darwin');
    assert.equal(c.installer, '/usr/sbin/installer');
    assert.deepEqual(c.installerArgs, ['-pkg', '{pkg}', '-target', '/']);
    assert.equal(c.logFile, '/var/log/mngd.log');
    assert.equal(c.versionFile, '/Library/Application Support/mngd/VERSION');
    assert.equal(c.socketGroup, null);
    assert.equal(c.agentUser, 'nobody', "the agent's LaunchDaemon user");
    assert.equal(c.channel, 'stable');
    assert.equal(resolveConfig({ 'trusted-key': [key] }, files({}), 'linux').versionFile, '/var/lib/mngd/VERSION');
    assert.equal(defaults('linux').logFile, '/var/log/mngd-helper.log');
  });

  it('reads the config file, and flags override it', () => {
    const read = files({
      '/etc/h.json': JSON.stringify({
        socket: '/run/h.sock',
        socket_group: 'staff',
        agent_user: '_mngd',
        installer_timeout: 30,
        trusted_keys: [key],
        channel: 'beta',
        keys_file: '/etc/keys',
      }),
      '/etc/keys': `# rotation\n${key2}\n\n`,
    });
    const c = resolveConfig(
      { config: '/etc/h.json', socket: '/tmp/other.sock', 'installer-arg': ['--pkg={pkg}'] },
      read,
      'linux',
    );
    assert.equal(c.socketPath, '/tmp/other.sock');
    assert.equal(c.socketGroup, 'staff');
    assert.equal(c.agentUser, '_mngd');
    assert.equal(resolveConfig({ config: '/etc/h.json', 'agent-user': '501' }, read, 'linux').agentUser, '501');
    assert.equal(c.installerTimeoutMs, 30_000);
    assert.equal(c.channel, 'beta');
    assert.deepEqual(c.installerArgs, ['--pkg={pkg}']);
    assert.deepEqual(
      c.trustedKeys.map((k) => k.public_key),
      [key, key2],
    );
  });

  it('refuses wrong settings with CONFIG_INVALID', () => {
    const cases: Record<string, string | string[] | undefined>[] = [
      {},
      { 'trusted-key': ['not-a-key'] },
      { 'trusted-key': [key], socket: 'relative.sock' },
      { 'trusted-key': [key], installer: 'installer' },
      { 'trusted-key': [key], 'installer-timeout': '0' },
      { 'trusted-key': [key], 'installer-timeout': 'soon' },
      { 'trusted-key': [key], 'idle-timeout': '-1' },
      // Beyond 2^31 - 1 ms, setTimeout fires at once: the installer would be killed on start.
      { 'trusted-key': [key], 'installer-timeout': '3000000' },
      { 'trusted-key': [key], 'idle-timeout': '1e9' },
      { 'trusted-key': [key], 'installer-arg': ['-pkg', '/fixed.pkg'] },
      { 'trusted-key': [key], channel: 'Beta!' },
      { 'trusted-key': [key], config: '/missing.json' },
    ];
    for (const values of cases)
      assert.equal(
        codeOf(() => resolveConfig(values, files({}), 'linux')),
        'CONFIG_INVALID',
        JSON.stringify(values),
      );
  });

  it('refuses a bad config or keys file with CONFIG_INVALID, naming the file and line', () => {
    for (const text of [
      '{',
      '[]',
      '{"sockett": "/x"}',
      '{"installer_timeout": "10"}',
      '{"trusted_keys": "abc"}',
      '{"socket": ""}',
    ]) {
      assert.equal(
        codeOf(() => resolveConfig({ config: '/c.json', 'trusted-key': [key] }, files({ '/c.json': text }), 'linux')),
        'CONFIG_INVALID',
        text,
      );
    }
    assert.throws(() => parseKeysFile(`${key}\nnot-a-key\n`, '/etc/keys'), /\/etc\/keys:2/);
  });
});

describe('--rollback-retry', () => {
  const resolve = (values: Record<string, string | string[]>, file = '{}') =>
    resolveConfig({ config: '/c.json', 'trusted-key': [key], ...values }, files({ '/c.json': file }), 'linux');

  it('defaults to 30 s, 2 min, 10 min, then every 30 min; a flag or the file sets it, fractions allowed', () => {
    assert.deepEqual(resolve({}).rollbackRetryMs, [30_000, 120_000, 600_000, 1_800_000]);
    assert.deepEqual(resolve({ 'rollback-retry': '1, 2.5' }).rollbackRetryMs, [1000, 2500]);
    assert.deepEqual(resolve({}, '{"rollback_retry": "60,60,900"}').rollbackRetryMs, [60_000, 60_000, 900_000]);
    assert.deepEqual(resolve({ 'rollback-retry': '5' }, '{"rollback_retry": "60"}').rollbackRetryMs, [5000]);
  });

  it('refuses an empty, shrinking, too long or out-of-range schedule with CONFIG_INVALID, saying why', () => {
    const cases: [string, RegExp][] = [
      ['', /1 to 8 waits in seconds separated by commas/],
      ['30,,60', /1 to 8 waits/],
      ['1,2,3,4,5,6,7,8,9', /1 to 8 waits/],
      ['600,30', /must not shrink \(a failing rollback backs off\)/],
      ['0', /above 0/],
      ['0.0001', /at least 1 s each \(a shorter one runs the installer in a tight loop\), got "0\.0001"/],
      ['0.5,30', /at least 1 s each/],
      ['30,soon', /above 0/],
      ['1e9', /at most/],
    ];
    for (const [text, why] of cases) {
      assert.equal(
        codeOf(() => resolve({ 'rollback-retry': text })),
        'CONFIG_INVALID',
        text,
      );
      assert.throws(() => resolve({ 'rollback-retry': text }), why, text);
    }
    assert.equal(
      codeOf(() => resolve({}, '{"rollback_retry": 30}')),
      'CONFIG_INVALID',
      'a string, like the flag',
    );
  });
});

describe('gidFromGroupFile', () => {
  it('finds a group id by name', () => {
    const text = 'root:x:0:\nstaff:*:20:root\n_mngd:x:401:\n';
    assert.equal(gidFromGroupFile(text, 'staff'), 20);
    assert.equal(gidFromGroupFile(text, '_mngd'), 401);
    assert.equal(gidFromGroupFile(text, 'nobody-here'), null);
  });

  it("reads macOS's nobody (-2 in /etc/group) as gid 4294967294: the pkg's socket_group is nobody", () => {
    const text = '##\n# Group Database\n##\nnobody:*:-2:\nnogroup:*:-1:\nwheel:*:0:root\n';
    assert.equal(gidFromGroupFile(text, 'nobody'), 4294967294);
    assert.equal(gidFromGroupFile(text, 'wheel'), 0);
    assert.equal(gidFromGroupFile(text, 'nogroup'), null, "-1 is chown's 'unchanged', never a group");
  });
});

describe('resolveGroup (--socket-group)', () => {
  it('takes a numeric gid as is, a name from /etc/group, and names the setting for a group that does not exist', () => {
    assert.equal(resolveGroup('401', 'linux'), 401);
    assert.equal(resolveGroup('root', 'linux'), 0);
    assert.throws(
      () => resolveGroup('no-such-group-mngd', 'linux'),
      /--socket-group: no group named "no-such-group-mngd"/,
    );
  });
});

describe('idFromDscl', () => {
  it("reads dscl's PrimaryGroupID and UniqueID, -2 as 4294967294", () => {
    assert.equal(idFromDscl('PrimaryGroupID: -2\n', 'PrimaryGroupID'), 4294967294);
    assert.equal(idFromDscl('UniqueID: 501\n', 'UniqueID'), 501);
    assert.equal(idFromDscl('AppleMetaNodeLocation: /Local/Default\nPrimaryGroupID: 20\n', 'PrimaryGroupID'), 20);
    assert.equal(idFromDscl('No such key: PrimaryGroupID\n', 'PrimaryGroupID'), null);
    assert.equal(idFromDscl('PrimaryGroupID: 20\n', 'UniqueID'), null);
  });
});

describe('uidFromPasswdFile and resolveUser (--agent-user)', () => {
  it("finds a user id by name; macOS's nobody (-2) is uid 4294967294, what its processes prove", () => {
    const text =
      'root:*:0:0:System Administrator:/var/root:/bin/sh\nnobody:*:-2:-2:Unprivileged User:/var/empty:/usr/bin/false\n_mngd:*:401:401::/var/empty:/usr/bin/false\n';
    assert.equal(uidFromPasswdFile(text, 'nobody'), 4294967294);
    assert.equal(uidFromPasswdFile(text, '_mngd'), 401);
    assert.equal(uidFromPasswdFile(text, 'nobody-here'), null);
  });

  it('takes a numeric uid as is, and names the setting for a user that does not exist', () => {
    assert.equal(resolveUser('65534', 'linux'), 65534);
    assert.equal(
      codeOf(() => resolveUser('no-such-user-mngd', 'linux')),
      'CONFIG_INVALID',
    );
    assert.throws(() => resolveUser('no-such-user-mngd', 'linux'), /--agent-user: no user named "no-such-user-mngd"/);
  });
});
