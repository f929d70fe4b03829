/**
 * Who signed the package (issue 20, hole 8). The parsers on each output the tools print (captured
 * from the stand-ins in test/support/stand-in-macos/, which print the real formats: signed,
 * unsigned, ad hoc, development, expired, wrong team, not notarized); then the real helper with
 * --team-id: each refusal has its own code, a hanging pkgutil is killed at --signature-timeout,
 * and the installer is never spawned after any refusal.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { requestInstall } from '../../helper/client.js';
import { parsePkgutil, parseSpctl } from '../../helper/signature.js';
import {
  deviceIdFor,
  makePkg,
  newKey,
  releaseOf,
  ROOT,
  signedManifest,
  startHelper,
  until,
  type HelperProcess,
} from './harness.js';

const PKGUTIL = join(ROOT, 'test/support/stand-in-macos/pkgutil');
const SPCTL = join(ROOT, 'test/support/stand-in-macos/spctl');

/** What a stand-in prints (stdout and stderr together, as the helper reads them) and its exit code. */
function captured(tool: string, mode: string): { text: string; code: number | null } {
  const args = tool === PKGUTIL ? ['--check-signature', '/s/x.pkg'] : ['-a', '-vv', '-t', 'install', '/s/x.pkg'];
  const r = spawnSync(tool, args, { env: { ...process.env, STANDIN_SIGNATURE: mode }, encoding: 'utf8' });
  return { text: r.stdout + r.stderr, code: r.status };
}

describe('parsePkgutil on each output pkgutil --check-signature prints', () => {
  const cases: [string, object][] = [
    ['signed', { ok: true, teamId: 'ABCDE12345', leaf: 'Developer ID Installer: Example Corp (ABCDE12345)' }],
    ['wrong-team', { ok: true, teamId: 'ZZZZZ99999', leaf: 'Developer ID Installer: Someone Else Ltd (ZZZZZ99999)' }],
    ['unsigned', { ok: false, code: 'PKG_UNSIGNED', why: 'Status: no signature' }],
    ['adhoc', { ok: false, code: 'PKG_SIGNER_UNTRUSTED', why: 'signed by untrusted certificate (pkgutil exit 1)' }],
    [
      'expired',
      {
        ok: false,
        code: 'PKG_SIGNER_UNTRUSTED',
        why: 'signed by a certificate that has since expired (pkgutil exit 0)',
      },
    ],
    [
      'development',
      {
        ok: false,
        code: 'PKG_SIGNER_UNTRUSTED',
        why: 'signed by a development certificate issued by Apple (Development) (pkgutil exit 0)',
      },
    ],
  ];
  for (const [mode, want] of cases) {
    it(mode, () => {
      const { text, code } = captured(PKGUTIL, mode);
      assert.deepEqual(parsePkgutil(text, code), want);
    });
  }
  it('a distribution status whose leaf is not a Developer ID Installer (an Application certificate)', () => {
    const { text } = captured(PKGUTIL, 'signed');
    const app = text.replace('1. Developer ID Installer:', '1. Developer ID Application:');
    assert.equal((parsePkgutil(app, 0) as { code: string }).code, 'PKG_SIGNER_UNTRUSTED');
  });
  it('nothing at all (killed, or not pkgutil)', () => {
    assert.equal((parsePkgutil('', null) as { code: string }).code, 'PKG_UNSIGNED');
  });
});

describe('parseSpctl on each output spctl -a -vv -t install prints', () => {
  it('notarized: accepted', () => {
    const { text, code } = captured(SPCTL, 'signed');
    assert.deepEqual(parseSpctl(text, code), { ok: true });
  });
  it('Developer ID but not notarized: rejected', () => {
    const { text, code } = captured(SPCTL, 'not-notarized');
    assert.deepEqual(parseSpctl(text, code), {
      ok: false,
      why: 'rejected, source=Unnotarized Developer ID (spctl exit 3)',
    });
  });
  it('no usable signature: rejected', () => {
    const { text, code } = captured(SPCTL, 'unsigned');
    assert.deepEqual(parseSpctl(text, code), { ok: false, why: 'rejected, source=no usable signature (spctl exit 3)' });
  });
  it('accepted as plain Developer ID (an older macOS): not notarized', () => {
    assert.equal(parseSpctl('/s/x.pkg: accepted\nsource=Developer ID\n', 0).ok, false);
  });
});

