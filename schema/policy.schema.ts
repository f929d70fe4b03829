/** JSON Schema of `releases/policy.yaml`. The source of policy.schema.json. */
import { MACOS_VERSION_PATTERN } from './macos.js';
import { CHANNEL_PATTERN, SHA256_PATTERN } from './release.schema.js';
import { MAX_RINGS, RING_NAME_PATTERN, RING_SALT_PATTERN } from './rings.js';

/** A ring file's path, relative to the repository root: no absolute path, no "..", ending in .txt. */
export const RING_FILE_PATTERN = '^(?!/)(?!(.*/)?\\.\\.(/|$))[A-Za-z0-9._/-]{1,200}\\.txt$';
import { DURATION_PATTERN } from './rollout.js';

export const policySchema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  $id: 'https://mngd.app/schemas/policy.schema.json',
  title: 'mngd agent release policy',
  description: 'releases/policy.yaml: URL prefixes, channels, manifest lifetime, trusted keys, publish target',
  type: 'object',
  additionalProperties: false,
  required: ['allowed_url_prefixes', 'channels', 'trusted_keys'],
  dependentRequired: { rings: ['ring_salt'] },
  properties: {
    allowed_url_prefixes: {
      description: "A release's download_url must start with one of these https:// prefixes",
      type: 'array',
      minItems: 1,
      items: { type: 'string', pattern: '^https://[^\\s#@]+/$' },
    },
    channels: {
      description: 'The channels releases may name; must include stable',
      type: 'array',
      minItems: 1,
      uniqueItems: true,
      contains: { const: 'stable' },
      items: { type: 'string', pattern: CHANNEL_PATTERN },
    },
    manifest: {
      type: 'object',
      additionalProperties: false,
      properties: {
        lifetime_days: {
          description: 'expires_at = publish time + this',
          type: 'integer',
          minimum: 1,
          maximum: 365,
          default: 14,
        },
        refresh_window_days: {
          description: 'publish --refresh re-signs when expiry is this close',
          type: 'integer',
          minimum: 1,
          maximum: 364,
          default: 7,
        },
        cache_control: { type: 'string', minLength: 1, maxLength: 200, default: 'public, max-age=60' },
        max_releases: { type: 'integer', minimum: 1, maximum: 20, default: 20 },
      },
    },
    supported_macos: {
      description:
        'The macOS product versions the fleet runs (oldest to newest): floors must be satisfiable there, a macos_min above newest is refused',
      type: 'object',
      additionalProperties: false,
      required: ['oldest', 'newest'],
      properties: {
        oldest: { type: 'string', pattern: MACOS_VERSION_PATTERN },
        newest: { type: 'string', pattern: MACOS_VERSION_PATTERN },
      },
    },
    trusted_keys: {
      description: 'Public keys whose signatures agents trust; publish refuses any other key',
      type: 'array',
      minItems: 1,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['keyid', 'public_key'],
        properties: {
          keyid: { type: 'string', pattern: SHA256_PATTERN },
          public_key: { type: 'string', pattern: '^[A-Za-z0-9+/]{43}=$' },
          comment: { type: 'string', maxLength: 200 },
        },
      },
    },
    rings: {
      description:
        'Canary rings: each a file of plain device ids (in git only; hashed with ring_salt at publish). A release names rings: [canary] to offer itself to their members at 100 % whatever its schedule',
      type: 'object',
      maxProperties: MAX_RINGS,
      propertyNames: { pattern: RING_NAME_PATTERN },
      additionalProperties: {
        type: 'object',
        additionalProperties: false,
        required: ['device_ids_file'],
        properties: {
          device_ids_file: {
            description: 'Path from the repository root, e.g. rings/canary.txt: one device id per line, at most 1,000',
            type: 'string',
            pattern: RING_FILE_PATTERN,
          },
        },
      },
    },
    ring_salt: {
      description:
        'Random hex (openssl rand -hex 32): ring members are published as SHA-256(ring_salt + "/" + device_id)',
      type: 'string',
      pattern: RING_SALT_PATTERN,
    },
    guard: {
      description:
        'mngd-release guard (scheduled): per channel and version over the window, (errors + rollbacks) / install attempts above max_failure_rate, or more rollbacks than max_rollbacks, halts the version',
      type: 'object',
      additionalProperties: false,
      properties: {
        window: {
          description: 'how far back the guard counts events: 30m, 6h, 2d',
          type: 'string',
          pattern: DURATION_PATTERN,
          default: '6h',
        },
        min_attempts: {
          description: 'fewer install attempts than this in the window: too few to judge, nothing is done',
          type: 'integer',
          minimum: 1,
          maximum: 1_000_000,
          default: 20,
        },
        max_failure_rate: {
          description: '(errors + rollbacks) / attempts above this halts, e.g. 0.1 for 10 %',
          type: 'number',
          minimum: 0,
          maximum: 1,
          default: 0.1,
        },
        max_rollbacks: {
          description: 'more health-gate rollbacks than this in the window halts, whatever the rate',
          type: 'integer',
          minimum: 0,
          maximum: 1_000_000,
          default: 5,
        },
      },
    },
    publish: {
      type: 'object',
      additionalProperties: false,
      properties: {
        target: {
          description: 's3://bucket/prefix or a local directory; without it, .state/bucket (the embedded default)',
          type: 'string',
          minLength: 1,
        },
        region: { type: 'string', minLength: 1 },
        endpoint: { description: 'S3-compatible endpoint URL', type: 'string', pattern: '^https?://' },
        force_path_style: { type: 'boolean', default: false },
      },
    },
  },
} as const;
