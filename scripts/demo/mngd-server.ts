/**
 * A stand-in for the mngd server's checkin endpoint, on loopback HTTPS: each POST of a fleet
 * report goes through the reference ingest (pipeline/fleet/ingest.ts: validate, then one
 * transaction) into the demo's database (PGlite under its state folder, or DATABASE_URL), and is
 * answered 204; a refused report gets 400 with the reason (the agent keeps its events). The
 * device id and version come in the query, as the plain checkin sends them.
 *
 * Embedded PGlite takes one process at a time (pglite-lock.ts), and `mngd-release guard` or
 * `status` run in this process: `release()` closes the server's connection until the next
 * checkin opens it again.
 */
import { EventEmitter, once } from 'node:events';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { ingestReport, migrateFleet } from '../../pipeline/fleet/index.js';
import type { Database } from '../../pipeline/table/index.js';
import { MAX_REPORT_BYTES } from '../../schema/report.schema.js';
import { messageOf } from '../../schema/errors.js';
import type { Report } from '../../schema/types.js';
import type { LoopbackTls } from '../loopback-tls.js';

export interface Checkin {
  deviceId: string;
  version: string;
  /** the report as stored, or null when it was refused */
  report: Report | null;
  status: number;
  /** why it was refused */
  error: string | null;
  at: number;
}

export interface MngdServer {
  url: string;
  checkins: Checkin[];
  /** resolves at the first checkin of `deviceId` after this call */
  nextCheckin(deviceId: string): Promise<Checkin>;
  /** closes the database until the next checkin needs it */
  release(): Promise<void>;
  close(): Promise<void>;
}

export async function startMngdServer(tls: LoopbackTls, open: () => Promise<Database>): Promise<MngdServer> {
  const seen = new EventEmitter();
  seen.setMaxListeners(0);
  const checkins: Checkin[] = [];
  let db: Database | null = null;
  // One use of the database at a time: ingests, and the release between them.
  let chain: Promise<unknown> = Promise.resolve();
  const withDb = <T>(fn: (d: Database) => Promise<T>): Promise<T> => {
    const run = chain.then(async () => {
      if (db === null) {
        db = await open();
        await migrateFleet(db);
      }
      return fn(db);
    });
    chain = run.catch(() => undefined);
    return run;
  };
  const release = (): Promise<void> => {
    const run = chain.then(async () => {
      const d = db;
      db = null;
      await d?.close();
    });
    chain = run.catch(() => undefined);
    return run;
  };

  const server: Server = createServer({ key: tls.key, cert: tls.cert }, (req, res) => {
    const u = new URL(req.url ?? '/', 'https://mngd');
    if (req.method !== 'POST' || u.pathname !== '/checkin') {
      res.writeHead(404).end();
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= MAX_REPORT_BYTES + 1) chunks.push(c);
    });
    req.on('end', () => {
      const bytes = Buffer.concat(chunks);
      const c: Checkin = {
        deviceId: u.searchParams.get('device_id') ?? '',
        version: u.searchParams.get('version') ?? '',
        report: null,
        status: 204,
        error: null,
        at: Date.now(),
      };
      withDb((d) => ingestReport(d, bytes, new Date()))
        .then(() => (c.report = JSON.parse(bytes.toString('utf8')) as Report))
        .catch((err: unknown) => {
          c.status = 400;
          c.error = messageOf(err);
        })
        .finally(() => {
          res.writeHead(c.status, { 'content-type': 'text/plain' }).end(c.error === null ? '' : `${c.error}\n`);
          checkins.push(c);
          seen.emit(c.deviceId, c);
        });
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}/checkin`;
  return {
    url,
    checkins,
    nextCheckin: (deviceId) => once(seen, deviceId).then(([c]) => c as Checkin),
    release,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await release();
    },
  };
}
