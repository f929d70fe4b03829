/**
 * The report one checkin sends (schema/report.schema.ts): the device's facts and the queued
 * events, oldest first, as many as fit in 64 KiB. The device id travels hashed:
 * SHA-256(ring_salt + "/" + device_id), the same hash the manifest's rings use, so the raw id
 * never leaves the Mac.
 */
import { createHash } from 'node:crypto';
import { MAX_REPORT_BYTES } from '../schema/report.schema.js';
import type { Report } from '../schema/types.js';
import type { Batch } from './event-queue.js';

export function hashedDevice(ringSalt: string, deviceId: string): string {
  return createHash('sha256').update(`${ringSalt}/${deviceId}`).digest('hex');
}

export interface DeviceFacts {
  device: string;
  channel: string;
  current: string;
  macos: string;
  hw_arch: 'arm64' | 'x86_64';
}

/** The report's bytes and exactly the batch in it (what a 2xx lets the queue drop). */
export function buildReport(facts: DeviceFacts, queued: Batch): { bytes: Buffer; sent: Batch } {
  let events = queued.events;
  for (;;) {
    const report: Report = { ...facts, dropped: queued.dropped, events };
    const bytes = Buffer.from(JSON.stringify(report));
    // The server refuses a report over 64 KiB whole: send the oldest that fit, the rest next time.
    if (bytes.length <= MAX_REPORT_BYTES || events.length === 0)
      return { bytes, sent: { events, dropped: queued.dropped } };
    events = events.slice(0, Math.floor(events.length * 0.75));
  }
}
