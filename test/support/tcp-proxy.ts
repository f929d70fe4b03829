/**
 * Faults on a real TCP link, for time-out tests: a loopback proxy in front of a real server
 * (PostgreSQL, s3rver) that can be stalled mid-conversation, and a black hole that accepts
 * connections and never answers.
 */
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';

export interface TcpProxy {
  port: number;
  /** from now on nothing crosses the link either way; the sockets stay open (a stalled network) */
  stall(): void;
  close(): Promise<void>;
}

export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  let stalled = false;
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect(target.port, target.host);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => undefined);
      s.on('close', () => sockets.delete(s));
    }
    client.on('data', (d) => void (stalled || upstream.write(d)));
    upstream.on('data', (d) => void (stalled || client.write(d)));
    client.on('end', () => stalled || upstream.end());
    upstream.on('end', () => stalled || client.end());
  });
  return { ...(await listen(server)), stall: () => void (stalled = true), close: () => closeAll(server, sockets) };
}

export interface BlackHole {
  port: number;
  /** connections accepted so far */
  accepted(): number;
  close(): Promise<void>;
}

/** Accepts every connection and never sends a byte (a black-holed endpoint). */
export async function startBlackHole(): Promise<BlackHole> {
  const sockets = new Set<Socket>();
  let n = 0;
  const server = createServer((s) => {
    n += 1;
    sockets.add(s);
    s.on('error', () => undefined);
    s.on('close', () => sockets.delete(s));
  });
  return { ...(await listen(server)), accepted: () => n, close: () => closeAll(server, sockets) };
}

async function listen(server: Server): Promise<{ port: number }> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as AddressInfo).port };
}

async function closeAll(server: Server, sockets: Set<Socket>): Promise<void> {
  for (const s of sockets) s.destroy();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}