describe('mngd-helper serve --team-id: the signer check before the installer', () => {
  const key = newKey();
  let helper: HelperProcess;
  let work: string;
  let modeFile: string;

  before(async () => {
    work = mkdtempSync(join(tmpdir(), 'mngd-signature-'));
    modeFile = join(work, 'signature-mode');
    helper = await startHelper({
      key,
      installed: '1.0.2',
      deviceId: deviceIdFor('1.0.3', 100),
      extraArgs: [
        '--team-id',
        'QQQQQ11111',
        '--team-id',
        'ABCDE12345',
        '--pkgutil',
        PKGUTIL,
        '--spctl',
        SPCTL,
        '--signature-timeout',
        '1',
      ],
      env: { STANDIN_SIGNATURE_FILE: modeFile },
    });
  });
  after(async () => {
    await helper.stop();
    rmSync(helper.dir, { recursive: true, force: true });
    rmSync(work, { recursive: true, force: true });
  });

  async function install(mode: string) {
    writeFileSync(modeFile, `${mode}\n`);
    const pkg = makePkg(work, '1.0.3');
    return requestInstall(helper.socket, {
      manifest: signedManifest([releaseOf(pkg)], [key]),
      version: '1.0.3',
      pkg_path: pkg.path,
    });
  }

  const refusals: [string, string, RegExp][] = [
    ['unsigned', 'PKG_UNSIGNED', /is not signed: Status: no signature/],
    ['adhoc', 'PKG_SIGNER_UNTRUSTED', /untrusted certificate/],
    ['expired', 'PKG_SIGNER_UNTRUSTED', /has since expired/],
    ['development', 'PKG_SIGNER_UNTRUSTED', /development certificate/],
    ['wrong-team', 'PKG_TEAM_ID_MISMATCH', /got ZZZZZ99999, want QQQQQ11111 or ABCDE12345/],
    ['not-notarized', 'PKG_NOT_NOTARIZED', /Unnotarized Developer ID/],
    ['hang', 'PKG_SIGNATURE_CHECK_TIMEOUT', /ran longer than 1 s and was killed/],
  ];
  for (const [mode, code, message] of refusals) {
    it(`refuses a package ${mode}: ${code}, the installer never spawned, nothing left staged`, async () => {
      const reply = await install(mode);
      assert.equal(reply.ok, false, JSON.stringify(reply));
      assert.equal(!reply.ok && reply.error.code, code);
      assert.match(!reply.ok ? reply.error.message : '', message);
      assert.deepEqual(helper.invocations(), [], 'the installer must not have been invoked');
      assert.equal(helper.installedVersion(), '1.0.2');
      assert.deepEqual(helper.stagedFiles(), []);
      if (mode === 'hang') {
        const [, child] = readFileSync(helper.pidFile, 'utf8').trim().split(' ').map(Number);
        await until('the hanging tool and its child to be killed', () => {
          try {
            process.kill(child!, 0);
            return false;
          } catch {
            return true;
          }
        });
      }
    });
  }

  it('installs a notarized package from a configured team (the second of two)', async () => {
    const reply = await install('signed');
    assert.equal(reply.ok, true, JSON.stringify(reply));
    assert.equal(helper.invocations().length, 1);
    assert.equal(helper.installedVersion(), '1.0.3');
    assert.deepEqual(helper.stagedFiles(), [], 'the staged copy is removed after the install');
  });
});
