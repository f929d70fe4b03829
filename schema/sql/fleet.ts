/**
 * The DDL of what the fleet reports (docs/DESIGN.md, "Closing the loop"), owned here like
 * agent_releases: `agent_update_events` (append-only, one row per device and event id, so a
 * report sent twice stores once) and `agent_devices` (one row per device: its latest facts).
 * Kept apart from agent_releases' migrations: the release sync never waits on fleet tables.
 *
 * The SQL contract for the mngd server (or anything that mirrors pipeline/fleet/ingest.ts):
 *   INSERT INTO agent_update_events (...) VALUES (...) ON CONFLICT (device, event_id) DO NOTHING;
 *   INSERT INTO agent_devices (...) VALUES (...) ON CONFLICT (device) DO UPDATE SET ... ;
 */
import type { Migration } from './migration.js';

export const fleetEvents: Migration = {
  id: 'fleet_001_events',
  summary: 'add agent_update_events and agent_devices',
  sql: `CREATE TABLE IF NOT EXISTS agent_update_events (
  device text NOT NULL,
  event_id text NOT NULL,
  at timestamptz NOT NULL,
  received_at timestamptz NOT NULL,
  channel text NOT NULL,
  kind text NOT NULL,
  from_version text,
  to_version text,
  result text NOT NULL,
  code text,
  duration_ms integer,
  bytes bigint,
  PRIMARY KEY (device, event_id)
);
-- status and guard: per version and kind over a time window
CREATE INDEX IF NOT EXISTS agent_update_events_to_kind_at ON agent_update_events (to_version, kind, at);
CREATE TABLE IF NOT EXISTS agent_devices (
  device text PRIMARY KEY,
  channel text NOT NULL,
  current_version text NOT NULL,
  macos text NOT NULL,
  hw_arch text NOT NULL,
  last_seen timestamptz NOT NULL,
  last_result text,
  last_code text,
  dropped_events bigint NOT NULL DEFAULT 0
);
-- status: devices per channel and version seen lately
CREATE INDEX IF NOT EXISTS agent_devices_channel_version ON agent_devices (channel, current_version, last_seen);`,
};

export const FLEET_MIGRATIONS: readonly Migration[] = [fleetEvents];
