/**
 * Reading the protocol's lines (pure): requests on the helper's side, replies on the client's.
 * Each request line is parsed once; a refusal carries the request's id when it could be read.
 */
import { isAbsolute } from 'node:path';
import type { ArtifactArch } from '../schema/choose2.js';
import { EVENT_KINDS } from '../schema/report.schema.js';
import type { ReportEvent } from '../schema/types.js';
import { isVersion } from '../schema/version.js';
import {
  HelperError,
  MAX_ACK_IDS,
  MAX_UID,
  PROTOCOL_VERSION,
  type ChallengeReply,
  type ErrorReply,
  type EventsAckReply,
  type HelperRequest,
  type HelperResponse,
  type InstallSuccess,
  type HealthReply,
  type ManifestAccepted,
  type PingReply,
} from './protocol.js';

const ID_RE = /^[\x21-\x7e]{1,128}$/;
/** The content of a challenge file (proof.ts): 32 random bytes in hex. */
const PROOF_RE = /^[0-9a-f]{64}$/;
/** an update event's id, as the report schema allows it */
const EVENT_ID_RE = /^[A-Za-z0-9_-]{1,64}$/;
const ARCHES: readonly ArtifactArch[] = ['universal', 'arm64', 'x86_64'];

function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

const FIELDS: Record<HelperRequest['type'], readonly string[]> = {
  prove: ['v', 'id', 'type', 'uid'],
  ping: ['v', 'id', 'type', 'proof'],
  install: ['v', 'id', 'type', 'manifest', 'version', 'pkg_path', 'arch', 'proof'],
  manifest: ['v', 'id', 'type', 'manifest', 'proof'],
  started: ['v', 'id', 'type', 'version', 'proof'],
  health_ok: ['v', 'id', 'type', 'version', 'proof'],
  events_ack: ['v', 'id', 'type', 'ids', 'proof'],
};

