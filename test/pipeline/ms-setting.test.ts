/**
 * The time-out settings' one rule (pipeline/ms-setting.ts): whole milliseconds from 100 up, digits
 * only, no leading zero. `099` is 99 ms, below the promised minimum, and is refused like `5m`, in
 * both places that read such settings (the database's and the S3 store's) and as exit 2.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SettingsError } from '../../schema/errors.js';
import { parseMsSetting } from '../../pipeline/ms-setting.js';
import { dbTimeouts } from '../../pipeline/table/db/timeouts.js';
import { storeTimeouts } from '../../pipeline/manifests/target.js';
import { runBin, tempRepo } from '../support/cli.js';

const refused = (text: string) => (err: unknown) =>
  err instanceof SettingsError &&
  err.message === `MNGD_X_MS=${text} is not a time-out: write whole milliseconds from 100 up, e.g. MNGD_X_MS=30000`;

describe('parseMsSetting', () => {
  it('reads whole milliseconds from 100 to 999 999 999', () => {
    for (const [text, ms] of [
      ['100', 100],
      ['1500', 1500],
      ['300000', 300_000],
      ['999999999', 999_999_999],
    ] as const)
      assert.equal(parseMsSetting('MNGD_X_MS', text, 30_000), ms);
  });

  it('refuses a leading zero (099 would be 99 ms; 0100 reads as 100 only by accident)', () => {
    for (const text of ['099', '0100', '000', '0999', '00000100'])
      assert.throws(() => parseMsSetting('MNGD_X_MS', text, 30_000), refused(text), text);
  });

  it('refuses values below 100, above 999 999 999, and anything but digits', () => {
    for (const text of ['0', '99', '1000000000', '5m', '1e3', '+100', '-100', ' 100', '100.5', '1_000'])
      assert.throws(() => parseMsSetting('MNGD_X_MS', text, 30_000), refused(text), text);
  });

  it('is the rule of every database and S3 time-out setting', () => {
    for (const name of ['MNGD_DB_CONNECT_TIMEOUT_MS', 'MNGD_DB_QUERY_TIMEOUT_MS', 'MNGD_SYNC_LOCK_WAIT_MS'])
      assert.throws(() => dbTimeouts({ [name]: '099' }), new RegExp(`${name}=099 is not a time-out`), name);
    for (const name of ['MNGD_S3_REQUEST_TIMEOUT_MS', 'MNGD_S3_DEADLINE_MS'])
      assert.throws(() => storeTimeouts({ [name]: '099' }), new RegExp(`${name}=099 is not a time-out`), name);
  });

  it('a leading zero ends the command with exit 2 naming the setting, before any connection', async () => {
    const repo = tempRepo();
    const r = await runBin(['sync'], {
      cwd: repo.root,
      env: { DATABASE_URL: 'postgres://postgres@127.0.0.1:1/test', MNGD_DB_CONNECT_TIMEOUT_MS: '099' },
    });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /MNGD_DB_CONNECT_TIMEOUT_MS=099 is not a time-out: write whole milliseconds from 100 up/);
  });
});
