/**
 * The codes of `mngd-release`, by stage: each a problem it reports at a line, a finding, or an
 * error it stops on. One line each: what happened, in the words of the docs (docs/codes.md is
 * generated from these tables).
 */

/**
 * A field of a release file whose value has the wrong type or form: RELEASE_BAD_<FIELD>, one per
 * field of schema/release.schema.ts (isCode knows them); a new field needs no new entry here.
 */
export type ReleaseBadFieldCode = `RELEASE_BAD_${string}`;

/** Problems in releases/ (validate, and every command that loads the releases first). Exit 1. */
export const RELEASE_CODES = {
  FILE_TOO_LARGE: 'a release or policy file over 64 KiB',
  FILE_ENCODING: 'a file that is not UTF-8 (the line of the first bad byte is named)',
  FILE_EMPTY: 'a file without any YAML in it',
  FILE_MULTIPLE_DOCUMENTS: 'more than one YAML document (a `---` separator) in one file',
  FILE_YAML_SYNTAX: 'a YAML syntax error, e.g. a quote that is never closed',
  FILE_DUPLICATE_KEY: 'the same key twice in one file',
  FILE_NOT_A_MAP: 'a file that is a single value or a list, not `key: value` lines',
  FILE_BAD_KEY: 'a key that is not a plain word (a complex key)',
  FILE_ALIAS: 'a YAML alias (`*name`); values are written out in full',
  FILE_ANCHOR: 'a YAML anchor (`&name`)',
  FILE_TAG: 'a YAML tag (`!!str`, `!custom`)',
  RELEASE_UNKNOWN_KEY: 'a key a release file does not have (with "did you mean" for a misspelling)',
  RELEASE_MISSING_FIELD: 'a required field (version, download_url, sha256, size) is missing',
  RELEASE_PACKAGE_BOTH: 'a file with both download_url/sha256/size and artifacts (one form only)',
  RELEASE_UNKNOWN_ARCH: 'an artifact whose arch is not universal, arm64 or x86_64',
  RELEASE_DUPLICATE_ARCH: 'two artifacts of one release with the same arch',
  RELEASE_MACOS_UNSUPPORTED:
    "requires.macos_min above the policy's supported_macos.newest (often a Darwin number typed by mistake), or macos_max below its oldest",
  'RELEASE_BAD_<FIELD>':
    'a field with the wrong type or form, e.g. RELEASE_BAD_SHA256 (uppercase or short hex), RELEASE_BAD_SIZE, RELEASE_BAD_VERSION',
  RELEASE_ROLLOUT_BOTH: 'a release with both rollout_percent and rollout_schedule (keep one)',
  RELEASE_SCHEDULE_START: "a rollout_schedule's start that is not RFC 3339 in UTC (ending in Z)",
  RELEASE_SCHEDULE_ORDER: 'a schedule step whose share is not above the step before it',
  RELEASE_SCHEDULE_END: 'a schedule whose last step is not 100 %',
  RELEASE_SCHEDULE_HOLD:
    'a step without hold, a hold in an unknown unit (30m, 24h, 7d are read), or a hold on the last step',
  RELEASE_SCHEDULE_TOO_LONG: 'a schedule whose holds add up to more than 60 days',
  RELEASE_SCHEDULE_PAUSED_AT: 'a paused_at that is not RFC 3339 in UTC',
  RELEASE_UNKNOWN_RING: 'a release names a ring the policy does not define',
  RING_FILE_MISSING: "the ring file a policy's rings.<name>.device_ids_file names does not exist",
  RING_MALFORMED_LINE: 'a line of a ring file that is not a device id (one per line; # comments)',
  RING_DUPLICATE_ID: 'a device id twice in a ring file (both lines are named)',
  RING_TOO_LARGE: 'a ring of more than 1,000 ids, or a ring file over 256 KiB',
  RELEASE_FILE_NAME: 'a file in releases/ that is not named `<version>.yaml`',
  RELEASE_FILE_EXTENSION: 'a release file ending in `.yml`',
  RELEASE_FILE_NAME_MISMATCH: 'the file name and the version inside differ',
  RELEASE_URL_CREDENTIALS: 'download_url holds user info (`user:password@`)',
  RELEASE_URL_FRAGMENT: 'download_url has a `#fragment`',
  RELEASE_URL_PREFIX: "download_url is (or resolves to) a place outside the policy's allowed_url_prefixes",
  RELEASE_FLOOR_ABOVE_VERSION: "min_required_version is above the release's own version",
  RELEASE_UNKNOWN_CHANNEL: 'a channel the policy does not list',
  RELEASE_DUPLICATE_VERSION: 'two files with versions that compare equal (1.0 and 1.0.0)',
  RELEASE_DUPLICATE_SHA256: 'two releases with the same sha256 (a copy-pasted release file)',
  RELEASE_DUPLICATE_URL: 'two releases with the same download_url',
  RELEASE_URL_OTHER_VERSION:
    "warning: download_url's file name names another version than the release (mngd-agent-1.0.2.pkg in 1.0.1.yaml): a copied URL?",
  RELEASE_FLOOR_LOCKOUT: 'a floor above every release its channel offers: devices could never reach it',
  RELEASE_FLOOR_STRANDS:
    'a floor that Macs on some supported macOS or arch cannot satisfy (no release at or above it runs there), and no desupports says that is meant',
  POLICY_MISSING: 'releases/policy.yaml does not exist',
  POLICY_UNKNOWN_KEY: 'a key the policy does not have',
  POLICY_MISSING_FIELD: 'a required policy field is missing',
  POLICY_BAD_FIELD: 'a policy field with a wrong value (e.g. channels without stable)',
  POLICY_KEYID_MISMATCH: "a trusted key's keyid is not the SHA-256 of its public_key",
  POLICY_KEY_STILL_SIGNING:
    'trusted_keys lacks the key MNGD_SIGNING_KEY (or MNGD_SIGNING_KEY_ID) signs with: every publish would fail; remove it from MNGD_SIGNING_KEY first, publish, then from trusted_keys',
  RELEASES_DIR_MISSING:
    'the releases folder does not exist (exit 2: run from the repository root or pass --releases) or cannot be read',
  RELEASES_NESTED: 'a folder inside releases/',
  RELEASES_SYMLINK: 'a symbolic link in releases/ (links are never followed)',
  RELEASES_UNEXPECTED_ENTRY: 'something in releases/ that is not a release file, policy.yaml or a README',
  RELEASES_INVALID: 'a command that writes (sync, publish, apply, drift) stops because releases/ has problems',
  READ_FAILED: 'a file in releases/ could not be read (exit 3)',
} as const;

