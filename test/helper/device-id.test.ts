/**
 * One device per Mac: the device id comes from the hardware UUID (a stand-in ioreg printing the
 * real format), hashed with a fixed salt, so two users of one Mac report one id and the raw UUID
 * never leaves it.
 */
import assert from 'node:assert/strict';
import { chmodSync, chownSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DEVICE_ID_SALT, deviceIdOfUuid, ensureDeviceId, ioregPlatformUuid } from '../../helper/device-id.js';
import {
  routes,
  servePackage,
  startHttpsServer,
  status,
  type Handler,
  type TestServer,
} from '../support/https-server.js';
import { testTls } from '../support/tls.js';
import { startAgent } from '../agent/process.js';
import { makePkg, newKey, releaseOf, ROOT, signedManifest, startHelper, type HelperProcess } from './harness.js';

const IOREG = join(ROOT, 'test/support/stand-in-macos/ioreg');
const UUID = '4C4C4544-0042-3010-8052-B4C04F4B4D32';
const OTHER_MAC = '0E8F2B4A-77C1-5D2E-9A0B-3C6D1E2F4A5B';

describe('the device id from the hardware UUID', () => {
  it('reads IOPlatformUUID from ioreg output, and nothing from output without it', () => {
    const out = `+-o Mac14,2  <class IOPlatformExpertDevice>\n  {\n    "IOPlatformSerialNumber" = "C02XK0AAJGH5"\n    "IOPlatformUUID" = "${UUID.toLowerCase()}"\n  }\n`;
    assert.equal(ioregPlatformUuid(out), UUID);
    assert.equal(ioregPlatformUuid(out.replace('IOPlatformUUID', 'IOPlatformUUIDx')), null);
    assert.equal(ioregPlatformUuid('"IOPlatformUUID" = "not-a-uuid"'), null);
  });

  it('is SHA-256 of the fixed salt and the UUID: stable, per Mac, and not the UUID', () => {
    const id = deviceIdOfUuid(UUID);
    assert.match(id, /^[0-9a-f]{64}$/);
    assert.equal(id, deviceIdOfUuid(UUID.toLowerCase()));
    assert.notEqual(id, deviceIdOfUuid(OTHER_MAC));
    assert.equal(DEVICE_ID_SALT, 'mngd-device-id/v1/', 'a new salt moves every Mac to a new cohort');
    assert.ok(!id.includes(UUID.replaceAll('-', '').toLowerCase()));
  });

  it('refuses to make an id when ioreg fails or prints no UUID (exit 2, DEVICE_ID_FILE), writing nothing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mngd-devid-'));
    const file = join(dir, 'device-id');
    delete process.env['STANDIN_PLATFORM_UUID'];
    await assert.rejects(ensureDeviceId(file, IOREG), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'DEVICE_ID_FILE');
      assert.match(
        err.message,
        /--ioreg .*ioreg -rd1 -c IOPlatformExpertDevice failed.*STANDIN_PLATFORM_UUID is not set/s,
      );
      return true;
    });
    await assert.rejects(ensureDeviceId(file, join(dir, 'no-ioreg')), /failed \(.*ENOENT/);
    process.env['STANDIN_PLATFORM_UUID'] = '-';
    await assert.rejects(ensureDeviceId(file, IOREG), /printed no "IOPlatformUUID" = "<UUID>" line/);
    assert.throws(() => readFileSync(file));
    process.env['STANDIN_PLATFORM_UUID'] = UUID;
    try {
      assert.equal(await ensureDeviceId(file, IOREG), deviceIdOfUuid(UUID));
      assert.equal(readFileSync(file, 'utf8'), `${deviceIdOfUuid(UUID)}\n`);
    } finally {
      delete process.env['STANDIN_PLATFORM_UUID'];
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('two users on one Mac', () => {
  const key = newKey();
  let helper: HelperProcess;
  let cdn: TestServer;
  let work: string;
  let deviceIdFile: string;
  let caFile: string;
  /** each checkin hands its device_id to the oldest waiting user */
  const checkins: ((deviceId: string) => void)[] = [];

  before(async () => {
    // World-readable, as on a Mac: the agents run as other users than the root helper.
    work = mkdtempSync(join(tmpdir(), 'mngd-2users-'));
    chmodSync(work, 0o755);
    mkdirSync(join(work, 'mac'), { mode: 0o755 });
    deviceIdFile = join(work, 'mac', 'device-id');
    caFile = join(work, 'ca.pem');
    copyFileSync(testTls().caFile, caFile);
    chmodSync(caFile, 0o644);
    helper = await startHelper({
      key,
      installed: '1.0.2',
      extraArgs: ['--ioreg', IOREG, '--device-id-file', deviceIdFile],
      env: { STANDIN_PLATFORM_UUID: UUID },
    });
    const manifest = Buffer.from(signedManifest([releaseOf(makePkg(work, '1.0.2'))], [key]));
    const checkin: Handler = (req, res, srv) => {
      status(204)(req, res, srv);
      checkins.shift()?.(new URL(req.url ?? '/', 'https://x/').searchParams.get('device_id') ?? '');
    };
    cdn = await startHttpsServer(routes({ '/latest.json': servePackage(manifest), '/checkin': checkin }));
  });
  after(async () => {
    await helper.stop();
    await cdn.close();
    rmSync(work, { recursive: true, force: true });
    rmSync(helper.dir, { recursive: true, force: true });
  });

  /** One user's agent (its own uid, home and default state folder) until its first checkin. */
  async function checkinAs(uid: number): Promise<string> {
    const home = join(work, `home-${uid}`);
    mkdirSync(home, { mode: 0o700 });
    chownSync(home, uid, uid);
    const agent = startAgent(
      [
        'run',
        '--first-delay',
        '0',
        '--manifest-url',
        cdn.url('/latest.json'),
        '--checkin-url',
        cdn.url('/checkin'),
        '--trusted-key',
        key.public_key,
        '--ca-file',
        caFile,
        '--device-id-file',
        deviceIdFile,
        '--current-version',
        '1.0.2',
        '--helper-socket',
        helper.socket,
      ],
      { uid, gid: uid, env: { PATH: process.env['PATH'], HOME: home } },
    );
    const reported = await Promise.race([
      new Promise<string>((resolve) => checkins.push(resolve)),
      agent.exited.then(({ code }) =>
        assert.fail(`user ${uid}'s agent exited (${code}) before its checkin: ${agent.stderr}`),
      ),
    ]);
    agent.proc.kill('SIGTERM');
    const end = await agent.exited;
    assert.equal(end.code, 0, agent.stderr);
    return reported;
  }

  it('report one device id, the hashed hardware UUID the helper wrote', async () => {
    const a = await checkinAs(1001);
    const b = await checkinAs(1002);
    assert.equal(readFileSync(deviceIdFile, 'utf8').trim(), deviceIdOfUuid(UUID));
    assert.equal(a, deviceIdOfUuid(UUID));
    assert.equal(b, a);
    for (const r of cdn.requests) assert.ok(!r.path.toUpperCase().includes(UUID), `${r.path} carries the raw UUID`);
  });
});
