/**
 * What drift found as git says, one line each: the table's rows that match their release files,
 * and each live manifest without a difference (its sequence, offers with shares, floor, expiry).
 * A clean run then says what it covered, not only that nothing failed. Pure.
 */
import { offeredText, type Offered } from '../../schema/channel.js';
import { sortNewestFirst } from '../../schema/version.js';
import type { DriftFinding, DriftMatch } from './finding.js';

/** A live manifest with no difference from git, said as what it is: sequence, offers with shares, floor, expiry. */
export function manifestMatch(
  subject: string,
  live: { sequence: number; min_required_version: string | null; expires_at: string },
  findings: readonly DriftFinding[],
  offers: readonly Offered[],
): DriftMatch[] {
  if (findings.some((f) => f.severity === 'error')) return [];
  const warned = findings.length > 0 ? ' (warning above)' : '';
  return [
    {
      subject,
      message: `sequence ${live.sequence} matches git: offers ${offeredText(offers)}; floor ${live.min_required_version ?? 'none'}; expires ${live.expires_at}${warned}`,
    },
  ];
}

/** The rows that match their release files: every version in git that no table finding names. Pure. */
export function tableMatch(versions: readonly string[], findings: readonly DriftFinding[]): DriftMatch[] {
  const named = new Set(findings.filter((f) => f.subject.startsWith('table ')).map((f) => f.subject.slice(6)));
  const same = sortNewestFirst(
    versions.filter((v) => !named.has(v)),
    (v) => v,
  );
  if (same.length === 0) return [];
  return [
    {
      subject: 'table',
      message: `${same.length} row(s) match their release files: ${same.join(', ')}`,
    },
  ];
}
