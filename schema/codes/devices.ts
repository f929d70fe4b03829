/**
 * The codes of the devices' side: what `mngd-agent` reports of a check, and what `mngd-helper`
 * answers on its socket. One line each, in the words of the docs (docs/codes.md is generated).
 */

/** Verifying a manifest (schema/manifest.ts), the same code in agent, helper and publish. */
export const VERIFY_CODES = {
  MANIFEST_TOO_LARGE: 'a manifest over the size limit (endless data)',
  MANIFEST_MALFORMED: 'a manifest that is not JSON',
  MANIFEST_SCHEMA: 'a manifest that does not match the schema (spec 2: or breaks a rule the schema cannot say)',
  MANIFEST_SPEC:
    'a manifest of another spec than the reader follows: spec 1 at a spec-2 URL, spec 2 at a spec-1 one, spec 1 handed to a helper that follows spec 2',
  MANIFEST_SIGNATURE: 'no valid signature by a trusted key',
  MANIFEST_CHANNEL: 'a manifest for another channel',
  MANIFEST_EXPIRED: 'a manifest past its expires_at',
  MANIFEST_ROLLBACK: 'a sequence below the highest one accepted (a replayed old manifest)',
  MANIFEST_SEQUENCE_REUSED: 'the sequence accepted before, with other content',
  MANIFEST_FROM_FUTURE:
    "a sequence or published_at more than a day ahead of the device's clock (a leaked key's freeze)",
} as const;

/** mngd-agent: its HTTP client, download, state and helper client. */
export const AGENT_CODES = {
  HTTP_STATUS: 'the server answered an error status',
  HTTP_TIMEOUT: 'no connection or no data within the time-out',
  HTTP_NETWORK: 'the connection failed or was cut',
  HTTP_TLS: 'the TLS handshake or certificate check failed',
  HTTP_INSECURE_URL: 'a URL that is not https, or holds credentials',
  HTTP_INSECURE_REDIRECT: 'a redirect to http or to a URL with credentials',
  HTTP_TOO_MANY_REDIRECTS: 'more than 10 redirects',
  HTTP_TOO_LARGE: 'more bytes than expected',
  HTTP_LENGTH_MISMATCH: 'fewer bytes than Content-Length',
  HTTP_RANGE: 'a resumed download answered with another range than asked',
  HTTP_ABORTED: 'the download was cancelled (SIGTERM)',
  HTTP_DEADLINE: 'the manifest took over its total deadline, or a package arrived below the minimum average rate',
  HTTP_CA_FILE: 'the --ca-file cannot be read or holds no certificate',
  DOWNLOAD_SIZE_MISMATCH: 'the package downloaded has another size than the manifest says',
  DOWNLOAD_HASH_MISMATCH: 'the package downloaded has another SHA-256 than the manifest says',
  DOWNLOAD_IO: 'the package could not be written to the state folder',
  STATE_DIR: 'the private state folder cannot be used (not a folder, owned by another user)',
  DISK_FULL:
    'the disk (or quota) under the state folder is full: one warning, nothing left behind, not counted toward the cool-down',
  VERSION_FILE: 'the installed version file is missing or not a version (exit 1: reinstall)',
  HELPER_UNREACHABLE: 'nothing answers on the helper socket',
  HELPER_TIMEOUT: 'the helper did not answer in time',
  HELPER_PROTOCOL: 'the helper answered something that is not its protocol',
  DEVICE_FACTS: "the Mac's facts (sw_vers, sysctl) cannot be read: a spec-2 check is skipped, checkin not blocked",
  UNEXPECTED: 'a check step failed with an error that has no code (a bug)',
} as const;

