/** JSON Schema of a published manifest (`latest.json`). The source of manifest.schema.json. */
import { VERSION_PATTERN } from './version.js';
import { CHANNEL_PATTERN, SHA256_PATTERN, MAX_RELEASE_NOTES_BYTES } from './release.schema.js';

export const MANIFEST_TYPE = 'mngd-agent-manifest';
export const MANIFEST_SPEC = 1;
export const MAX_MANIFEST_RELEASES = 20;
export const MAX_MANIFEST_BYTES = 1024 * 1024;
export const RFC3339_UTC = '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}Z$';

/** What every manifest spec signs the same way after `type` and `spec` (spec 2 adds, never changes). */
export const SIGNED_HEAD_PROPERTIES = {
  channel: { type: 'string', pattern: CHANNEL_PATTERN },
  sequence: { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER },
  published_at: { type: 'string', pattern: RFC3339_UTC },
  expires_at: { type: 'string', pattern: RFC3339_UTC },
  min_required_version: { anyOf: [{ type: 'string', pattern: VERSION_PATTERN }, { type: 'null' }] },
} as const;

/** The signatures of every manifest spec: Ed25519, base64, by key id. */
export const SIGNATURES_SCHEMA = {
  type: 'array',
  minItems: 1,
  maxItems: 16,
  items: {
    type: 'object',
    additionalProperties: false,
    required: ['keyid', 'sig'],
    properties: {
      keyid: { type: 'string', pattern: SHA256_PATTERN },
      sig: { type: 'string', pattern: '^[A-Za-z0-9+/]{86}==$' },
    },
  },
} as const;

export const manifestSchema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  $id: 'https://mngd.app/schemas/manifest.schema.json',
  title: 'mngd agent manifest',
  type: 'object',
  additionalProperties: false,
  required: ['signed', 'signatures'],
  properties: {
    signed: {
      type: 'object',
      additionalProperties: false,
      required: [
        'type',
        'spec',
        'channel',
        'sequence',
        'published_at',
        'expires_at',
        'min_required_version',
        'releases',
      ],
      properties: {
        type: { const: MANIFEST_TYPE },
        spec: { const: MANIFEST_SPEC },
        ...SIGNED_HEAD_PROPERTIES,
        releases: {
          type: 'array',
          maxItems: MAX_MANIFEST_RELEASES,
          items: {
            type: 'object',
            additionalProperties: false,
            required: ['version', 'download_url', 'sha256', 'size', 'rollout_percent'],
            properties: {
              version: { type: 'string', pattern: VERSION_PATTERN },
              download_url: { type: 'string', pattern: '^https://\\S+$', maxLength: 2048 },
              sha256: { type: 'string', pattern: SHA256_PATTERN },
              size: { type: 'integer', minimum: 1, maximum: Number.MAX_SAFE_INTEGER },
              release_notes: { type: 'string', maxLength: MAX_RELEASE_NOTES_BYTES },
              rollout_percent: { type: 'integer', minimum: 0, maximum: 100 },
            },
          },
        },
      },
    },
    signatures: SIGNATURES_SCHEMA,
  },
} as const;
