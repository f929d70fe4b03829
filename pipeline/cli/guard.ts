/**
 * What `mngd-release guard` does, on a database it is given (the command opens it; tests pass
 * their own): count the window's events, judge each offered version, and halt each breaching one
 * in its release file (re-read before each halt, so the rules across files see the earlier ones).
 */
import type { Release } from '../../schema/types.js';
import { guardCounts, guardDecisions, guardSettings, haltsOf, migrateFleet } from '../fleet/index.js';
import type { GuardDecision, GuardSettings, HaltOutcome } from '../fleet/index.js';
import { isoSeconds } from '../manifests/index.js';
import { hasErrors, loadReleaseSet } from '../releases/index.js';
import type { Database } from '../table/index.js';
import { editReleaseFile } from './edit-release.js';
import type { Loaded } from './setup.js';

export interface GuardRun {
  settings: GuardSettings;
  decisions: GuardDecision[];
  halts: HaltOutcome[];
}

export async function runGuard(
  db: Database,
  loaded: Loaded,
  opts: { cwd: string; releasesDir: string | undefined; channels: readonly string[]; now: Date; dryRun: boolean },
): Promise<GuardRun> {
  const settings = guardSettings(loaded.policy);
  await migrateFleet(db);
  const counts = await guardCounts(db, new Date(opts.now.getTime() - settings.windowMs));
  const decisions = guardDecisions({
    releases: loaded.releases as readonly Release[],
    channels: opts.channels,
    settings,
    counts,
    maxListed: loaded.policy.manifest.max_releases,
  });
  const halts: HaltOutcome[] = [];
  for (const h of haltsOf(decisions)) {
    const file = loaded.set.releases.find((r) => r.release.version === h.version)?.file ?? `${h.version}.yaml`;
    // Read again before each halt: the rules across files must see the halts written before it
    // (under --dry-run each is checked alone).
    const set = await loadReleaseSet(opts.cwd, { releasesDir: opts.releasesDir, now: opts.now });
    const edit = { kind: 'halt' as const, reason: h.reason, at: isoSeconds(opts.now) };
    const result = editReleaseFile(set, h.version, edit, { now: opts.now, dryRun: opts.dryRun });
    if (hasErrors(result.problems)) {
      const why = result.problems.filter((p) => p.severity === 'error').map((p) => `${p.code}: ${p.message}`);
      halts.push({ ...h, result: 'refused', file, why: `${file} would not be valid: ${why.join('; ')}` });
    } else halts.push({ ...h, result: opts.dryRun ? 'planned' : 'halted', file });
  }
  return { settings, decisions, halts };
}