/** mngd-helper: the error codes of its replies, and what stops it at start. */
export const HELPER_CODES = {
  BAD_REQUEST: 'not JSON, not an object, a missing or wrong field, an unknown field, a relative pkg_path',
  UNSUPPORTED_VERSION: 'the request is not protocol version 1',
  REQUEST_TOO_LARGE: 'a request line over 2 MiB',
  IDLE_TIMEOUT: 'no complete request within --idle-timeout',
  BUSY: "another install is running, too many clients are connected, or the client's uid used up its share (requests in progress, requests in a row)",
  VERSION_NOT_IN_MANIFEST: 'the version asked for is not in the verified manifest',
  VERSION_NOT_OFFERED: 'the manifest lists the version but does not offer it to this device (rollout cohort, paused)',
  DEVICE_ID_UNKNOWN: 'the --device-id-file cannot be read, so the rollout cohort is unknown',
  DEVICE_FACTS_UNKNOWN:
    "spec 2: the helper's own --sw-vers or --sysctl failed, so it cannot tell what this Mac runs; nothing installed",
  ARCH_NOT_RUNNABLE:
    "spec 2: the package asked for is built for an arch this Mac's hardware cannot run (arm64 on Intel), whatever the agent says",
  ARTIFACT_NOT_CHOSEN:
    'spec 2: the hardware can run the package asked for, but another artifact of the release is the one for it',
  INSTALLED_VERSION_UNKNOWN: 'the version file is missing or invalid, so a downgrade cannot be ruled out',
  NOT_AN_UPGRADE: 'the version is at or below the installed one',
  PEER_UNPROVEN:
    "the proof of the client's uid does not match the challenge file (or came without a prove), or an install came without proof (an agent older than the helper), or a started, health_ok or events_ack came from another uid than the agent's (--agent-user) or root",
  PKG_NOT_FOUND: 'nothing at pkg_path, or it cannot be opened',
  PKG_UNSAFE_PATH: 'pkg_path is a symbolic link or not a regular file',
  PKG_NOT_OWNED: 'pkg_path is not owned by the uid the client proved',
  PKG_SIZE_MISMATCH: "the staged copy's size differs from the manifest's",
  PKG_HASH_MISMATCH: "the staged copy's SHA-256 differs from the manifest's",
  PKG_REFUSED:
    "the file at pkg_path is missing, a link, not a regular file, not the proven uid's own, or has another size or SHA-256: one answer for all (no oracle)",
  PKG_UNSIGNED: 'pkgutil --check-signature: the package has no signature',
  PKG_SIGNER_UNTRUSTED:
    'pkgutil --check-signature: not signed by a Developer ID Installer certificate Apple issued for distribution (ad hoc, self-signed, expired, development)',
  PKG_TEAM_ID_MISMATCH: "the package's Developer ID Installer is of another Team ID than --team-id (got X, want Y)",
  PKG_NOT_NOTARIZED: 'spctl -a -vv -t install does not accept the package as Notarized Developer ID',
  PKG_SIGNATURE_CHECK_TIMEOUT: 'pkgutil or spctl ran past --signature-timeout and was killed',
  SIGNATURE_CHECK_UNAVAILABLE: 'pkgutil or spctl could not be started (the helper setup, not the package)',
  STAGING_UNSAFE:
    'a folder on the way to --staging is owned by another user or group/other-writable, or changed while staging (exit 2 at start)',
  INSTALLER_FAILED: 'the installer exited non-zero or was killed',
  INSTALLER_UNAVAILABLE: 'the installer could not be started at all',
  INSTALL_NOT_EFFECTIVE: 'the installer exited 0 but the version file does not show the new version',
  INSTALLER_TIMEOUT: 'the installer ran past --installer-timeout',
  DEVICE_ID_FILE:
    'serve cannot create the --device-id-file, it holds no device id, or --ioreg gives no hardware UUID (exit 2)',
  STATE_TORN:
    'a state file is torn or unreadable: logged once, the previous good copy (or none) is used, rewritten with the next accepted manifest',
  SOCKET_UNAVAILABLE: 'serve cannot listen: another helper is there, or the path is not a socket (exit 3)',
} as const;

/** The health gate's outcomes: the `code` of a `rollback` event the helper hands the agent for its report. */
export const HEALTH_CODES = {
  HEALTH_DEADLINE: 'no health_ok within --health-deadline: the version before was installed again',
  CRASH_LOOP: 'more than --health-max-restarts agent starts within --health-stable: rolled back',
  ROLLBACK_REFUSED:
    'the kept package of the version before no longer hashes as kept, or that version is quarantined on the Mac: nothing installed, the new version stays',
  ROLLBACK_FAILED:
    'the reinstall of the version before failed (the installer, staging, the disk): the new version stays while the helper retries with --rollback-retry; superseded by the rollback event once it works',
  ROLLBACK_TAKEN_OVER:
    "an install asked for while the rollback was due landed a newer version instead of putting the version before back: the Mac is off the version that failed its gate (supersedes ROLLBACK_FAILED, counted as that version's rollback)",
} as const;
