/**
 * The update events one check produced (pure): what the agent reports with its checkin. A check
 * that found nothing to do reports nothing (the device's facts still go with every checkin); a
 * release offered is a `check` event towards it (status counts devices offered a release and not
 * on it after 48 h: stuck); then its download and install, ok or failed with the step's code.
 * Rollbacks are the helper's health gate's to report.
 */
import type { CheckResult } from './check-result.js';
import type { NewEvent } from './event-queue.js';

export function eventsOf(r: CheckResult, at: Date, durationMs: number): NewEvent[] {
  const base = { at: at.toISOString(), from: r.current, duration_ms: Math.max(0, Math.round(durationMs)), bytes: null };
  const ok = { result: 'ok' as const, code: null };
  const failed = r.outcome === 'failed' ? { result: 'error' as const, code: r.code } : null;
  if (r.outcome === 'failed' && (r.step === 'fetch-manifest' || r.step === 'verify-manifest'))
    return [{ ...base, kind: 'check', to: null, ...failed! }];
  if (r.target === null || r.outcome === 'cooling-down') return [];
  const out: NewEvent[] = [{ ...base, kind: 'check', to: r.target, ...ok }];
  const bytes = r.download?.transferred ?? null;
  if (r.outcome === 'updated') {
    out.push({ ...base, kind: 'download', to: r.target, ...ok, bytes });
    out.push({ ...base, kind: 'install', to: r.target, ...ok });
  } else if (r.step === 'download') out.push({ ...base, kind: 'download', to: r.target, ...failed!, bytes });
  else if (r.step === 'install') {
    out.push({ ...base, kind: 'download', to: r.target, ...ok, bytes });
    out.push({ ...base, kind: 'install', to: r.target, ...failed! });
  }
  return out;
}
