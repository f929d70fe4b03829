/**
 * An installer that exits 0 but leaves the old version in place (a package that is not the
 * release it is listed as) is reported, so the agent counts it toward its cool-down instead of
 * installing it again at every check.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requestInstall } from '../../helper/client.js';
import { makePkg, newKey, releaseOf, signedManifest, startHelper, type HelperProcess } from './harness.js';

describe('mngd-helper after a successful installer run', () => {
  const key = newKey();
  const work = mkdtempSync(join(tmpdir(), 'mngd-effective-'));
  let helper: HelperProcess;
  before(async () => {
    // The stand-in "installs" into another file: the version the helper reads stays 1.0.2.
    helper = await startHelper({ key, installed: '1.0.2', env: { STANDIN_VERSION_FILE: join(work, 'elsewhere') } });
  });
  after(async () => {
    await helper.stop();
  });

  it('refuses to call it installed when the installed version did not change', async () => {
    const pkg = makePkg(work, '1.0.3');
    const manifest = signedManifest([releaseOf(pkg)], [key]);
    const reply = await requestInstall(helper.socket, { id: 'x', manifest, version: '1.0.3', pkg_path: pkg.path });
    assert.equal(reply.ok, false, JSON.stringify(reply));
    if (reply.ok) return;
    assert.equal(reply.error.code, 'INSTALL_NOT_EFFECTIVE');
    assert.match(reply.error.message, /installed version is 1\.0\.2, not 1\.0\.3/);
    assert.equal(reply.exit_code, 0);
    assert.equal(helper.installedVersion(), '1.0.2');
    assert.equal(helper.invocations().length, 1, 'the installer did run');
  });
});
