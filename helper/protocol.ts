/**
 * The helper protocol, version 1: newline-delimited JSON over a Unix socket, one request per
 * line, one response per line. Shared by the helper (server) and the agent (client); the full
 * description with every error code is docs/helper.md.
 *
 *   -> {"v":1,"id":"a1","type":"ping"}
 *   <- {"v":1,"id":"a1","ok":true,"installed_version":"1.0.2"}
 *   -> {"v":1,"id":"a2","type":"install","manifest":"<raw manifest>","version":"1.0.3","pkg_path":"/abs/pkg"}
 *   <- {"v":1,"id":"a2","ok":true,"outcome":"installed","version":"1.0.3","exit_code":0,"output_tail":"..."}
 *   <- {"v":1,"id":"a2","ok":false,"error":{"code":"PKG_HASH_MISMATCH","message":"..."}}
 */
import { isAbsolute } from 'node:path';
import { ExternalError, MngdError } from '../schema/errors.js';
import type { ManifestErrorCode } from '../schema/manifest.js';
import { isVersion } from '../schema/version.js';

export const PROTOCOL_VERSION = 1;
/** A request line (including the manifest) is at most this long; longer ones are refused. */
export const MAX_REQUEST_BYTES = 2 * 1024 * 1024;
/** The installer output kept for the reply and the log (the end of it). */
export const OUTPUT_TAIL_BYTES = 8 * 1024;

/** Codes the helper answers with (`error.code` of a failure reply). */
export type HelperErrorCode =
  | 'BUSY'
  | 'BAD_REQUEST'
  | 'REQUEST_TOO_LARGE'
  | 'UNSUPPORTED_VERSION'
  | 'IDLE_TIMEOUT'
  | ManifestErrorCode
  | 'VERSION_NOT_IN_MANIFEST'
  | 'INSTALLED_VERSION_UNKNOWN'
  | 'NOT_AN_UPGRADE'
  | 'PKG_UNSAFE_PATH'
  | 'PKG_NOT_FOUND'
  | 'PKG_SIZE_MISMATCH'
  | 'PKG_HASH_MISMATCH'
  | 'INSTALLER_FAILED'
  | 'INSTALLER_UNAVAILABLE'
  | 'INSTALL_NOT_EFFECTIVE'
  | 'INSTALLER_TIMEOUT'
  | 'INTERNAL';

/** Codes the client raises when there is no usable answer at all. */
export type HelperClientErrorCode = 'HELPER_UNREACHABLE' | 'HELPER_TIMEOUT' | 'HELPER_PROTOCOL';

export interface PingRequest {
  v: 1;
  id: string;
  type: 'ping';
}

export interface InstallRequest {
  v: 1;
  id: string;
  type: 'install';
  /** the manifest exactly as downloaded; the helper verifies it itself */
  manifest: string;
  /** the version chosen from that manifest */
  version: string;
  /** absolute path of the downloaded package */
  pkg_path: string;
}

export type HelperRequest = PingRequest | InstallRequest;

export interface ErrorReply {
  v: 1;
  /** the request's id, or null when the request could not be read */
  id: string | null;
  ok: false;
  error: { code: HelperErrorCode; message: string };
  exit_code?: number;
  output_tail?: string;
}

export interface PingReply {
  v: 1;
  id: string;
  ok: true;
  /** null when the helper cannot read a valid installed version */
  installed_version: string | null;
}

export interface InstallSuccess {
  v: 1;
  id: string;
  ok: true;
  outcome: 'installed';
  version: string;
  exit_code: 0;
  output_tail: string;
}

export type PingResponse = PingReply | ErrorReply;
export type InstallResponse = InstallSuccess | ErrorReply;
export type HelperResponse = PingReply | InstallSuccess | ErrorReply;

/** A refusal or failure the helper reports to its client. */
export class HelperError extends MngdError<HelperErrorCode> {
  constructor(
    code: HelperErrorCode,
    message: string,
    readonly details: { exit_code?: number; output_tail?: string } = {},
  ) {
    super(code, message);
  }
}

export function errorReply(
  id: string | null,
  code: HelperErrorCode,
  message: string,
  details: { exit_code?: number; output_tail?: string } = {},
): ErrorReply {
  const reply: ErrorReply = { v: PROTOCOL_VERSION, id, ok: false, error: { code, message } };
  if (details.exit_code !== undefined) reply.exit_code = details.exit_code;
  if (details.output_tail !== undefined) reply.output_tail = details.output_tail;
  return reply;
}

const ID_RE = /^[\x21-\x7e]{1,128}$/;

function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

