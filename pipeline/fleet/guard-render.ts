/** The guard's decisions as text and as the job summary's Markdown (the evidence of each halt). */
import type { GuardDecision, GuardSettings } from './guard.js';

/** What happened to each version the guard meant to halt. */
export interface HaltOutcome {
  version: string;
  channel: string;
  reason: string;
  /** halted: the file was edited; refused: the edit would not validate (why); planned: --dry-run */
  result: 'halted' | 'refused' | 'planned';
  file: string;
  why?: string;
}

const pct = (x: number) => `${(Math.round(x * 1000) / 10).toFixed(1)} %`;
const VERDICT = { 'too-few': 'too few', ok: 'ok', halt: 'HALT' } as const;

export function settingsLine(s: GuardSettings): string {
  return `window ${s.window}, min_attempts ${s.min_attempts}, max_failure_rate ${pct(s.max_failure_rate)}, max_rollbacks ${s.max_rollbacks}`;
}

export function renderGuardText(
  s: GuardSettings,
  decisions: readonly GuardDecision[],
  halts: readonly HaltOutcome[],
): string {
  const lines = [`guard: ${settingsLine(s)}`];
  if (decisions.length === 0)
    lines.push('  no offered version has install or rollback events in the window: nothing to judge');
  for (const d of decisions)
    lines.push(`  ${d.channel} ${d.version}: ${VERDICT[d.verdict]} (${d.evidence.replace(/^guard: /, '')})`);
  for (const h of halts) {
    if (h.result === 'halted') lines.push(`halted ${h.version} (${h.file}): ${h.reason}`);
    else if (h.result === 'planned') lines.push(`would halt ${h.version} (${h.file}; --dry-run: nothing written)`);
    else lines.push(`could not halt ${h.version}: ${h.why ?? ''}`);
  }
  if (halts.length === 0) lines.push('nothing to halt: nothing written');
  return `${lines.join('\n')}\n`;
}

export function renderGuardMarkdown(
  s: GuardSettings,
  decisions: readonly GuardDecision[],
  halts: readonly HaltOutcome[],
): string {
  const out = ['## Rollout guard', '', `Thresholds: ${settingsLine(s)}.`, ''];
  for (const h of halts) {
    if (h.result === 'refused') out.push(`**Could not halt ${h.version}**: ${h.why ?? ''}`, '');
    else out.push(`**${h.result === 'halted' ? 'Halted' : 'Would halt'} ${h.version}** (${h.file}): ${h.reason}`, '');
  }
  if (halts.length === 0) out.push('Nothing to halt.', '');
  if (decisions.length > 0) {
    out.push('| channel | version | attempts | errors | rollbacks | failure rate | verdict |');
    out.push('|---|---|---:|---:|---:|---:|---|');
    for (const d of decisions)
      out.push(
        `| ${d.channel} | ${d.version} | ${d.attempts} | ${d.errors}${d.codes.length > 0 ? ` (${d.codes.map((c) => `${c.code} ×${c.count}`).join(', ')})` : ''} | ${d.rollbacks} | ${pct(d.rate)} | ${VERDICT[d.verdict]} |`,
      );
    out.push('');
  }
  return out.join('\n');
}
