/**
 * JSON Schema of a spec-2 manifest (`v2/latest.json`, docs/DESIGN.md). Spec-1 readers never see
 * it: they keep reading `latest.json`, a conservative projection. Strict like spec 1: an unknown
 * field is refused, since a reader must never ignore what it does not understand.
 */
import { MACOS_VERSION_PATTERN } from './macos.js';
import { MAX_RELEASE_NOTES_BYTES, SHA256_PATTERN } from './release.schema.js';
import {
  MANIFEST_TYPE,
  MAX_MANIFEST_RELEASES,
  RFC3339_UTC,
  SIGNATURES_SCHEMA,
  SIGNED_HEAD_PROPERTIES,
} from './manifest.schema.js';
import { VERSION_PATTERN } from './version.js';
import { MAX_RING_MEMBERS, MAX_RINGS, RING_NAME_PATTERN, RING_SALT_PATTERN } from './rings.js';

export const MANIFEST2_SPEC = 2;
export { MAX_RING_MEMBERS };
const version = { type: 'string', pattern: VERSION_PATTERN } as const;
const macos = { anyOf: [{ type: 'string', pattern: MACOS_VERSION_PATTERN }, { type: 'null' }] } as const;
const RING_NAME = RING_NAME_PATTERN;

export const manifest2Schema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  $id: 'https://mngd.app/schemas/manifest2.schema.json',
  title: 'mngd agent manifest, spec 2',
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
        'rings',
        'ring_salt',
        'rescue_from',
        'provenance',
      ],
      properties: {
        type: { const: MANIFEST_TYPE },
        spec: { const: MANIFEST2_SPEC },
        ...SIGNED_HEAD_PROPERTIES,
        releases: {
          type: 'array',
          maxItems: MAX_MANIFEST_RELEASES,
          items: {
            type: 'object',
            additionalProperties: false,
            required: ['version', 'artifacts', 'requires', 'rollout'],
            properties: {
              version,
              release_notes: { type: 'string', maxLength: MAX_RELEASE_NOTES_BYTES },
              artifacts: {
                type: 'array',
                minItems: 1,
                maxItems: 3,
                items: {
                  type: 'object',
                  additionalProperties: false,
                  required: ['arch', 'download_url', 'sha256', 'size'],
                  properties: {
                    arch: { enum: ['universal', 'arm64', 'x86_64'] },
                    download_url: { type: 'string', pattern: '^https://\\S+$', maxLength: 2048 },
                    sha256: { type: 'string', pattern: SHA256_PATTERN },
                    size: { type: 'integer', minimum: 1, maximum: Number.MAX_SAFE_INTEGER },
                  },
                },
              },
              requires: {
                type: 'object',
                additionalProperties: false,
                required: ['macos_min', 'macos_max'],
                properties: { macos_min: macos, macos_max: macos },
              },
              rollout: {
                type: 'array',
                minItems: 1,
                maxItems: 32,
                items: {
                  type: 'object',
                  additionalProperties: false,
                  required: ['at', 'percent'],
                  properties: {
                    at: { anyOf: [{ type: 'string', pattern: RFC3339_UTC }, { type: 'null' }] },
                    percent: { type: 'integer', minimum: 0, maximum: 100 },
                  },
                },
              },
              rings: { type: 'array', maxItems: MAX_RINGS, items: { type: 'string', pattern: RING_NAME } },
            },
          },
        },
        rings: {
          type: 'object',
          propertyNames: { pattern: RING_NAME },
          maxProperties: MAX_RINGS,
          additionalProperties: {
            type: 'array',
            maxItems: MAX_RING_MEMBERS,
            items: { type: 'string', pattern: SHA256_PATTERN },
          },
        },
        ring_salt: { type: 'string', pattern: RING_SALT_PATTERN },
        rescue_from: { type: 'array', maxItems: 64, items: version },
        provenance: {
          type: 'object',
          additionalProperties: false,
          required: ['commit', 'workflow_run', 'actor'],
          properties: {
            commit: { type: 'string', pattern: '^[0-9a-f]{7,64}$' },
            workflow_run: { anyOf: [{ type: 'string', pattern: '^https://\\S+$', maxLength: 2048 }, { type: 'null' }] },
            actor: { anyOf: [{ type: 'string', maxLength: 256 }, { type: 'null' }] },
          },
        },
      },
    },
    signatures: SIGNATURES_SCHEMA,
  },
} as const;

/** Where a channel's spec-2 manifest lives, relative to the publish target. */
export function manifest2Key(channel: string): string {
  return channel === 'stable' ? 'v2/latest.json' : `v2/channels/${channel}/latest.json`;
}

/** The immutable copy of a spec-2 manifest. */
export function history2Key(channel: string, sequence: number): string {
  return `history/v2/${channel}/${sequence}.json`;
}
