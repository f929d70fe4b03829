/**
 * The guard's decisions (docs/DESIGN.md, "Closing the loop"): per channel and version offered
 * there, over the policy's window, failure rate = (errors + rollbacks) / install attempts. Too few
 * attempts: nothing. A rate above max_failure_rate or more rollbacks than max_rollbacks: halt,
 * with the evidence. The guard only ever halts: it never raises a share and never resumes a
 * release (a halted or yanked release is not offered, so it is not judged again: a rerun with
 * nothing new changes nothing). The counting reads the database; the judging is pure.
 */
import { listedOn } from '../../schema/channel.js';
import { MAX_HALT_REASON_BYTES } from '../../schema/release.schema.js';
import { parseDuration } from '../../schema/rollout.js';
import type { Policy, Release } from '../../schema/types.js';
import { compareVersions } from '../../schema/version.js';
import type { Sql } from '../table/index.js';
import { NOT_SUPERSEDED } from './rollbacks.js';

export interface GuardSettings {
  /** as written in the policy: 6h */
  window: string;
  windowMs: number;
  min_attempts: number;
  max_failure_rate: number;
  max_rollbacks: number;
}

/** The policy's `guard:` with its defaults (schema/policy.schema.ts holds them). */
export const GUARD_DEFAULTS = { window: '6h', min_attempts: 20, max_failure_rate: 0.1, max_rollbacks: 5 } as const;

export function guardSettings(policy: Pick<Policy, 'guard'>): GuardSettings {
  const g = { ...GUARD_DEFAULTS, ...policy.guard };
  // The schema's pattern admits only what parseDuration reads.
  return { ...g, windowMs: parseDuration(g.window) ?? 6 * 3_600_000 };
}

/** What the window holds for one channel and version. */
export interface GuardCounts {
  channel: string;
  version: string;
  /** install events towards the version (ok and error) */
  attempts: number;
  /** failed install events towards it */
  errors: number;
  /** health-gate rollbacks away from it */
  rollbacks: number;
  /** the failed installs by code, most frequent first */
  codes: { code: string; count: number }[];
}

export type GuardVerdict = 'too-few' | 'ok' | 'halt';

export interface GuardDecision extends GuardCounts {
  /** the release's own channel (what the halt names); differs on a channel that also offers stable */
  releaseChannel: string;
  verdict: GuardVerdict;
  /** (errors + rollbacks) / attempts, 0 when there were none */
  rate: number;
  /** one line: what was counted against which threshold */
  evidence: string;
}

const pct = (x: number) => `${(Math.round(x * 1000) / 10).toFixed(1)} %`;

/** Pure: the counts against the thresholds. */
export function judge(c: GuardCounts, s: GuardSettings, releaseChannel: string): GuardDecision {
  const rate = c.attempts === 0 ? 0 : (c.errors + c.rollbacks) / c.attempts;
  const failed = c.errors + c.rollbacks;
  const codes = c.codes.length === 0 ? '' : ` (${c.codes.map((x) => `${x.code} ×${x.count}`).join(', ')})`;
  const counted = `${failed} of ${c.attempts} install attempt(s) of ${c.version} on ${c.channel} failed or rolled back in the last ${s.window}: ${c.errors} error(s)${codes}, ${c.rollbacks} rollback(s)`;
  const base = { ...c, releaseChannel, rate };
  if (c.attempts < s.min_attempts)
    return {
      ...base,
      verdict: 'too-few',
      evidence: `${counted}; fewer than min_attempts ${s.min_attempts}: not judged`,
    };
  const breaches: string[] = [];
  if (rate > s.max_failure_rate)
    breaches.push(`failure rate ${pct(rate)} > max_failure_rate ${pct(s.max_failure_rate)}`);
  if (c.rollbacks > s.max_rollbacks) breaches.push(`${c.rollbacks} rollbacks > max_rollbacks ${s.max_rollbacks}`);
  if (breaches.length === 0)
    return {
      ...base,
      verdict: 'ok',
      evidence: `${counted}; failure rate ${pct(rate)} within max_failure_rate ${pct(s.max_failure_rate)}`,
    };
  return { ...base, verdict: 'halt', evidence: `guard: ${counted}; ${breaches.join('; ')}` };
}

