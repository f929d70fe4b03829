/** JSON Schema of `releases/policy.yaml`. The source of policy.schema.json. */
import { CHANNEL_PATTERN, SHA256_PATTERN } from './release.schema.js';

export const policySchema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  $id: 'https://mngd.app/schemas/policy.schema.json',
  title: 'mngd agent release policy',
  description: 'releases/policy.yaml: URL prefixes, channels, manifest lifetime, trusted keys, publish target',
  type: 'object',
  additionalProperties: false,
  required: ['allowed_url_prefixes', 'channels', 'trusted_keys'],
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
