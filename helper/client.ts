/**
 * The helper client (used by the agent): one request, one reply, one connection, on which the
 * client first proves its uid (proof.ts). A refusal by the helper is a reply (`ok: false`),
 * resolved; no usable reply at all is a HelperClientError.
 */
import { randomUUID } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { createConnection } from 'node:net';
import { messageOf } from '../schema/errors.js';
import {
  HelperClientError,
  PROTOCOL_VERSION,
  type ActionRequest,
  type HelperRequest,
  type HealthResponse,
  type HelperResponse,
  type InstallResponse,
  type ManifestResponse,
  type PingResponse,
} from './protocol.js';
import { parseResponse } from './wire.js';
import type { ArtifactArch } from '../schema/choose2.js';

export interface ClientOptions {
  /** the whole exchange, connect to reply (default: 5 s for ping, 20 min for install) */
  timeoutMs?: number;
}

export interface InstallParams {
  id?: string;
  manifest: string;
  version: string;
  pkg_path: string;
  /** spec 2: the arch of the artifact downloaded (the helper checks it against its own reading of the hardware) */
  arch?: ArtifactArch;
}

/** Replies are small (the output tail is bounded); anything longer is not our helper. */
const MAX_REPLY_BYTES = 1024 * 1024;

const UNREACHABLE = new Set(['ENOENT', 'ECONNREFUSED', 'EACCES', 'EPERM', 'ENOTSOCK', 'ECONNRESET', 'EPIPE']);

/** One connection to the helper: requests written, reply lines read one at a time. */
interface Connection {
  send(request: HelperRequest): void;
  /** the next reply line; a HelperClientError when the connection fails first */
  next(): Promise<string>;
  close(): void;
}

function connect(socketPath: string): Connection {
  const sock = createConnection({ path: socketPath });
  const lines: string[] = [];
  let partial: Buffer[] = [];
  let size = 0;
  let received = 0;
  let failure: HelperClientError | null = null;
  let waiter: { resolve: (line: string) => void; reject: (err: HelperClientError) => void } | null = null;
  const settle = (): void => {
    if (waiter === null) return;
    const w = waiter;
    if (lines.length > 0) {
      waiter = null;
      w.resolve(lines.shift()!);
    } else if (failure !== null) {
      waiter = null;
      w.reject(failure);
    }
  };
  const fail = (err: HelperClientError): void => {
    failure ??= err;
    sock.destroy();
    settle();
  };
  sock.on('data', (chunk: Buffer) => {
    received += chunk.length;
    let rest = chunk;
    for (;;) {
      const nl = rest.indexOf(0x0a);
      const part = nl === -1 ? rest : rest.subarray(0, nl);
      size += part.length;
      if (size > MAX_REPLY_BYTES) {
        fail(
          new HelperClientError(
            'HELPER_PROTOCOL',
            `the helper at ${socketPath} sent a reply longer than ${MAX_REPLY_BYTES} bytes`,
          ),
        );
        return;
      }
      partial.push(part);
      if (nl === -1) break;
      lines.push(Buffer.concat(partial).toString('utf8'));
      partial = [];
      size = 0;
      rest = rest.subarray(nl + 1);
    }
    settle();
  });
  sock.on('end', () =>
    fail(
      new HelperClientError(
        'HELPER_PROTOCOL',
        `the helper at ${socketPath} closed the connection without a complete reply`,
      ),
    ),
  );
  sock.on('error', (err: NodeJS.ErrnoException) => {
    const code = err.code ?? '';
    const reason = UNREACHABLE.has(code)
      ? `${code}: is mngd-helper running and is its socket there, readable by this user?`
      : err.message;
    fail(
      new HelperClientError(
        received === 0 ? 'HELPER_UNREACHABLE' : 'HELPER_PROTOCOL',
        `cannot talk to the helper at ${socketPath} (${reason})`,
        { cause: err },
      ),
    );
  });
  return {
    // written once connected (net queues it)
    send: (request) => void sock.write(JSON.stringify(request) + '\n'),
    next: () =>
      new Promise((resolve, reject) => {
        waiter = { resolve, reject };
        settle();
      }),
    close: () => void sock.destroy(),
  };
}

/** The next reply on `conn`, checked: a reply of this protocol, to the request `id`. */
async function replyOn(conn: Connection, socketPath: string, id: string): Promise<HelperResponse> {
  const line = await conn.next();
  const reply = parseResponse(line);
  if (reply === null)
    throw new HelperClientError(
      'HELPER_PROTOCOL',
      `the helper at ${socketPath} answered something that is not a version-${PROTOCOL_VERSION} reply: ${JSON.stringify(line.slice(0, 200))}`,
    );
  if (reply.id !== null && reply.id !== id)
    throw new HelperClientError(
      'HELPER_PROTOCOL',
      `the helper at ${socketPath} answered request ${JSON.stringify(reply.id)}, expected ${JSON.stringify(id)}`,
    );
  return reply;
}

/** The challenge file's content: readable by this uid only (and root), which is the proof. */
async function readProof(path: string, socketPath: string): Promise<string> {
  try {
    const fh = await fs.open(path, 'r');
    try {
      const buf = Buffer.alloc(128);
      const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
      return buf.subarray(0, bytesRead).toString('utf8').trim();
    } finally {
      await fh.close();
    }
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? messageOf(err);
    throw new HelperClientError(
      'HELPER_UNREACHABLE',
      `cannot read the challenge ${path} of the helper at ${socketPath} (${code}): this user must be in the helper's socket group`,
      { cause: err },
    );
  }
}

