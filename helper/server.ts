/**
 * The socket server: framing, limits and concurrency only. Each request line goes to
 * `handleLine`; the install path itself is in install.ts.
 */
import { promises as fs } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { asHelperError } from './install.js';
import { PeerLimits, type Peer } from './peer-limits.js';
import { ConnProof } from './conn-proof.js';
import { refuseUnlessAgent } from './agent-only.js';
import { prepareProofDir, proofDirOf } from './proof.js';
import { refuseAndClose, reply, TOO_LARGE } from './reply.js';
import { listenOn, prepareSocketPath } from './socket-path.js';
import { parseRequest } from './wire.js';
import {
  errorReply,
  HelperError,
  MAX_REQUEST_BYTES,
  PROTOCOL_VERSION,
  type GateReply,
  type GateRequest,
  type ActionRequest,
  type InstallRequest,
  type InstallSuccess,
  type ManifestAccepted,
  type ManifestRequest,
} from './protocol.js';

/**
 * At most this many connections (file descriptors are finite). Local denial of service: a
 * connection carries ONE request (after an optional `prove`) and ends after its reply; its
 * request is due within --idle-timeout of connecting (nothing re-arms that, not even a ping: the
 * ping's reply ends the connection); a full table makes room for a newcomer by closing the oldest
 * connection that has not sent its request yet (a pending proof included). Once a request comes,
 * its uid (proof.ts) is held to its own share (peer-limits.ts): another uid can neither hold the
 * table nor use up the requests the agent needs.
 */
const MAX_CONNECTIONS = 64;

export interface ServerDeps {
  socketPath: string;
  /** a group id: the socket gets mode 0660 and that group; without it, 0600 */
  socketGid: number | null;
  /** the agent's uid (--agent-user): with root, the only peer whose started, health_ok and events_ack are taken */
  agentUid: number;
  idleTimeoutMs: number;
  installedVersion: () => Promise<string | null>;
  /** `uid`: the uid the client proved; the package must be that uid's */
  install: (req: InstallRequest, uid: number) => Promise<InstallSuccess>;
  /** a manifest the agent verified (follow.ts) */
  manifest: (req: ManifestRequest) => Promise<ManifestAccepted>;
  /** the agent's start ping, health_ok and events_ack (health.ts) */
  health: (req: GateRequest) => Promise<GateReply>;
}

export interface RunningServer {
  server: Server;
  /** stops listening, removes the socket, and resolves once an install in progress is done */
  close(): Promise<void>;
}