/** yank, halt, pause, rollout: a release file edited in place. */
export const EDIT_CODES = {
  UNKNOWN_VERSION: 'no release file of that version (with "did you mean"); exit 2',
  CHANNEL_MISMATCH: "--channel names another channel than the release's own; exit 2",
  RELEASE_FILE_INVALID: 'the release file does not load; fix it first (validate lists why)',
  RELEASE_EDIT_LAYOUT:
    'the file is not in the block layout `new` writes, so it is not edited in place; edit it by hand',
} as const;

/** The table agent_releases: sync's refusals (exit 1), plan's warnings (exit 0), the database (exit 2 or 3). */
export const TABLE_CODES = {
  IMMUTABLE_FIELD_CHANGED: 'a file changes download_url, sha256 or size of a version already in the table',
  UNMANAGED_ROW: 'the table has a row the pipeline never wrote, and there is no file for it',
  VERSION_ALIAS: 'a file says 1.0.0 and the table has 1.0 (equal versions)',
  DB_DUPLICATE_VERSIONS:
    'the same version is in the table twice, or two spellings that compare equal (1.0 and 1.0.0); the SQL that keeps one row is printed',
  DB_ROW_VERSION_INVALID: "a row's version is not dotted numeric (v1.0.2); the UPDATE that respells it is printed",
  SYNC_REFUSED: 'sync wrote nothing because of the problems above',
  FLOOR_RAISED: "warning: a channel's floor rises; every device below it updates within the hour",
  FLOOR_DESUPPORTS:
    "warning: a channel's floor deliberately leaves Macs below a macOS behind (the release's desupports): they become unsupported, never blocked, and stay on their version",
  RELEASE_HALTED: 'warning: a release file is newly halted (its reason named); no channel offers it from now on',
  NEWEST_YANKED: 'warning: the newest release of a channel is yanked; devices fall back',
  CHANNEL_EMPTY: 'warning: a channel no longer offers any release',
  LEGACY_EMPTY: 'warning: the legacy endpoint /api/v1/agent/latest stops serving a release (404)',
  LEGACY_FLOOR_RAISED: "warning: the legacy endpoint's floor rises",
  LEGACY_NEWEST_YANKED: "warning: the legacy endpoint's newest release is yanked",
  TRUSTED_KEYS_CHANGED: 'warning: the change adds or removes a trusted key (plan --changed-since)',
  RELEASE_BELOW_OFFERED:
    'warning: a new release is below one its channel already offers at 100 %: no device will ever take it (agents never downgrade)',
  IMPORT_DOWNLOAD_FAILED: 'import could not download a package to measure its size (exit 3)',
  IMPORT_SHA256_MISMATCH: "import found a package whose sha256 differs from its row's: agents reject it",
  IMPORT_ACTIVE_NULL: "warning: a row's active is NULL (never served): imported as active: false",
  IMPORT_NOTES_EMPTY: 'warning: a row\'s release_notes is empty: imported as release_notes: ""',
  DB_SETTINGS: 'DATABASE_URL is not a PostgreSQL URL, or the server refuses it (TLS, user, password, database); exit 2',
  DB_TABLE_SHAPE: 'agent_releases lacks a seed column (version, download_url, sha256, active)',
  DB_UNAVAILABLE: 'cannot connect to PostgreSQL, or the connection was lost (exit 3)',
  DB_QUERY_FAILED: 'the server refused a statement, e.g. a lock timeout (exit 3)',
  DB_TIMEOUT: 'PostgreSQL did not answer within the connect or query time-out, or ended a statement (exit 3)',
  SYNC_LOCKED: 'another sync or apply held the sync lock past MNGD_SYNC_LOCK_WAIT_MS; the holder is named (exit 3)',
} as const;