/**
 * Parses and checks one request line. Throws HelperError BAD_REQUEST or UNSUPPORTED_VERSION
 * (with `requestId` set when the id was readable); every field is checked so nothing unexpected
 * reaches the install path.
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
  try {
    return checkRequest(data);
  } catch (err) {
    if (err instanceof HelperError && isRecord(data) && typeof data.id === 'string' && ID_RE.test(data.id))
      err.requestId = data.id;
    throw err;
  }
}

function checkRequest(data: unknown): HelperRequest {
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
  const type = data.type;
  if (typeof type !== 'string' || !Object.hasOwn(FIELDS, type)) {
    const types = Object.keys(FIELDS).map((t) => JSON.stringify(t));
    throw new HelperError('BAD_REQUEST', `"type" must be ${types.join(' or ')}, got ${JSON.stringify(type)}`);
  }
  const allowed = FIELDS[type as HelperRequest['type']];
  const unknown = Object.keys(data).filter((k) => !allowed.includes(k));
  if (unknown.length > 0)
    throw new HelperError(
      'BAD_REQUEST',
      `unknown field(s) ${unknown.map((k) => JSON.stringify(k)).join(', ')} in a ${type} request`,
    );
  if (type === 'prove') {
    const uid = data.uid;
    if (typeof uid !== 'number' || !Number.isInteger(uid) || uid < 0 || uid > MAX_UID)
      throw new HelperError(
        'BAD_REQUEST',
        `"uid" must be the client's uid, 0 to ${MAX_UID}, got ${JSON.stringify(uid)}`,
      );
    return { v: 1, id: data.id, type: 'prove', uid };
  }
  const proof = data.proof;
  if (proof !== undefined && (typeof proof !== 'string' || !PROOF_RE.test(proof)))
    throw new HelperError('BAD_REQUEST', '"proof" must be the 64 hex characters of the file a "prove" named');
  const proven = proof === undefined ? {} : { proof };
  if (type === 'ping') return { v: 1, id: data.id, type: 'ping', ...proven };
  if (type === 'events_ack') {
    const ids = data.ids;
    if (
      !Array.isArray(ids) ||
      ids.length > MAX_ACK_IDS ||
      !ids.every((i): i is string => typeof i === 'string' && EVENT_ID_RE.test(i))
    )
      throw new HelperError(
        'BAD_REQUEST',
        `"ids" must be a list of at most ${MAX_ACK_IDS} event ids (the events of a started or health_ok reply)`,
      );
    return { v: 1, id: data.id, type: 'events_ack', ids, ...proven };
  }
  if (type === 'started' || type === 'health_ok') {
    if (typeof data.version !== 'string' || !isVersion(data.version))
      throw new HelperError(
        'BAD_REQUEST',
        `"version" must be the version the agent runs, such as 1.0.3, got ${JSON.stringify(data.version)}`,
      );
    return { v: 1, id: data.id, type, version: data.version, ...proven };
  }
  if (typeof data.manifest !== 'string' || data.manifest === '') {
    throw new HelperError('BAD_REQUEST', '"manifest" must be the raw manifest text as downloaded');
  }
  if (type === 'manifest') return { v: 1, id: data.id, type: 'manifest', manifest: data.manifest, ...proven };
  if (typeof data.version !== 'string' || !isVersion(data.version)) {
    throw new HelperError(
      'BAD_REQUEST',
      `"version" must be a version such as 1.0.3, got ${JSON.stringify(data.version)}`,
    );
  }
  if (typeof data.pkg_path !== 'string' || !isAbsolute(data.pkg_path) || data.pkg_path.includes('\0')) {
    throw new HelperError('BAD_REQUEST', `"pkg_path" must be an absolute path, got ${JSON.stringify(data.pkg_path)}`);
  }
  const arch = data.arch;
  if (arch !== undefined && !ARCHES.includes(arch as ArtifactArch))
    throw new HelperError('BAD_REQUEST', `"arch" must be one of ${ARCHES.join(', ')}, got ${JSON.stringify(arch)}`);
  return {
    v: 1,
    id: data.id,
    type: 'install',
    manifest: data.manifest,
    version: data.version,
    pkg_path: data.pkg_path,
    ...(arch === undefined ? {} : { arch: arch as ArtifactArch }),
    ...proven,
  };
}

const versionOrNull = (x: unknown) => x === null || (typeof x === 'string' && isVersion(x));

/** An outcome the agent may queue as it is (the server checks it again, with the report schema). */
function isOutcome(x: unknown): x is ReportEvent {
  return (
    isRecord(x) &&
    typeof x.id === 'string' &&
    EVENT_ID_RE.test(x.id) &&
    typeof x.at === 'string' &&
    EVENT_KINDS.includes(x.kind as ReportEvent['kind']) &&
    versionOrNull(x.from) &&
    versionOrNull(x.to) &&
    (x.result === 'ok' || x.result === 'error') &&
    (x.code === null || (typeof x.code === 'string' && /^[A-Z][A-Z0-9_]{0,63}$/.test(x.code))) &&
    (x.duration_ms === null || Number.isSafeInteger(x.duration_ms)) &&
    x.bytes === null
  );
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
  if (
    (data.outcome === 'started' || data.outcome === 'health_ok') &&
    typeof data.pending === 'boolean' &&
    Array.isArray(data.quarantined) &&
    data.quarantined.every((v) => typeof v === 'string' && isVersion(v)) &&
    (data.events === undefined || (Array.isArray(data.events) && data.events.every(isOutcome)))
  ) {
    return data as unknown as HealthReply;
  }
  if (data.outcome === 'events_ack' && Number.isSafeInteger(data.remaining)) {
    return data as unknown as EventsAckReply;
  }
  if (data.outcome === 'accepted' && typeof data.channel === 'string' && Number.isSafeInteger(data.sequence)) {
    return data as unknown as ManifestAccepted;
  }
  if (data.outcome === 'challenge' && typeof data.path === 'string' && isAbsolute(data.path)) {
    return data as unknown as ChallengeReply;
  }
  return null;
}
