/**
 * The helper client (used by the agent): one request, one reply, one connection. A refusal by
 * the helper is a reply (`ok: false`), resolved; no usable reply at all is a HelperClientError.
 */
import { randomUUID } from 'node:crypto';
import { createConnection } from 'node:net';
import {
  HelperClientError,
  PROTOCOL_VERSION,
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

export function exchange(socketPath: string, request: HelperRequest, timeoutMs: number): Promise<HelperResponse> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const sock = createConnection({ path: socketPath });
    const finish = (err: HelperClientError | null, reply?: HelperResponse): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      sock.destroy();
      if (err) reject(err);
      else resolve(reply as HelperResponse);
    };
    const timer = setTimeout(
      () =>
        finish(
          new HelperClientError(
            'HELPER_TIMEOUT',
            `the helper at ${socketPath} did not answer within ${timeoutMs} ms; it may be stuck installing: retry later`,
          ),
        ),
      timeoutMs,
    );
    sock.on('connect', () => sock.write(JSON.stringify(request) + '\n'));
    sock.on('data', (chunk: Buffer) => {
      const nl = chunk.indexOf(0x0a);
      const part = nl === -1 ? chunk : chunk.subarray(0, nl);
      size += part.length;
      if (size > MAX_REPLY_BYTES) {
        finish(
          new HelperClientError(
            'HELPER_PROTOCOL',
            `the helper at ${socketPath} sent a reply longer than ${MAX_REPLY_BYTES} bytes`,
          ),
        );
        return;
      }
      chunks.push(part);
      if (nl === -1) return;
      const line = Buffer.concat(chunks).toString('utf8');
      const reply = parseResponse(line);
      if (reply === null) {
        finish(
          new HelperClientError(
            'HELPER_PROTOCOL',
            `the helper at ${socketPath} answered something that is not a version-${PROTOCOL_VERSION} reply: ${JSON.stringify(line.slice(0, 200))}`,
          ),
        );
      } else if (reply.id !== null && reply.id !== request.id) {
        finish(
          new HelperClientError(
            'HELPER_PROTOCOL',
            `the helper at ${socketPath} answered request ${JSON.stringify(reply.id)}, expected ${JSON.stringify(request.id)}`,
          ),
        );
      } else {
        finish(null, reply);
      }
    });
    sock.on('end', () =>
      finish(
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
      finish(
        new HelperClientError(
          size === 0 ? 'HELPER_UNREACHABLE' : 'HELPER_PROTOCOL',
          `cannot talk to the helper at ${socketPath} (${reason})`,
          { cause: err },
        ),
      );
    });
  });
}

/** Asks the helper to verify and install a package. Resolves with its reply, success or refusal. */
export async function requestInstall(
  socketPath: string,
  params: InstallParams,
  opts: ClientOptions = {},
): Promise<InstallResponse> {
  const request: HelperRequest = {
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
  const request: HelperRequest = { v: PROTOCOL_VERSION, id: opts.id ?? randomUUID(), type: 'manifest', manifest };
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
  const request: HelperRequest = { v: PROTOCOL_VERSION, id: opts.id ?? randomUUID(), type: 'ping' };
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
  const request: HelperRequest = { v: PROTOCOL_VERSION, id: opts.id ?? randomUUID(), type, version };
  const reply = await exchange(socketPath, request, opts.timeoutMs ?? 5000);
  if (reply.ok && !('outcome' in reply && reply.outcome === type)) {
    throw new HelperClientError(
      'HELPER_PROTOCOL',
      `the helper at ${socketPath} answered ${type} with another kind of reply`,
    );
  }
  return reply as HealthResponse;
}