/** verify-artifacts: each package downloaded and compared with its release file. Exit 1, or 3 for an outside failure. */
export const ARTIFACT_CODES = {
  ARTIFACT_SHA256_MISMATCH: 'the package downloaded has another SHA-256 than the file says',
  ARTIFACT_SIZE_MISMATCH: 'the whole package arrived and is shorter than size',
  ARTIFACT_TOO_LARGE: 'the package is longer than size (the download stops there)',
  ARTIFACT_NOT_FOUND: 'download_url answers 404 or 410',
  ARTIFACT_HTTP_STATUS: 'download_url answers another 4xx (e.g. 403: the object is not public)',
  ARTIFACT_INSECURE_URL: 'a redirect to http or to a URL with credentials, or a redirect loop',
  ARTIFACT_TLS:
    'the TLS connection failed (an unknown CA, a bad certificate): a setting, exit 2; trust the CA with --ca-file or NODE_EXTRA_CA_CERTS',
  ARTIFACT_UNREACHABLE: 'time-out, connection failure, 5xx after the retries, a transfer cut short (exit 3)',
  GIT_UNAVAILABLE: '--changed-since needs git, which is not on PATH (exit 3)',
  GIT_FAILED: 'git could not list the changed files (exit 3)',
} as const;

/** publish and the manifests it writes. */
export const MANIFEST_CODES = {
  MANIFEST_SELF_CHECK: 'a manifest built here does not verify with the agent code; nothing is written (exit 1)',
  CLOCK_BEHIND:
    "this machine's clock is behind the object store's clock (S3's Date header), or before the last publish's published_at, by more than MNGD_CLOCK_SKEW_SECONDS (default 300): nothing is written; set the clock right (exit 3)",
  CLOCK_AHEAD:
    "this machine's clock is ahead of the object store's clock (S3's Date header) by more than MNGD_CLOCK_SKEW_SECONDS (default 300): agents would refuse what it signs (MANIFEST_FROM_FUTURE); nothing is written; set the clock right (exit 3)",
  SIGNING_KEY_UNTRUSTED: 'the signing key is not one of the policy trusted_keys (exit 1)',
  KEY_INVALID: 'a key that is not an Ed25519 key in the expected encoding (exit 1)',
  STORE_CONFLICT: 'another publish changed latest.json between this read and write; nothing is overwritten (exit 3)',
  STORE_UNAVAILABLE: 'the object store failed (network, permissions, unknown bucket); exit 3',
  STORE_NO_CREDENTIALS: 'no AWS credentials for an s3:// target (exit 2)',
} as const;

/** Fleet reports: the reference ingest of what devices send. */
export const FLEET_CODES = {
  REPORT_REFUSED:
    'a device report over the size limit, not JSON, off the schema, dated in the future or with a repeated event id; nothing is stored',
} as const;

/** drift: the table and each published manifest compared with git. Exit 1 on an error finding. */
export const DRIFT_CODES = {
  MANIFEST_MISSING: 'a channel has no published manifest',
  MANIFEST_INVALID: 'a published manifest does not verify',
  MANIFEST_DIFFERS: 'a published manifest lists other releases than git',
  MANIFEST_EXPIRING: 'warning: a manifest is inside its refresh window',
  MANIFEST_HEADERS: 'warning: a manifest is served with other headers than publish writes',
  MANIFEST_BEHIND_HISTORY: 'history holds a newer sequence than latest.json: a publish stopped between its writes',
  MANIFEST_LIVE_HALT: 'a release halted live (release-halt) is still offered in git: merge the halt pull request first',
  TABLE_ROW_MISSING: 'a release in git has no row in the table',
  TABLE_ROW_DIFFERS: 'a row differs from its release file',
  TABLE_ROW_NOT_YANKED: 'a row is active although its release is yanked or gone',
  TABLE_IMMUTABLE_CHANGED:
    "a row's download_url, sha256 or size differs from git (an edit by hand): sync never rewrites them; the UPDATE that restores the row from git is printed",
  TABLE_UNMANAGED_ROW: 'a row without a release file',
  TABLE_CONFLICT: 'sync would refuse the table as it is (the original code is named)',
  TABLE_MIGRATIONS_PENDING: "the table's migrations have not all run",
  SCHEDULE_STEP_DUE:
    'warning: a rollout step fell due since the last apply: the table or a manifest still has the share of an earlier step (the next apply, release-refresh every 30 minutes, writes it)',
  TABLE_BEHIND:
    'warning: the published manifests already carry a change the table lacks (a safety publish while the database was down); the next apply catches it up',
} as const;