/**
 * One request, one reply. The client first proves its uid on the connection (`prove`, then the
 * request with the challenge file's content); a helper older than the proof refuses `prove` with
 * BAD_REQUEST, and the request goes again, without proof, on a new connection.
 */
export async function exchange(socketPath: string, request: ActionRequest, timeoutMs: number): Promise<HelperResponse> {
  const uid = process.getuid?.();
  let conn: Connection | null = null;
  const talk = async (): Promise<HelperResponse> => {
    if (uid !== undefined) {
      conn = connect(socketPath);
      conn.send({ v: PROTOCOL_VERSION, id: request.id, type: 'prove', uid });
      const challenge = await replyOn(conn, socketPath, request.id);
      if (challenge.ok && 'outcome' in challenge && challenge.outcome === 'challenge') {
        const proof = await readProof(challenge.path, socketPath);
        conn.send({ ...request, proof });
        return replyOn(conn, socketPath, request.id);
      }
      conn.close();
      if (challenge.ok)
        throw new HelperClientError(
          'HELPER_PROTOCOL',
          `the helper at ${socketPath} answered "prove" with another kind of reply`,
        );
      // Refused for another reason than not knowing "prove" (BUSY...): that is the answer.
      if (challenge.error.code !== 'BAD_REQUEST') return challenge;
    }
    conn = connect(socketPath);
    conn.send(request);
    return replyOn(conn, socketPath, request.id);
  };
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new HelperClientError(
            'HELPER_TIMEOUT',
            `the helper at ${socketPath} did not answer within ${timeoutMs} ms; it may be stuck installing: retry later`,
          ),
        ),
      timeoutMs,
    );
  });
  try {
    return await Promise.race([talk(), timeout]);
  } finally {
    clearTimeout(timer);
    (conn as Connection | null)?.close();
  }
}

/** Asks the helper to verify and install a package. Resolves with its reply, success or refusal. */
export async function requestInstall(
  socketPath: string,
  params: InstallParams,
  opts: ClientOptions = {},
): Promise<InstallResponse> {
  const request: ActionRequest = {
    v: PROTOCOL_VERSION,
    id: params.id ?? randomUUID(),
    type: 'install',
    manifest: params.manifest,
    version: params.version,
    pkg_path: params.pkg_path,
    ...(params.arch === undefined ? {} : { arch: params.arch }),
  };
  const reply = await exchange(socketPath, request, opts.timeoutMs ?? 20 * 60 * 1000);
  if (reply.ok && !('outcome' in reply && reply.outcome === 'installed')) {
    throw new HelperClientError(
      'HELPER_PROTOCOL',
      `the helper at ${socketPath} answered an install request with another kind of reply`,
    );
  }
  return reply as InstallResponse;
}

/**
 * Tells the helper of a manifest the agent verified, so that it refuses anything an older one
 * offered. Resolves with its reply: accepted, or why it refused the manifest.
 */
export async function sendManifest(
  socketPath: string,
  manifest: string,
  opts: ClientOptions & { id?: string } = {},
): Promise<ManifestResponse> {
  const request: ActionRequest = { v: PROTOCOL_VERSION, id: opts.id ?? randomUUID(), type: 'manifest', manifest };
  const reply = await exchange(socketPath, request, opts.timeoutMs ?? 5000);
  if (reply.ok && !('outcome' in reply && reply.outcome === 'accepted')) {
    throw new HelperClientError(
      'HELPER_PROTOCOL',
      `the helper at ${socketPath} answered a manifest request with another kind of reply`,
    );
  }
  return reply as ManifestResponse;
}

/** Asks the helper whether it is there and which version it sees installed. */
export async function ping(socketPath: string, opts: ClientOptions & { id?: string } = {}): Promise<PingResponse> {
  const request: ActionRequest = { v: PROTOCOL_VERSION, id: opts.id ?? randomUUID(), type: 'ping' };
  const reply = await exchange(socketPath, request, opts.timeoutMs ?? 5000);
  if (reply.ok && !('installed_version' in reply)) {
    throw new HelperClientError(
      'HELPER_PROTOCOL',
      `the helper at ${socketPath} answered a ping with another kind of reply`,
    );
  }
  return reply as PingResponse;
}

/**
 * The health gate's two messages (docs/helper.md): `started` once at the agent's start,
 * `health_ok` once the running version verified a manifest and checked in.
 */
export async function sendHealth(
  socketPath: string,
  type: 'started' | 'health_ok',
  version: string,
  opts: ClientOptions & { id?: string } = {},
): Promise<HealthResponse> {
  const request: ActionRequest = { v: PROTOCOL_VERSION, id: opts.id ?? randomUUID(), type, version };
  const reply = await exchange(socketPath, request, opts.timeoutMs ?? 5000);
  if (reply.ok && !('outcome' in reply && reply.outcome === type)) {
    throw new HelperClientError(
      'HELPER_PROTOCOL',
      `the helper at ${socketPath} answered ${type} with another kind of reply`,
    );
  }
  return reply as HealthResponse;
}
