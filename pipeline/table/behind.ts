/**
 * "The table is behind": git's change already reached the published manifests but not
 * agent_releases, as after a safety change published while the database was down. Pure: read off
 * the plan and its manifests section.
 */
import type { Plan, PlanSection } from './plan-types.js';

export const CATCH_UP = 'the next apply catches it up';

/** The table changes a plan holds, one phrase each: "yank 1.0.4", "insert 1.0.5", "update 1.0.3". */
export function pendingTableChanges(plan: Plan): string[] {
  return [
    ...plan.yanks.map((y) => `yank ${y.version}`),
    ...plan.inserts.map((i) => `insert ${i.version}`),
    ...plan.updates
      .filter((u) => !u.adopt)
      .map((u) => `update ${u.version} (${u.changes.map((c) => c.field).join(', ')})`),
  ];
}

/** A section when the table has changes to make that the live manifests already carry, else null. */
export function tableBehindSection(plan: Plan): PlanSection | null {
  const manifests = plan.sections.find((s) => s.id === 'manifests');
  const data = manifests?.data;
  if (!Array.isArray(data) || data.length === 0) return null;
  // 'refreshed' only re-signs (an expired manifest): its content already matches git.
  const current = data.every((d: { action?: unknown }) => d.action === 'unchanged' || d.action === 'refreshed');
  const pending = pendingTableChanges(plan);
  if (!current || pending.length === 0) return null;
  return {
    id: 'table-behind',
    title: 'The table is behind the manifests',
    lines: [
      `the table is behind: the published manifests already carry ${pending.join(', ')}; agent_releases does not yet (the legacy endpoint still serves the old rows); ${CATCH_UP}`,
    ],
    data: { pending },
  };
}
