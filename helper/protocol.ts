/**
 * The helper protocol, version 1: newline-delimited JSON over a Unix socket, one request per
 * line, one response per line. Shared by the helper (server) and the agent (client); the full
 * description with every error code is docs/helper.md.
 *
 *   -> {"v":1,"id":"a1","type":"ping"}
 *   <- {"v":1,"id":"a1","ok":true,"installed_version":"1.0.2"}
 *   -> {"v":1,"id":"a2","type":"install","manifest":"<raw manifest>","version":"1.0.3","pkg_path":"/abs/pkg"}
 *      (spec 2 adds "arch":"arm64", the artifact downloaded)
 *   <- {"v":1,"id":"a2","ok":true,"outcome":"installed","version":"1.0.3","exit_code":0,"output_tail":"..."}
 *   <- {"v":1,"id":"a2","ok":false,"error":{"code":"PKG_REFUSED","message":"..."}}
 *   -> {"v":1,"id":"a3","type":"manifest","manifest":"<raw manifest>"}
 *   <- {"v":1,"id":"a3","ok":true,"outcome":"accepted","channel":"stable","sequence":1795744800}
 *
 * Proving the client's uid (additive: a helper that predates it answers BAD_REQUEST, and the
 * client then sends its request without proof): first on the connection
 *   -> {"v":1,"id":"a4","type":"prove","uid":65534}
 *   <- {"v":1,"id":"a4","ok":true,"outcome":"challenge","path":"/run/mngd/helper.sock.proofs/<random>"}
 * then the request itself, on the same connection, with the content of that file (mode 0400,
 * owned by the uid claimed: only it, and root, can read it) as "proof":"<64 hex>".
 *
 * The health gate (health.ts):
 *   -> {"v":1,"id":"a5","type":"started","version":"1.0.3"}
 *   <- {"v":1,"id":"a5","ok":true,"outcome":"started","pending":false,"quarantined":["1.0.4"],"events":[…]}
 *   -> {"v":1,"id":"a6","type":"events_ack","ids":["rollback-1_0_4"]}
 *   <- {"v":1,"id":"a6","ok":true,"outcome":"events_ack","remaining":0}
 */
import { ExternalError, MngdError } from '../schema/errors.js';
import type { ArtifactArch } from '../schema/choose2.js';
import type { ManifestErrorCode } from '../schema/manifest.js';
import type { ReportEvent } from '../schema/types.js';

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
  | 'VERSION_NOT_OFFERED'
  | 'DEVICE_ID_UNKNOWN'
  | 'DEVICE_FACTS_UNKNOWN'
  | 'ARCH_NOT_RUNNABLE'
  | 'ARTIFACT_NOT_CHOSEN'
  | 'INSTALLED_VERSION_UNKNOWN'
  | 'NOT_AN_UPGRADE'
  | 'PEER_UNPROVEN'
  | 'PKG_UNSAFE_PATH'
  | 'PKG_NOT_FOUND'
  | 'PKG_NOT_OWNED'
  | 'PKG_SIZE_MISMATCH'
  | 'PKG_HASH_MISMATCH'
  | 'STAGING_UNSAFE'
  | 'PKG_REFUSED'
  | 'PKG_UNSIGNED'
  | 'PKG_SIGNER_UNTRUSTED'
  | 'PKG_TEAM_ID_MISMATCH'
  | 'PKG_NOT_NOTARIZED'
  | 'PKG_SIGNATURE_CHECK_TIMEOUT'
  | 'SIGNATURE_CHECK_UNAVAILABLE'
  | 'INSTALLER_FAILED'
  | 'INSTALLER_UNAVAILABLE'
  | 'INSTALL_NOT_EFFECTIVE'
  | 'INSTALLER_TIMEOUT'
  | 'INTERNAL';

/** Codes the client raises when there is no usable answer at all. */
export type HelperClientErrorCode = 'HELPER_UNREACHABLE' | 'HELPER_TIMEOUT' | 'HELPER_PROTOCOL';

/**
 * Every request but `prove` may carry the proof of the client's uid: the content of the file a
 * `prove` on the same connection named (64 hex characters).
 */
interface Proven {
  proof?: string;
}

export interface PingRequest extends Proven {
  v: 1;
  id: string;
  type: 'ping';
}

/**
 * The first request of a connection that proves its uid: the helper writes a random secret into
 * a fresh file that only `uid` (and root) can read, and answers its path (ChallengeReply).
 */
export interface ProveRequest {
  v: 1;
  id: string;
  type: 'prove';
  /** the client's own uid (process.getuid()) */
  uid: number;
}

/** The largest uid a client may claim: (uid_t)-1 means "no change" to chown. */
export const MAX_UID = 0xfffffffe;

