/** The plan as people read it: plain text for a terminal, Markdown for the GitHub job summary. */
import { problemsMarkdown } from '../releases/index.js';
import {
  blockingProblems,
  changesNoRelease,
  isNoop,
  type FieldChange,
  type FieldValue,
  type Plan,
  type PlannedUpdate,
  type PlanWarning,
  type YankReason,
} from './plan.js';
import { formatProblem, sortProblems } from '../releases/index.js';

export interface RenderOptions {
  /** where the table is, safe to print (a redacted URL or the PGlite folder) */
  target?: string;
}

const REASON: Record<YankReason, string> = {
  'file-says-inactive': 'the file says active: false',
  'file-says-halted': 'the file says halted',
  'file-removed': 'its file was removed',
  'unmanaged-yanked': 'never managed and no file (--yank-unmanaged)',
};

function value(v: FieldValue): string {
  if (v === null) return 'null';
  if (typeof v === 'string') {
    const one = v.length > 60 ? `${v.slice(0, 57)}…` : v;
    return JSON.stringify(one);
  }
  return String(v);
}

function adoptText(u: PlannedUpdate): string {
  const size = u.changes.find((c) => c.field === 'size');
  return `mark as managed${size ? `, record size ${String(size.to)}` : ''}; nothing agents see changes`;
}

const change = (c: FieldChange) => `${c.field}: ${value(c.from)} -> ${value(c.to)}`;

export function headline(plan: Plan): string {
  const adopt = plan.updates.filter((u) => u.adopt).length;
  const parts = [
    `${plan.inserts.length} to insert`,
    `${plan.updates.length - adopt} to update`,
    `${plan.yanks.length} to yank`,
    ...(adopt > 0 ? [`${adopt} to adopt`] : []),
    ...(plan.artifacts.length > 0 ? [`${plan.artifacts.length} per-arch package(s) to insert`] : []),
    `${plan.unchanged} unchanged`,
  ];
  if (plan.migrations.length > 0) parts.unshift(`${plan.migrations.length} migration(s)`);
  if (isNoop(plan)) return `no change (${plan.unchanged} unchanged)`;
  return parts.join(', ') + (changesNoRelease(plan) ? ' (no release changes)' : '');
}

function warningLine(w: PlanWarning): string {
  return `${w.code}${w.channel ? ` [${w.channel}]` : ''}: ${w.message}`;
}

export function renderPlanText(plan: Plan, opts: RenderOptions = {}): string {
  const out: string[] = [`Plan for agent_releases${opts.target ? ` (${opts.target})` : ''}: ${headline(plan)}`];
  const block = (title: string, lines: string[]) => {
    if (lines.length > 0) out.push('', `${title}:`, ...lines.map((l) => (l === '' ? l : `  ${l}`)));
  };
  block(
    'Migrations to run first',
    plan.migrations.map((m) => `${m.id}: ${m.summary}`),
  );
  block(
    'Insert',
    plan.inserts.map(
      (i) =>
        `+ ${i.version}  ${i.row.channel} ${i.row.rollout_percent}%${i.row.yanked ? ' yanked' : ''}, legacy active=${i.row.active}  (${i.file})`,
    ),
  );
  block(
    'Insert into agent_release_artifacts',
    plan.artifacts.map((a) => `+ ${a.version} ${a.arch}  ${a.size} bytes, sha256 ${a.sha256.slice(0, 12)}…`),
  );
  block(
    'Update',
    plan.updates.flatMap((u) =>
      u.adopt
        ? [`= ${u.version}  adopt: ${adoptText(u)}  (${u.file ?? 'no file'})`]
        : [`~ ${u.version}  (${u.file ?? 'no file'})`, ...u.changes.map((c) => `    ${change(c)}`)],
    ),
  );
  block(
    'Yank',
    plan.yanks.flatMap((y) => [`- ${y.version}  ${REASON[y.reason]}`, ...y.changes.map((c) => `    ${change(c)}`)]),
  );
  block(
    'Rows the pipeline never managed',
    plan.unmanaged.map((u) =>
      u.action === 'adopt'
        ? `? ${u.version}  adopted by ${u.file}`
        : u.action === 'yank'
          ? `? ${u.version}  no file: yanked (--yank-unmanaged)`
          : `? ${u.version}  no file: sync refuses (run "mngd-release import", or pass --yank-unmanaged)`,
    ),
  );
  block(
    'Effective floor per channel',
    plan.floors.map(
      (f) => `${f.channel}: ${f.before ?? 'none'} -> ${f.after ?? 'none'}${f.before === f.after ? ' (unchanged)' : ''}`,
    ),
  );
  const lb = plan.legacy.before;
  const la = plan.legacy.after;
  const legacy = (v: typeof lb) =>
    v === null
      ? 'nothing (404)'
      : `${v.version}${v.min_required_version ? ` (min_required_version ${v.min_required_version})` : ''}`;
  out.push('', `Legacy endpoint /api/v1/agent/latest serves: ${legacy(lb)} -> ${legacy(la)}`);
  for (const s of plan.sections) block(s.title, s.lines);
  const warnings = [...plan.warnings, ...plan.sections.flatMap((s) => s.warnings ?? [])];
  if (warnings.length > 0) {
    out.push(
      '',
      `!!! ${warnings.length} LOAD EVENT(S): review before merging !!!`,
      ...warnings.map((w) => `  WARNING ${warningLine(w)}`),
    );
  }
  const errors = sortProblems(blockingProblems(plan));
  if (errors.length > 0)
    out.push(
      '',
      `Sync will not run: ${errors.length} error(s), nothing will be written:`,
      ...errors.map((p) => `  ${formatProblem(p)}`),
    );
  return out.join('\n') + '\n';
}

