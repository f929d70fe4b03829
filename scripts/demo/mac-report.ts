/**
 * What the demo's spec-2 stories say about their Macs: each agent's own check line (what it chose
 * and why: cohort, ring, rescue, floor), and tables of the fleet by macOS and hardware.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CheckRun, Device, Mac } from './fleet.js';
import type { Row } from './table.js';

export const HARDWARE: Record<Mac['kind'], string> = {
  intel: 'Intel',
  apple: 'Apple silicon',
  rosetta: 'Apple silicon, x86_64 agent (Rosetta)',
};

/** One round of checks: versions before and after, the checks, each device's last check line. */
export interface RoundLike {
  before: Map<string, string>;
  after: Map<string, string>;
  checks: CheckRun[];
  via: Map<string, string>;
}

/** The agent's last `SelfUpdate: check:` line, from "offers" on (what it chose and why). */
export function lastCheckLine(d: Device): string {
  let text = '';
  try {
    text = readFileSync(join(d.dir, 'agent.log'), 'utf8');
  } catch {
    return '';
  }
  const line = text.split('\n').findLast((l) => l.includes('SelfUpdate: check: current')) ?? '';
  return line.replace(/^.*?, manifest v2 \S+ seq \d+(?: \(unchanged, 304\))? /, '');
}

/** Why a Mac was offered its update, from its check line: cohort, ring, rescue or the floor. */
export function viaOf(line: string): string {
  if (line.includes('forced update')) return 'floor';
  if (line.includes('rescue:')) return 'rescue';
  const ring = /this device in ring ([\w-]+)/.exec(line);
  if (ring) return `ring ${ring[1]}`;
  return line.includes('this device in cohort') ? 'cohort' : '';
}

export function groups(devices: readonly Device[]): Device[][] {
  const by = new Map<string, Device[]>();
  for (const d of devices) {
    const k = `${d.mac!.macos} ${d.mac!.kind}`;
    by.set(k, [...(by.get(k) ?? []), d]);
  }
  return [...by.values()];
}

export function fleetRows(devices: readonly Device[]): Row[] {
  return groups(devices).map((g) => [
    g[0]!.mac!.macos,
    HARDWARE[g[0]!.mac!.kind],
    g.length,
    g.map((d) => d.id.slice(4)).join(' '),
  ]);
}

export const ROUND_HEADER = ['macOS', 'hardware', 'Macs', 'took (package, why)', 'running now', 'checkin'];

function counted(values: readonly string[]): string {
  const n = new Map<string, number>();
  for (const v of values) n.set(v, (n.get(v) ?? 0) + 1);
  return [...n].map(([v, k]) => (k === 1 && n.size === 1 && values.length === 1 ? v : `${v} × ${k}`)).join(', ');
}

export function roundRows(devices: readonly Device[], r: RoundLike): Row[] {
  return groups(devices).map((g) => {
    const took = g
      .filter((d) => r.after.get(d.id) !== r.before.get(d.id))
      .map((d) => {
        const last = r.checks.findLast((c) => c.device === d)?.result;
        return `${r.after.get(d.id)} ${last?.arch ?? '?'}, ${viaOf(r.via.get(d.id) ?? '') || '?'}`;
      });
    const checkin = g.map((d) => {
      const last = r.checks.findLast((c) => c.device === d)?.result;
      const first = r.checks.find((c) => c.device === d)?.result;
      if (last?.unsupported) return 'unsupported, not blocked';
      if (first?.blocked && first !== last) return 'blocked until updated';
      return last?.outcome === 'failed' ? `failed (${last.code})` : 'ok';
    });
    return [
      g[0]!.mac!.macos,
      HARDWARE[g[0]!.mac!.kind],
      g.length,
      took.length === 0 ? '–' : counted(took),
      counted(g.map((d) => r.after.get(d.id)!)),
      counted(checkin),
    ];
  });
}
