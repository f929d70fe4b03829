/**
 * JSON Schema of what an agent reports with its server checkin (docs/DESIGN.md, "Closing the
 * loop"): its facts and a bounded batch of update events. Strict like the manifest (unknown
 * fields refused), at most 64 KiB. The device id travels hashed: SHA-256(ring_salt/device_id).
 */
import { MACOS_VERSION_PATTERN } from './macos.js';
import { CHANNEL_PATTERN, SHA256_PATTERN } from './release.schema.js';
import { VERSION_PATTERN } from './version.js';

export const MAX_REPORT_BYTES = 64 * 1024;
export const MAX_REPORT_EVENTS = 200;
export const EVENT_KINDS = ['check', 'download', 'install', 'health', 'rollback'] as const;
export type EventKind = (typeof EVENT_KINDS)[number];
const RFC3339_UTC = '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d{1,3})?Z$';
const versionOrNull = { anyOf: [{ type: 'string', pattern: VERSION_PATTERN }, { type: 'null' }] } as const;

export const reportSchema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  $id: 'https://mngd.app/schemas/report.schema.json',
  title: 'mngd agent update report',
  type: 'object',
  additionalProperties: false,
  required: ['device', 'channel', 'current', 'macos', 'hw_arch', 'events'],
  properties: {
    device: { type: 'string', pattern: SHA256_PATTERN },
    channel: { type: 'string', pattern: CHANNEL_PATTERN },
    current: { type: 'string', pattern: VERSION_PATTERN },
    macos: { type: 'string', pattern: MACOS_VERSION_PATTERN },
    hw_arch: { enum: ['arm64', 'x86_64'] },
    /** events dropped on the device because its queue was full (oldest first) */
    dropped: { type: 'integer', minimum: 0, maximum: 1_000_000_000 },
    events: {
      type: 'array',
      maxItems: MAX_REPORT_EVENTS,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['id', 'at', 'kind', 'from', 'to', 'result', 'code', 'duration_ms', 'bytes'],
        properties: {
          id: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,64}$' },
          at: { type: 'string', pattern: RFC3339_UTC },
          kind: { enum: EVENT_KINDS },
          from: versionOrNull,
          to: versionOrNull,
          result: { enum: ['ok', 'error'] },
          code: { anyOf: [{ type: 'string', pattern: '^[A-Z][A-Z0-9_]{0,63}$' }, { type: 'null' }] },
          duration_ms: { anyOf: [{ type: 'integer', minimum: 0, maximum: 86_400_000 }, { type: 'null' }] },
          bytes: { anyOf: [{ type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER }, { type: 'null' }] },
        },
      },
    },
  },
} as const;
