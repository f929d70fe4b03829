/** Protocol v1: request and reply parsing (pure), and the client against real sockets that misbehave. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { HelperClientError, HelperError } from '../../helper/protocol.js';
import { parseRequest, parseResponse } from '../../helper/wire.js';
import { ping, requestInstall } from '../../helper/client.js';

const install = { v: 1, id: 'r1', type: 'install', manifest: '{}', version: '1.0.3', pkg_path: '/tmp/a.pkg' };

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof HelperError, `expected a HelperError, got ${String(err)}`);
    return err.code;
  }
  assert.fail('expected it to throw');
}

describe('parseRequest', () => {
  it('accepts a ping and an install request', () => {
    assert.deepEqual(parseRequest('{"v":1,"id":"a","type":"ping"}'), { v: 1, id: 'a', type: 'ping' });
    assert.deepEqual(parseRequest(JSON.stringify(install)), install);
  });

  it('refuses every malformed request with BAD_REQUEST', () => {
    const bad: unknown[] = [
      '{"v":1,',
      '[1]',
      'null',
      { ...install, id: '' },
      { ...install, id: 'x'.repeat(129) },
      { ...install, id: 'has space' },
      { ...install, type: 'uninstall' },
      { ...install, extra: true },
      { v: 1, id: 'a', type: 'ping', manifest: 'x' },
      { ...install, manifest: '' },
      { ...install, manifest: 5 },
      { ...install, version: 'v1.0.3' },
      { ...install, version: '1.0.3-beta' },
      { ...install, pkg_path: 'relative/a.pkg' },
      { ...install, pkg_path: '/tmp/a\u0000.pkg' },
      { ...install, pkg_path: 7 },
    ];
    for (const b of bad) {
      const line = typeof b === 'string' ? b : JSON.stringify(b);
      assert.equal(
        codeOf(() => parseRequest(line)),
        'BAD_REQUEST',
        line,
      );
    }
  });

  it('accepts a prove with a uid, and a proof on any other request; refuses a bad uid or proof', () => {
    assert.deepEqual(parseRequest('{"v":1,"id":"p","type":"prove","uid":65534}'), {
      v: 1,
      id: 'p',
      type: 'prove',
      uid: 65534,
    });
    const proof = 'ab'.repeat(32);
    assert.deepEqual(parseRequest(JSON.stringify({ ...install, proof })), { ...install, proof });
    assert.deepEqual(parseRequest(JSON.stringify({ v: 1, id: 'a', type: 'ping', proof })), {
      v: 1,
      id: 'a',
      type: 'ping',
      proof,
    });
    // (uid_t)-1 would mean "leave the owner" to chown: never a uid a client may claim.
    for (const uid of [-1, 0xffffffff, 1.5, '0', null])
      assert.equal(
        codeOf(() => parseRequest(JSON.stringify({ v: 1, id: 'p', type: 'prove', uid }))),
        'BAD_REQUEST',
      );
    assert.equal(
      codeOf(() => parseRequest(JSON.stringify({ v: 1, id: 'p', type: 'prove', uid: 1, proof }))),
      'BAD_REQUEST',
    );
    for (const bad of ['', 'AB'.repeat(32), 'ab'.repeat(31), 7])
      assert.equal(
        codeOf(() => parseRequest(JSON.stringify({ ...install, proof: bad }))),
        'BAD_REQUEST',
      );
  });

  it('accepts a manifest request, and refuses one with anything else than the raw manifest', () => {
    const m = { v: 1, id: 'm1', type: 'manifest', manifest: '{"signed":{}}' };
    assert.deepEqual(parseRequest(JSON.stringify(m)), m);
    for (const b of [
      { ...m, manifest: '' },
      { ...m, manifest: 3 },
      { ...m, version: '1.0.3' },
      { ...m, pkg_path: '/a' },
    ]) {
      assert.equal(
        codeOf(() => parseRequest(JSON.stringify(b))),
        'BAD_REQUEST',
        JSON.stringify(b),
      );
    }
  });

  it('names the request in a refusal once its id could be read', () => {
    try {
      parseRequest(JSON.stringify({ ...install, v: 2 }));
      assert.fail('expected a refusal');
    } catch (err) {
      assert.ok(err instanceof HelperError);
      assert.equal(err.requestId, 'r1');
    }
  });

  it('refuses another protocol version with UNSUPPORTED_VERSION', () => {
    assert.equal(
      codeOf(() => parseRequest(JSON.stringify({ ...install, v: 2 }))),
      'UNSUPPORTED_VERSION',
    );
    assert.equal(
      codeOf(() => parseRequest('{"id":"a","type":"ping"}')),
      'UNSUPPORTED_VERSION',
    );
  });
});

describe('parseResponse', () => {
  it('accepts the three reply shapes', () => {
    assert.ok(parseResponse('{"v":1,"id":"a","ok":true,"installed_version":null}'));
    assert.ok(
      parseResponse(
        '{"v":1,"id":"a","ok":true,"outcome":"installed","version":"1.0.3","exit_code":0,"output_tail":""}',
      ),
    );
    assert.ok(
      parseResponse(
        '{"v":1,"id":null,"ok":false,"error":{"code":"BUSY","message":"m"},"exit_code":1,"output_tail":"x"}',
      ),
    );
  });

  it("reads the health gate's outcomes in a started reply, and a reply without them (a helper that predates them)", () => {
    const event =
      '{"id":"rollback-1_0_4","at":"2026-12-04T12:00:00.000Z","kind":"rollback","from":"1.0.4","to":"1.0.3","result":"ok","code":"HEALTH_DEADLINE","duration_ms":120,"bytes":null}';
    const base = '"v":1,"id":"a","ok":true,"outcome":"started","pending":false,"quarantined":["1.0.4"]';
    assert.ok(parseResponse(`{${base},"events":[${event}]}`));
    assert.ok(parseResponse(`{${base}}`));
    assert.equal(parseResponse(`{${base},"events":[{"id":"x y"}]}`), null, 'an outcome the report would refuse');
    assert.ok(parseResponse('{"v":1,"id":"a","ok":true,"outcome":"events_ack","remaining":0}'));
  });

  it('returns null for anything else', () => {
    for (const line of [
      'garbage',
      '{"v":2,"id":"a","ok":true,"installed_version":"1"}',
      '{"v":1,"id":"a","ok":"yes"}',
      '{"v":1,"id":"a","ok":false,"error":"BUSY"}',
      '{"v":1,"id":"a","ok":false,"error":{"code":"X","message":"m"},"exit_code":"1"}',
      '{"v":1,"id":"a","ok":true,"outcome":"installed","version":"1.0.3","exit_code":1,"output_tail":""}',
      '{"v":1,"id":null,"ok":true,"installed_version":"1"}',
    ]) {
      assert.equal(parseResponse(line), null, line);
    }
  });
});

describe('the helper client', () => {
  let dir: string;
  const servers: Server[] = [];
  /** A socket server that answers each connection with `behave`. */
  async function fakeHelper(name: string, behave: (sock: Socket, line: string) => void): Promise<string> {
    const path = join(dir, name);
    const server = createServer((sock) => {
      let buf = '';
      sock.on('data', (d) => {
        buf += d.toString();
        const nl = buf.indexOf('\n');
        if (nl !== -1) behave(sock, buf.slice(0, nl));
      });
      sock.on('error', () => undefined);
    });
    servers.push(server);
    await new Promise<void>((r) => server.listen(path, r));
    return path;
  }

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'mngd-client-'));
  });
  after(async () => {
    for (const s of servers) await new Promise((r) => s.close(r));
    rmSync(dir, { recursive: true, force: true });
  });

  async function clientCode(p: Promise<unknown>): Promise<string> {
    try {
      await p;
    } catch (err) {
      assert.ok(err instanceof HelperClientError, `expected a HelperClientError, got ${String(err)}`);
      return err.code;
    }
    assert.fail('expected the client to reject');
  }

  it('is HELPER_UNREACHABLE when there is no socket, or the path is not one', async () => {
    assert.equal(await clientCode(ping(join(dir, 'missing.sock'))), 'HELPER_UNREACHABLE');
    writeFileSync(join(dir, 'file.sock'), 'not a socket');
    assert.equal(await clientCode(ping(join(dir, 'file.sock'))), 'HELPER_UNREACHABLE');
  });

  it('is HELPER_TIMEOUT when the helper never answers', async () => {
    const path = await fakeHelper('silent.sock', () => undefined);
    assert.equal(await clientCode(ping(path, { timeoutMs: 200 })), 'HELPER_TIMEOUT');
  });

  it('is HELPER_PROTOCOL on garbage, a wrong id, a silent close, or an endless reply', async () => {
    const garbage = await fakeHelper('garbage.sock', (s) => s.write('hello there\n'));
    assert.equal(await clientCode(ping(garbage)), 'HELPER_PROTOCOL');
    const wrongId = await fakeHelper('wrong-id.sock', (s) =>
      s.write('{"v":1,"id":"other","ok":true,"installed_version":"1"}\n'),
    );
    assert.equal(await clientCode(ping(wrongId, { id: 'mine' })), 'HELPER_PROTOCOL');
    const closes = await fakeHelper('closes.sock', (s) => s.end());
    assert.equal(await clientCode(ping(closes)), 'HELPER_PROTOCOL');
    const endless = await fakeHelper('endless.sock', (s) => s.write(Buffer.alloc(2 * 1024 * 1024, 0x61)));
    assert.equal(await clientCode(ping(endless)), 'HELPER_PROTOCOL');
    const pingForInstall = await fakeHelper('mixed.sock', (s, line) =>
      s.write(
        JSON.stringify({ v: 1, id: (JSON.parse(line) as { id: string }).id, ok: true, installed_version: '1' }) + '\n',
      ),
    );
    assert.equal(
      await clientCode(requestInstall(pingForInstall, { manifest: '{}', version: '1.0.3', pkg_path: '/a.pkg' })),
      'HELPER_PROTOCOL',
    );
  });

  it('asks a helper older than the proof again without it, on a new connection', async () => {
    const seen: object[] = [];
    // A version-1 helper from before "prove": BAD_REQUEST for the unknown type, then it closes.
    const old = await fakeHelper('old.sock', (s, line) => {
      const req = JSON.parse(line) as { id: string; type: string };
      seen.push(req);
      if (req.type === 'prove') {
        s.end(
          JSON.stringify({
            v: 1,
            id: req.id,
            ok: false,
            error: { code: 'BAD_REQUEST', message: '"type" must be "ping" or "install", got "prove"' },
          }) + '\n',
        );
        return;
      }
      s.write(JSON.stringify({ v: 1, id: req.id, ok: true, installed_version: '1.0.2' }) + '\n');
    });
    const reply = await ping(old, { id: 'p1' });
    assert.deepEqual(reply, { v: 1, id: 'p1', ok: true, installed_version: '1.0.2' });
    assert.deepEqual(seen, [
      { v: 1, id: 'p1', type: 'prove', uid: process.getuid!() },
      { v: 1, id: 'p1', type: 'ping' },
    ]);
  });

  it('resolves a refusal as a reply, not an error', async () => {
    const path = await fakeHelper('busy.sock', (s, line) =>
      s.write(
        JSON.stringify({
          v: 1,
          id: (JSON.parse(line) as { id: string }).id,
          ok: false,
          error: { code: 'BUSY', message: 'busy' },
        }) + '\n',
      ),
    );
    const reply = await requestInstall(path, { id: 'r9', manifest: '{}', version: '1.0.3', pkg_path: '/a.pkg' });
    assert.deepEqual(reply, { v: 1, id: 'r9', ok: false, error: { code: 'BUSY', message: 'busy' } });
  });
});