/** The id of a request that may be broken, for the error reply; null when there is none. */
export function requestIdOf(data: unknown): string | null {
  return isRecord(data) && typeof data.id === 'string' && ID_RE.test(data.id) ? data.id : null;
}

/**
 * Parses and checks one request line (pure). Throws HelperError BAD_REQUEST or
 * UNSUPPORTED_VERSION; every field is checked so nothing unexpected reaches the install path.
 */
export function parseRequest(line: string): HelperRequest {
  let data: unknown;
  try {
    data = JSON.parse(line);
  } catch (err) {
    throw new HelperError(
      'BAD_REQUEST',
      `request is not valid JSON (${(err as Error).message}); send one JSON object per line`,
    );
  }
  if (!isRecord(data)) throw new HelperError('BAD_REQUEST', 'request must be a JSON object');
  if (data.v !== PROTOCOL_VERSION) {
    throw new HelperError(
      'UNSUPPORTED_VERSION',
      `protocol version ${JSON.stringify(data.v)} is not supported; this helper speaks "v": ${PROTOCOL_VERSION}`,
    );
  }
  if (typeof data.id !== 'string' || !ID_RE.test(data.id)) {
    throw new HelperError('BAD_REQUEST', '"id" must be a string of 1 to 128 printable ASCII characters');
  }
  const allowed = data.type === 'ping' ? ['v', 'id', 'type'] : ['v', 'id', 'type', 'manifest', 'version', 'pkg_path'];
  const unknown = Object.keys(data).filter((k) => !allowed.includes(k));
  if (data.type !== 'ping' && data.type !== 'install') {
    throw new HelperError('BAD_REQUEST', `"type" must be "ping" or "install", got ${JSON.stringify(data.type)}`);
  }
  if (unknown.length > 0)
    throw new HelperError(
      'BAD_REQUEST',
      `unknown field(s) ${unknown.map((k) => JSON.stringify(k)).join(', ')} in a ${data.type} request`,
    );
  if (data.type === 'ping') return { v: 1, id: data.id, type: 'ping' };
  if (typeof data.manifest !== 'string' || data.manifest === '') {
    throw new HelperError('BAD_REQUEST', '"manifest" must be the raw manifest text as downloaded');
  }
  if (typeof data.version !== 'string' || !isVersion(data.version)) {
    throw new HelperError(
      'BAD_REQUEST',
      `"version" must be a version such as 1.0.3, got ${JSON.stringify(data.version)}`,
    );
  }
  if (typeof data.pkg_path !== 'string' || !isAbsolute(data.pkg_path) || data.pkg_path.includes('\0')) {
    throw new HelperError('BAD_REQUEST', `"pkg_path" must be an absolute path, got ${JSON.stringify(data.pkg_path)}`);
  }
  return {
    v: 1,
    id: data.id,
    type: 'install',
    manifest: data.manifest,
    version: data.version,
    pkg_path: data.pkg_path,
  };
}

/**
 * Checks the shape of a reply line (pure), for the client. Returns null when it is not a valid
 * version-1 reply.
 */
export function parseResponse(line: string): HelperResponse | null {
  let data: unknown;
  try {
    data = JSON.parse(line);
  } catch {
    return null;
  }
  if (!isRecord(data) || data.v !== PROTOCOL_VERSION || (data.id !== null && typeof data.id !== 'string')) return null;
  if (data.ok === false) {
    const e = data.error;
    if (!isRecord(e) || typeof e.code !== 'string' || typeof e.message !== 'string') return null;
    if (data.exit_code !== undefined && typeof data.exit_code !== 'number') return null;
    if (data.output_tail !== undefined && typeof data.output_tail !== 'string') return null;
    return data as unknown as ErrorReply;
  }
  if (data.ok !== true || typeof data.id !== 'string') return null;
  if ('installed_version' in data) {
    return data.installed_version === null || typeof data.installed_version === 'string'
      ? (data as unknown as PingReply)
      : null;
  }
  if (
    data.outcome === 'installed' &&
    typeof data.version === 'string' &&
    data.exit_code === 0 &&
    typeof data.output_tail === 'string'
  ) {
    return data as unknown as InstallSuccess;
  }
  return null;
}

/** Thrown by the client when the helper gave no usable answer. */
export class HelperClientError extends ExternalError<HelperClientErrorCode> {}

/** Where things live unless configured: shared by helper and agent. */
export function defaultVersionFile(platform: NodeJS.Platform = process.platform): string {
  return platform === 'darwin' ? '/Library/Application Support/mngd/VERSION' : '/var/lib/mngd/VERSION';
}

export function defaultSocketPath(platform: NodeJS.Platform = process.platform): string {
  return platform === 'darwin' ? '/var/run/com.mngd.helper.sock' : '/run/mngd/helper.sock';
}
