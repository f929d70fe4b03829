/**
 * DATABASE_URL as operators write it: TLS settings are honoured (against a real TLS handshake on
 * loopback that speaks PostgreSQL's SSLRequest), and the password never reaches a message.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import type { AddressInfo } from 'node:net';
import { ExternalError, SettingsError } from '../../../../schema/errors.js';
import { openDatabase } from '../../../../pipeline/table/db/connect.js';
import { redactUrl, scrubSecrets } from '../../../../pipeline/table/db/redact.js';
import { testTls } from '../../../support/tls.js';
import { openTestDatabase } from '../../../support/db.js';

const SSL_REQUEST = 80877103;

/** What the fake server saw of one connection. */
interface Seen {
  sslRequested: boolean;
  handshake: boolean;
}

/** A server that answers SSLRequest with "S", completes TLS with the test certificate, then hangs up. */
async function fakePostgres(): Promise<{ port: number; seen: Seen[]; server: Server }> {
  const tls = testTls();
  const seen: Seen[] = [];
  const server = createServer((socket: Socket) => {
    const s: Seen = { sslRequested: false, handshake: false };
    seen.push(s);
    socket.once('data', (buf) => {
      if (buf.length >= 8 && buf.readInt32BE(4) === SSL_REQUEST) {
        s.sslRequested = true;
        socket.write('S');
        const secure = new TLSSocket(socket, { isServer: true, key: tls.key, cert: tls.cert });
        secure.on('secure', () => {
          s.handshake = true;
          secure.destroy();
        });
        secure.on('error', () => socket.destroy());
      } else {
        socket.destroy();
      }
    });
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as AddressInfo).port, seen, server };
}

async function failure(url: string): Promise<ExternalError> {
  const db = await openDatabase('/nonexistent', { DATABASE_URL: url });
  try {
    await db.query('SELECT 1');
  } catch (err) {
    assert.ok(err instanceof ExternalError, String(err));
    return err;
  } finally {
    await db.close();
  }
  assert.fail('expected the connection to fail');
}

describe('DATABASE_URL', () => {
  let pgFake: Awaited<ReturnType<typeof fakePostgres>>;
  before(async () => (pgFake = await fakePostgres()));
  after(() => pgFake.server.close());
  const base = () => `postgres://deploy:Sup3rSecretPw@127.0.0.1:${pgFake.port}/mngd`;

  it('verifies the server certificate against sslrootcert (verify-full)', async () => {
    const before = pgFake.seen.length;
    const err = await failure(`${base()}?sslmode=verify-full&sslrootcert=${encodeURIComponent(testTls().caFile)}`);
    const s = pgFake.seen.slice(before);
    assert.ok(
      s.some((x) => x.sslRequested && x.handshake),
      'the TLS handshake completed with the given CA',
    );
    assert.doesNotMatch(err.message, /Sup3rSecretPw/);
  });

  it('refuses a server certificate the system roots do not trust', async () => {
    const before = pgFake.seen.length;
    const err = await failure(`${base()}?sslmode=verify-full`);
    assert.ok(pgFake.seen.slice(before).some((x) => x.sslRequested));
    assert.ok(pgFake.seen.slice(before).every((x) => !x.handshake));
    assert.match(err.message, /certificate/i);
    assert.match(err.message, /postgres:\/\/deploy:\*\*\*@127\.0\.0\.1/);
    assert.doesNotMatch(err.message, /Sup3rSecretPw/);
  });

  it('does not ask for TLS with sslmode=disable', async () => {
    const before = pgFake.seen.length;
    await failure(`${base()}?sslmode=disable`);
    assert.ok(pgFake.seen.slice(before).length > 0);
    assert.ok(pgFake.seen.slice(before).every((x) => !x.sslRequested));
  });

  it('must be a postgres:// URL', async () => {
    await assert.rejects(openDatabase('/x', { DATABASE_URL: 'not a url' }), SettingsError);
    await assert.rejects(openDatabase('/x', { DATABASE_URL: 'mysql://u:p@h/db' }), SettingsError);
  });
});

describe('test/support/db', () => {
  it('fails, never falls back to PGlite, when TEST_DATABASE_URL cannot be reached', async () => {
    await assert.rejects(
      openTestDatabase({ TEST_DATABASE_URL: 'postgres://postgres:pw1234@127.0.0.1:1/test', CI: 'true' }),
      (err: Error) => {
        assert.match(
          err.message,
          /TEST_DATABASE_URL \(postgres:\/\/postgres:\*\*\*@127\.0\.0\.1:1\/test\) is not usable/,
        );
        assert.doesNotMatch(err.message, /pw1234/);
        return true;
      },
    );
  });
});

describe('redactUrl', () => {
  it('hides the password and password-like parameters', () => {
    assert.equal(
      redactUrl('postgres://u:p%40ss@h:5432/db?sslmode=require&password=x'),
      'postgres://u:***@h:5432/db?sslmode=require&password=***',
    );
    assert.equal(redactUrl('postgres://u@h/db'), 'postgres://u@h/db');
    assert.equal(redactUrl('::nonsense::'), '<unparseable database URL>');
  });

  it('scrubs the password from any text, raw or decoded', () => {
    const url = 'postgres://u:p%40ssw0rd@h/db';
    assert.equal(scrubSecrets('failed for p@ssw0rd and p%40ssw0rd', url), 'failed for *** and ***');
  });
});