export interface InstallRequest extends Proven {
  v: 1;
  id: string;
  type: 'install';
  /** the manifest exactly as downloaded; the helper verifies it itself */
  manifest: string;
  /** the version chosen from that manifest */
  version: string;
  /** absolute path of the downloaded package */
  pkg_path: string;
  /** spec 2 only: the arch of the artifact the agent downloaded; the helper refuses one this hardware cannot run */
  arch?: ArtifactArch;
}

/**
 * A manifest the agent verified: the helper verifies it too and, when it is newer, remembers it
 * as the newest it knows, so an older one replayed later is refused.
 */
export interface ManifestRequest extends Proven {
  v: 1;
  id: string;
  type: 'manifest';
  /** the manifest exactly as downloaded */
  manifest: string;
}

/**
 * The health gate (docs/helper.md): `started` is the agent's start ping (the helper counts them
 * while a version is pending, a crash loop shows as too many); `health_ok` says the running
 * version verified a manifest and checked in.
 */
export interface HealthRequest extends Proven {
  v: 1;
  id: string;
  type: 'started' | 'health_ok';
  /** the version the agent runs */
  version: string;
}

/** The agent queued the health gate's outcomes (`events` of a HealthReply) durably: the helper drops them. */
export interface EventsAckRequest extends Proven {
  v: 1;
  id: string;
  type: 'events_ack';
  /** at most MAX_ACK_IDS event ids */
  ids: string[];
}

export const MAX_ACK_IDS = 50;

/** What the health gate answers (health.ts). */
export type GateRequest = HealthRequest | EventsAckRequest;

/** A request that does something (what a proof, if any, comes with). */
export type ActionRequest = PingRequest | InstallRequest | ManifestRequest | GateRequest;
export type HelperRequest = ActionRequest | ProveRequest;

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

export interface ManifestAccepted {
  v: 1;
  id: string;
  ok: true;
  outcome: 'accepted';
  channel: string;
  /** the highest sequence the helper has accepted for the channel (this one or a newer one) */
  sequence: number;
}

export interface HealthReply {
  v: 1;
  id: string;
  ok: true;
  outcome: 'started' | 'health_ok';
  /** started: this version is pending (check at once, then send health_ok); health_ok: still pending (false once committed) */
  pending: boolean;
  /** versions rolled back on this Mac: never offered again */
  quarantined: string[];
  /**
   * the health gate's outcomes (health, rollback) not yet acknowledged: the agent queues them for
   * its checkin. Optional (additive within version 1): a helper that predates it sends none.
   */
  events?: ReportEvent[];
}

export interface EventsAckReply {
  v: 1;
  id: string;
  ok: true;
  outcome: 'events_ack';
  /** outcomes still waiting */
  remaining: number;
}

export type GateReply = HealthReply | EventsAckReply;

export interface ChallengeReply {
  v: 1;
  id: string;
  ok: true;
  outcome: 'challenge';
  /** the file whose content is the proof: mode 0400, owned by the uid claimed */
  path: string;
}

export type PingResponse = PingReply | ErrorReply;
export type HealthResponse = HealthReply | ErrorReply;
export type EventsAckResponse = EventsAckReply | ErrorReply;
export type InstallResponse = InstallSuccess | ErrorReply;
export type ManifestResponse = ManifestAccepted | ErrorReply;
export type HelperResponse = PingReply | InstallSuccess | ManifestAccepted | GateReply | ChallengeReply | ErrorReply;

/** A refusal or failure the helper reports to its client. */
export class HelperError extends MngdError<HelperErrorCode> {
  /** the id of the request refused, when it could be read (for the error reply) */
  requestId: string | null = null;

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

/** Thrown by the client when the helper gave no usable answer. */
export class HelperClientError extends ExternalError<HelperClientErrorCode> {}

/** Where things live unless configured: shared by helper and agent. */
export function defaultVersionFile(platform: NodeJS.Platform = process.platform): string {
  return platform === 'darwin' ? '/Library/Application Support/mngd/VERSION' : '/var/lib/mngd/VERSION';
}

/**
 * The machine's device id (its rollout cohort): created once by the helper (root), read by the
 * helper and by every agent, so both choose for the same device and no request can pick a cohort.
 */
export function defaultDeviceIdFile(platform: NodeJS.Platform = process.platform): string {
  return platform === 'darwin' ? '/Library/Application Support/mngd/device-id' : '/var/lib/mngd/device-id';
}

export function defaultSocketPath(platform: NodeJS.Platform = process.platform): string {
  return platform === 'darwin' ? '/var/run/com.mngd.helper.sock' : '/run/mngd/helper.sock';
}