interface CountRow {
  channel: string;
  version: string;
  kind: string;
  result: string;
  code: string | null;
  n: number;
}

/** The window's install and rollback events per channel and version (uses the (to_version, kind, at) index). */
export async function guardCounts(sql: Sql, since: Date): Promise<GuardCounts[]> {
  const { rows } = await sql.query<CountRow>(
    `SELECT e.channel, CASE WHEN e.kind = 'rollback' THEN e.from_version ELSE e.to_version END AS version, e.kind,
            e.result, e.code, count(*)::int AS n
       FROM agent_update_events e WHERE e.at >= $1 AND e.kind IN ('install', 'rollback') AND ${NOT_SUPERSEDED}
      GROUP BY 1, 2, 3, 4, 5`,
    [since.toISOString()],
  );
  const byKey = new Map<string, GuardCounts>();
  for (const r of rows) {
    if (r.version === null) continue;
    const key = `${r.channel}\n${r.version}`;
    const c = byKey.get(key) ?? {
      channel: r.channel,
      version: r.version,
      attempts: 0,
      errors: 0,
      rollbacks: 0,
      codes: [],
    };
    byKey.set(key, c);
    if (r.kind === 'rollback') c.rollbacks += r.n;
    else {
      c.attempts += r.n;
      if (r.result === 'error') {
        c.errors += r.n;
        c.codes.push({ code: r.code ?? 'UNKNOWN', count: r.n });
      }
    }
  }
  for (const c of byKey.values()) c.codes.sort((a, b) => b.count - a.count || a.code.localeCompare(b.code));
  return [...byKey.values()];
}

export interface GuardInput {
  releases: readonly Release[];
  channels: readonly string[];
  settings: GuardSettings;
  counts: readonly GuardCounts[];
  maxListed?: number;
}

/**
 * Pure: a decision for every version each channel's manifest offers (share above 0) that the
 * window has events of. A version that is not offered (halted, yanked, paused, gone) is never
 * judged: halting it again would change nothing.
 */
export function guardDecisions(input: GuardInput): GuardDecision[] {
  const out: GuardDecision[] = [];
  for (const channel of input.channels) {
    const offered = listedOn(channel, input.releases, input.maxListed ?? 20).filter((r) => r.rollout_percent > 0);
    for (const r of offered) {
      const c = input.counts.find((x) => x.channel === channel && compareVersions(x.version, r.version) === 0);
      if (c === undefined) continue;
      out.push(judge({ ...c, version: r.version }, input.settings, r.channel));
    }
  }
  return out;
}

/** Each version to halt once, with the evidence of every channel where it breached. */
export function haltsOf(decisions: readonly GuardDecision[]): { version: string; channel: string; reason: string }[] {
  const out = new Map<string, { version: string; channel: string; reason: string }>();
  for (const d of decisions) {
    if (d.verdict !== 'halt') continue;
    const seen = out.get(d.version);
    if (seen === undefined) out.set(d.version, { version: d.version, channel: d.releaseChannel, reason: d.evidence });
    else seen.reason = `${seen.reason} | ${d.evidence.replace(/^guard: /, '')}`;
  }
  // The reason is kept in the release file, which caps it; the job summary has the whole evidence.
  return [...out.values()].map((h) => ({ ...h, reason: clip(h.reason, MAX_HALT_REASON_BYTES) }));
}

function clip(text: string, bytes: number): string {
  if (Buffer.byteLength(text) <= bytes) return text;
  let cut = text;
  while (Buffer.byteLength(`${cut}…`) > bytes) cut = cut.slice(0, -1);
  return `${cut}…`;
}
