/** JSON Schema of a release file, `releases/<version>.yaml`. The source of release.schema.json. */
import { DURATION_PATTERN, MAX_SCHEDULE_STEPS, SCHEDULE_TIME_PATTERN } from './rollout.js';
import { ARCHES } from './artifacts.js';
import { MACOS_VERSION_PATTERN } from './macos.js';
import { VERSION_PATTERN } from './version.js';
import { MAX_RINGS, RING_NAME_PATTERN } from './rings.js';

export const CHANNEL_PATTERN = '^[a-z][a-z0-9-]{0,31}$';
export const SHA256_PATTERN = '^[0-9a-f]{64}$';
export const MAX_RELEASE_NOTES_BYTES = 16 * 1024;
export const MAX_HALT_REASON_BYTES = 1024;
/** RFC 3339 UTC to the second, as the pipeline writes times: 2026-12-04T17:40:00Z */
export const UTC_SECONDS_PATTERN = '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$';
export const DOWNLOAD_URL_SCHEMA = {
  description: "https:// URL of the pkg, under one of the policy's allowed prefixes; fetched without credentials",
  type: 'string',
  pattern: '^https://\\S+$',
  maxLength: 2048,
} as const;
export const SHA256_SCHEMA = {
  description: 'Lowercase hex SHA-256 of the pkg (mngd-release hash <pkg>)',
  type: 'string',
  pattern: SHA256_PATTERN,
} as const;
export const SIZE_SCHEMA = {
  description: 'Size of the pkg in bytes',
  type: 'integer',
  minimum: 1,
  maximum: Number.MAX_SAFE_INTEGER,
} as const;
const MACOS_SCHEMA = {
  description: 'A macOS product version as sw_vers -productVersion prints it (13.0, 14.6.1), never a Darwin number',
  type: 'string',
  pattern: MACOS_VERSION_PATTERN,
} as const;

export const releaseSchema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  $id: 'https://mngd.app/schemas/release.schema.json',
  title: 'mngd agent release',
  description: 'One release of the mngd agent: releases/<version>.yaml',
  type: 'object',
  additionalProperties: false,
  // download_url, sha256 and size (one universal package) or artifacts, never both: release-file.ts
  required: ['version'],
  properties: {
    version: {
      description: 'Dotted numeric version, 1 to 4 parts (e.g. 1.0.3); equals the file name without .yaml',
      type: 'string',
      pattern: VERSION_PATTERN,
    },
    download_url: DOWNLOAD_URL_SCHEMA,
    sha256: SHA256_SCHEMA,
    size: SIZE_SCHEMA,
    artifacts: {
      description:
        'The packages per architecture, instead of download_url/sha256/size (which mean one universal package)',
      type: 'array',
      minItems: 1,
      maxItems: 3,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['arch', 'download_url', 'sha256', 'size'],
        properties: {
          arch: { description: 'universal, arm64 or x86_64', enum: ARCHES },
          download_url: DOWNLOAD_URL_SCHEMA,
          sha256: SHA256_SCHEMA,
          size: SIZE_SCHEMA,
        },
      },
    },
    requires: {
      description: 'The macOS versions this release runs on (product versions, each end inclusive and optional)',
      type: 'object',
      additionalProperties: false,
      minProperties: 1,
      properties: { macos_min: MACOS_SCHEMA, macos_max: MACOS_SCHEMA },
    },
    desupports: {
      description:
        'This release deliberately leaves Macs below macos_below behind: its floor need not be satisfiable there (plan names it)',
      type: 'object',
      additionalProperties: false,
      required: ['macos_below'],
      properties: { macos_below: MACOS_SCHEMA },
    },
    release_notes: {
      description: 'Release notes, at most 16 KiB',
      type: 'string',
      maxLength: MAX_RELEASE_NOTES_BYTES,
    },
    min_required_version: {
      description: "Agents below this version must update before they check in (at most this release's version)",
      type: 'string',
      pattern: VERSION_PATTERN,
    },
    active: {
      description: 'false yanks the release',
      type: 'boolean',
      default: true,
    },
    channel: {
      description: "One of the policy's channels",
      type: 'string',
      pattern: CHANNEL_PATTERN,
      default: 'stable',
    },
    rollout_percent: {
      description: 'Share of devices offered this release, 0-100; 0 pauses it',
      type: 'integer',
      minimum: 0,
      maximum: 100,
      default: 100,
    },
    rollout_schedule: {
      description:
        'A ramp instead of rollout_percent (not both): from start (UTC), each step holds its share for its hold (30m, 24h, 7d); shares strictly increase, the last is 100 and holds for ever; at most 60 days in all',
      type: 'object',
      additionalProperties: false,
      required: ['start', 'steps'],
      properties: {
        start: {
          description: 'When the first step starts, RFC 3339 in UTC: 2026-12-07T09:00:00Z',
          type: 'string',
          pattern: SCHEDULE_TIME_PATTERN,
        },
        steps: {
          type: 'array',
          minItems: 1,
          maxItems: MAX_SCHEDULE_STEPS,
          items: {
            type: 'object',
            additionalProperties: false,
            required: ['percent'],
            properties: {
              percent: { description: 'Share of devices offered, 1-100', type: 'integer', minimum: 1, maximum: 100 },
              hold: {
                description: 'How long this share holds before the next step: 30m, 24h, 7d (none on the last step)',
                type: 'string',
                pattern: DURATION_PATTERN,
              },
            },
          },
        },
        paused_at: {
          description: 'Set by mngd-release pause: the ramp stops here and the share in force then holds',
          type: 'string',
          pattern: SCHEDULE_TIME_PATTERN,
        },
      },
    },
    rings: {
      description: 'Rings of the policy whose devices take this release at 100 % whatever its rollout (e.g. [canary])',
      type: 'array',
      uniqueItems: true,
      maxItems: MAX_RINGS,
      items: { type: 'string', pattern: RING_NAME_PATTERN },
    },
    halted: {
      description:
        'Set by mngd-release halt: the release is offered to nobody (like active: false), with why and when it was stopped',
      type: 'object',
      additionalProperties: false,
      required: ['reason', 'at'],
      properties: {
        reason: {
          description: 'Why it was halted (one line, for the on-call)',
          type: 'string',
          minLength: 1,
          maxLength: MAX_HALT_REASON_BYTES,
        },
        at: {
          description: 'When it was halted, UTC: 2026-12-04T17:40:00Z',
          type: 'string',
          pattern: UTC_SECONDS_PATTERN,
        },
      },
    },
  },
} as const;