export async function startServer(deps: ServerDeps): Promise<RunningServer> {
  const proofDir = proofDirOf(deps.socketPath);
  const limits = new PeerLimits();
  let busy = false;
  let installSock: Socket | null = null;
  let inFlight: Promise<unknown> = Promise.resolve();
  const sockets = new Set<Socket>();
  /** connected, no complete request line yet: the ones a full table closes first (oldest first) */
  const waiting = new Set<Socket>();

  /** Handles one line; true when the connection goes on (a `prove` answered: the request follows). */
  const handleLine = async (
    sock: Socket,
    line: string,
    proof: ConnProof,
    requestCame: () => void,
  ): Promise<boolean> => {
    let id: string | null = null;
    try {
      const req = parseRequest(line);
      id = req.id;
      if (req.type === 'prove') {
        const challenge = await proof.prove(req.uid);
        if (challenge === null) return false;
        reply(sock, { v: PROTOCOL_VERSION, id: req.id, ok: true, outcome: 'challenge', path: challenge.path });
        return true;
      }
      requestCame();
      const peer = await proof.peerOf(req);
      const admitted = limits.admit(peer);
      if (!admitted.ok) throw new HelperError('BUSY', admitted.reason);
      try {
        await dispatch(sock, req, peer);
      } finally {
        admitted.release();
      }
    } catch (err) {
      const e = asHelperError(err);
      const r = errorReply(id ?? e.requestId, e.code, e.message, e.details);
      if (e.code === 'BAD_REQUEST' || e.code === 'UNSUPPORTED_VERSION' || e.code === 'PEER_UNPROVEN')
        refuseAndClose(sock, r);
      else reply(sock, r);
    }
    return false;
  };

  const dispatch = async (sock: Socket, req: ActionRequest, peer: Peer): Promise<void> => {
    if (req.type === 'ping') {
      reply(sock, { v: PROTOCOL_VERSION, id: req.id, ok: true, installed_version: await deps.installedVersion() });
      return;
    }
    if (req.type === 'manifest') {
      reply(sock, await deps.manifest(req));
      return;
    }
    if (req.type !== 'install') {
      // The health gate's messages are the agent's alone (agent-only.ts).
      refuseUnlessAgent(req.type, peer, deps.agentUid);
      // the health gate's started, health_ok and events_ack
      reply(sock, await deps.health(req));
      return;
    }
    // A file-existence oracle: the package must be the proven uid's own, so an unproven client
    // (an agent older than the proof) installs nothing. Decided before the file is touched.
    if (peer === null)
      throw new HelperError(
        'PEER_UNPROVEN',
        'an install needs the proof of the client\'s uid ("prove" first on the same connection): this agent is older than the helper; it updates once the helper it runs with is current',
      );
    // One install at a time, no queue: a second client is told at once and retries later.
    if (busy) throw new HelperError('BUSY', 'another install is in progress; retry after it finishes');
    busy = true;
    installSock = sock;
    const run = deps.install(req, peer);
    inFlight = run.catch(() => undefined);
    try {
      reply(sock, await run);
    } finally {
      busy = false;
      installSock = null;
    }
  };

  const onConnection = (sock: Socket): void => {
    sockets.add(sock);
    waiting.add(sock);
    sock.on('close', () => {
      sockets.delete(sock);
      waiting.delete(sock);
    });
    sock.on('error', () => undefined); // a client vanishing is not our problem
    let chunks: Buffer[] = [];
    let size = 0;
    let working = false;
    let clientEnded = false;
    const proof = new ConnProof(proofDir);
    sock.on('close', () => proof.close());
    const requestCame = (): void => {
      // The request came: the deadline is done with, and a full table no longer closes this one.
      waiting.delete(sock);
      disarmIdle();
    };
    // A client that connects and says nothing, or trickles bytes, must not hold a connection
    // forever: a complete request is due within the idle time-out, however slowly bytes come.
    let deadline: NodeJS.Timeout | null = null;
    const armIdle = (): void => {
      if (deadline !== null) clearTimeout(deadline);
      deadline = setTimeout(() => {
        refuseAndClose(
          sock,
          errorReply(
            null,
            'IDLE_TIMEOUT',
            `no complete request within ${deps.idleTimeoutMs} ms; send one JSON request per line`,
          ),
        );
      }, deps.idleTimeoutMs);
    };
    const disarmIdle = (): void => {
      if (deadline !== null) clearTimeout(deadline);
      deadline = null;
    };
    sock.on('close', disarmIdle);
    if (sockets.size > MAX_CONNECTIONS) {
      const oldest = [...waiting].find((s) => s !== sock);
      if (oldest === undefined) {
        refuseAndClose(
          sock,
          errorReply(null, 'BUSY', `more than ${MAX_CONNECTIONS} clients are connected; retry later`),
        );
        return;
      }
      waiting.delete(oldest);
      sockets.delete(oldest);
      refuseAndClose(
        oldest,
        errorReply(
          null,
          'BUSY',
          `more than ${MAX_CONNECTIONS} clients are connected and this one sent no request yet; send the request at once`,
        ),
      );
    }
    armIdle();
    // A client may half-close after its request; it still gets its reply, then we end too.
    sock.on('end', () => {
      clientEnded = true;
      if (!working) sock.end();
    });
    const pump = async (): Promise<void> => {
      working = true;
      sock.pause();
      for (;;) {
        const all = Buffer.concat(chunks);
        const nl = all.indexOf(0x0a);
        if (nl === -1) break;
        chunks = [all.subarray(nl + 1)];
        size = all.length - nl - 1;
        const line = all.subarray(0, nl).toString('utf8').replace(/\r$/, '');
        if (line.trim() === '') continue;
        if (await handleLine(sock, line, proof, requestCame)) continue;
        // One request per connection: after its reply the connection ends; lines the client
        // pipelined after it are never acted on (and a ping cannot keep a connection alive).
        // A Unix socket delivers what was written into the peer's queue: closing at once after
        // the flush loses no reply, and frees the slot even if the client goes on sending.
        if (!sock.destroyed && sock.writable) {
          sock.removeAllListeners('data');
          sock.end(() => sock.destroy());
        }
        return;
      }
      working = false;
      if (sockets.has(sock)) waiting.add(sock); // not one closed to make room meanwhile
      if (clientEnded) {
        sock.end();
        return;
      }
      sock.resume();
    };
    sock.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      size += chunk.length;
      const newline = chunk.includes(0x0a);
      // Memory exhaustion: a request is bounded; past the bound the connection is refused and closed.
      if (!newline && size > MAX_REQUEST_BYTES) {
        chunks = [];
        refuseAndClose(sock, TOO_LARGE);
        return;
      }
      if (newline && !working) {
        const firstLine = Buffer.concat(chunks).indexOf(0x0a);
        if (firstLine > MAX_REQUEST_BYTES) {
          chunks = [];
          refuseAndClose(sock, TOO_LARGE);
          return;
        }
        void pump();
      }
    });
  };

  await prepareSocketPath(deps.socketPath);
  await prepareProofDir(proofDir, deps.socketGid);
  const server = createServer({ allowHalfOpen: true }, onConnection);
  await listenOn(server, deps.socketPath, deps.socketGid);

  let closing: Promise<void> | null = null;
  return {
    server,
    close() {
      closing ??= (async () => {
        // New clients find no socket at once; an install in progress finishes and is answered.
        await fs.rm(deps.socketPath, { force: true });
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        for (const s of sockets) if (s !== installSock) s.destroy();
        await inFlight;
        // its reply (or refusal) is written within this turn of the event loop, after a few promise ticks
        await new Promise((resolve) => setImmediate(resolve));
        for (const s of sockets) s.end();
        const force = setTimeout(() => sockets.forEach((s) => s.destroy()), 1000);
        await closed;
        clearTimeout(force);
      })();
      return closing;
    },
  };
}
