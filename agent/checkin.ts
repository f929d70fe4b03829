/**
 * The server checkin with the fleet report: a POST of the device's facts and its queued update
 * events to the checkin URL (the device id and version stay in the query, as the plain checkin
 * sends them). A 2xx drops exactly the events that were sent; anything else (a 500, a time-out,
 * no network) keeps them for the next checkin. The check is wrapped to queue what it did.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { FactsProvider } from '../helper/device-facts.js';
import { messageOf } from '../schema/errors.js';
import { MAX_REPORT_BYTES } from '../schema/report.schema.js';
import { withStatusHint, type HttpClient } from './http/index.js';
import type { CheckResult } from './check-result.js';
import type { EventQueue } from './event-queue.js';
import { eventsOf } from './events.js';
import type { Logger } from './log.js';
import { buildReport, hashedDevice, type DeviceFacts } from './report.js';

export interface Reporting {
  queue: EventQueue;
  /** the facts of this Mac; null: they cannot be read here (not a Mac): plain checkin, events kept */
  facts(): Promise<Pick<DeviceFacts, 'macos' | 'hw_arch'> | null>;
  /** the ring salt of the newest verified manifest ('' when it has none: spec 1) */
  ringSalt(): Promise<string>;
  deviceId: string;
  channel: string;
  current: string;
}

/** The checkin: POST the report (plain GET when this is not a Mac), then drop what the server took. */
export function reportingCheckin(
  url: string,
  http: HttpClient,
  r: Reporting,
  plain: () => Promise<void>,
): () => Promise<void> {
  return async () => {
    const facts = await r.facts().catch(() => null);
    if (facts === null) return plain();
    const u = new URL(url);
    u.searchParams.set('device_id', r.deviceId);
    u.searchParams.set('version', r.current);
    const device = hashedDevice(await r.ringSalt(), r.deviceId);
    const queued = await r.queue.read();
    const { bytes, sent } = buildReport(
      { device, channel: r.channel, current: r.current, ...facts },
      { events: queued.events, dropped: queued.dropped },
    );
    try {
      await http.post(u.toString(), { body: bytes, contentType: 'application/json', maxBytes: MAX_REPORT_BYTES });
    } catch (err) {
      const hint = 'check checkin_url in the config (--checkin-url)';
      throw withStatusHint(err, { missing: hint, refused: hint });
    }
    await r.queue.ack(sent);
  };
}

/** The check, queuing the events it produced before its result is acted on (an install exits next). */
export function recordingCheck(check: () => Promise<CheckResult>, queue: EventQueue, log: Logger, now: () => Date) {
  return async (): Promise<CheckResult> => {
    const started = Date.now();
    const result = await check();
    try {
      await queue.append(eventsOf(result, now(), Date.now() - started));
    } catch (err) {
      // Reporting must never stop an update: the events are lost, the check stands.
      log.warn(`SelfUpdate: events: could not queue this check's events: ${messageOf(err)}`);
    }
    return result;
  };
}

/** The report's facts from the Mac's own tools (helper/device-facts.ts, as spec 2 chooses with); null where they fail (not a Mac). */
export function reportFacts(read: FactsProvider): () => Promise<Pick<DeviceFacts, 'macos' | 'hw_arch'> | null> {
  return async () => {
    try {
      const f = await read();
      return { macos: f.macos, hw_arch: f.hwArch };
    } catch {
      return null;
    }
  };
}

/** The ring salt of the newest verified manifest in the state folder (spec 2 carries one), or ''. */
export async function ringSaltOf(stateDir: string): Promise<string> {
  try {
    const m = JSON.parse(await readFile(join(stateDir, 'manifest.json'), 'utf8')) as {
      signed?: { ring_salt?: unknown };
    };
    return typeof m.signed?.ring_salt === 'string' ? m.signed.ring_salt : '';
  } catch {
    return '';
  }
}
