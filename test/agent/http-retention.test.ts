/**
 * What a finished request leaves behind, found by the soak (docs/agent.md): got's streams do not
 * destroy themselves at the end, so each request kept its abort listener on the run's stop signal,
 * and through it the caller's onData and everything that held (a 16 MiB package's writer). These
 * tests hold the client to leaving nothing: no listener on the stop signal, nothing of the call
 * reachable once it returned, and the connection still reused.
 */
import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { setImmediate as tick } from 'node:timers/promises';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { after, before, describe, it } from 'node:test';
import { createHttpClient, type HttpClient } from '../../agent/http/index.js';
import { testTls } from '../support/tls.js';
import { generatedBytes, routes, servePackage, startHttpsServer, type TestServer } from '../support/https-server.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const PKG = generatedBytes(11, 200_000);

describe('http client: nothing of a finished request stays', () => {
  let srv: TestServer;
  let connections = 0;
  const stop = new AbortController();
  let http: HttpClient;

  before(async () => {
    srv = await startHttpsServer(routes({ '/pkg': servePackage(PKG) }));
    srv.server.on('secureConnection', () => connections++);
    http = createHttpClient({ bin: 'mngd-agent', caFile: testTls().caFile, signal: stop.signal });
  });
  after(() => srv.close());

  it('leaves no listener on the run stop signal, with or without a deadline, and reuses the connection', async () => {
    const before = connections;
    for (let i = 0; i < 5; i++) {
      await http.stream(srv.url('/pkg'), { maxBytes: PKG.length, onData: () => undefined });
      await http.stream(srv.url('/pkg'), { maxBytes: PKG.length, onData: () => undefined, deadlineMs: 30_000 });
      await http.getBuffer(srv.url('/pkg'), { maxBytes: PKG.length, deadlineMs: 30_000 });
    }
    assert.equal(getEventListeners(stop.signal, 'abort').length, 0, 'abort listeners left on the stop signal');
    assert.equal(connections - before, 1, 'one kept-alive connection for all 15 requests');
  });

  it('keeps nothing of a finished download reachable (its onData and what that holds)', async () => {
    const refs: WeakRef<object>[] = [];
    const download = async (deadlineMs?: number) => {
      const writer = { block: Buffer.alloc(1024 * 1024) }; // stands in for the package's writer
      refs.push(new WeakRef(writer));
      await http.stream(srv.url('/pkg'), {
        maxBytes: PKG.length,
        onData: (c: Buffer) => c.copy(writer.block),
        ...(deadlineMs === undefined ? {} : { deadlineMs }),
      });
    };
    for (let i = 0; i < 3; i++) {
      await download();
      await download(30_000);
    }
    await tick(); // a WeakRef's target stays alive until the job that made it has ended
    gc();
    const kept = refs.filter((r) => r.deref() !== undefined).length;
    assert.equal(kept, 0, `${kept} of ${refs.length} finished downloads still reachable`);
  });
});