const esc = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

export function renderPlanMarkdown(plan: Plan, opts: RenderOptions = {}): string {
  const out: string[] = [
    `### Plan for \`agent_releases\`${opts.target ? ` (${esc(opts.target)})` : ''}`,
    '',
    `**${headline(plan)}**`,
  ];
  const warnings = [...plan.warnings, ...plan.sections.flatMap((s) => s.warnings ?? [])];
  if (warnings.length > 0) {
    out.push(
      '',
      '> [!WARNING]',
      `> **${warnings.length} load event(s): review before merging**`,
      ...warnings.map((w) => `> - **${w.code}**${w.channel ? ` (${w.channel})` : ''}: ${esc(w.message)}`),
    );
  }
  const errors = sortProblems(blockingProblems(plan));
  if (errors.length > 0)
    out.push(
      '',
      '> [!CAUTION]',
      `> **Sync will not run**: ${errors.length} error(s), nothing will be written.`,
      '',
      problemsMarkdown(errors).trimEnd(),
    );
  const table = (title: string, head: string[], rows: string[][]) => {
    if (rows.length === 0) return;
    out.push(
      '',
      `#### ${title}`,
      '',
      `| ${head.join(' | ')} |`,
      `|${head.map(() => '---').join('|')}|`,
      ...rows.map((r) => `| ${r.map(esc).join(' | ')} |`),
    );
  };
  table(
    'Migrations to run first',
    ['migration', 'what it does'],
    plan.migrations.map((m) => [`\`${m.id}\``, m.summary]),
  );
  table(
    'Insert',
    ['version', 'channel', 'rollout', 'legacy active', 'file'],
    plan.inserts.map((i) => [
      `\`${i.version}\``,
      i.row.channel,
      `${i.row.rollout_percent} %`,
      String(i.row.active),
      `\`${i.file}\``,
    ]),
  );
  table(
    'Update',
    ['version', 'change', 'file'],
    plan.updates.map((u) => [
      `\`${u.version}\``,
      u.adopt ? `adopt: ${adoptText(u)}` : u.changes.map(change).join('; '),
      u.file ? `\`${u.file}\`` : '—',
    ]),
  );
  table(
    'Yank',
    ['version', 'why', 'change'],
    plan.yanks.map((y) => [`\`${y.version}\``, REASON[y.reason], y.changes.map(change).join('; ')]),
  );
  table(
    'Rows the pipeline never managed',
    ['version', 'action'],
    plan.unmanaged.map((u) => [
      `\`${u.version}\``,
      u.action === 'adopt'
        ? `adopted by \`${u.file}\``
        : u.action === 'yank'
          ? 'yanked (--yank-unmanaged)'
          : 'refused: run `mngd-release import` or pass `--yank-unmanaged`',
    ]),
  );
  table(
    'Effective floor per channel',
    ['channel', 'before', 'after'],
    plan.floors.map((f) => [f.channel, f.before ?? 'none', f.after ?? 'none']),
  );
  const lv = (v: Plan['legacy']['before']) =>
    v === null
      ? 'nothing (404)'
      : `\`${v.version}\`${v.min_required_version ? ` (floor ${v.min_required_version})` : ''}`;
  out.push('', `Legacy endpoint \`/api/v1/agent/latest\` serves: ${lv(plan.legacy.before)} → ${lv(plan.legacy.after)}`);
  for (const s of plan.sections) {
    if (s.markdown !== undefined) out.push('', `#### ${s.title}`, '', ...s.markdown);
    else if (s.lines.length > 0) out.push('', `#### ${s.title}`, '', ...s.lines.map((l) => `- ${esc(l)}`));
  }
  return out.join('\n') + '\n';
}
