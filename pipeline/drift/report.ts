/** How drift reads to a person: each finding with git's value beside the table's or the CDN's. */
import type { DriftFinding, DriftMatch } from './check.js';
import type { Problem } from '../releases/index.js';

export function findingText(f: DriftFinding): string {
  const mark = f.severity === 'error' ? '✗' : '!';
  const where = f.file ? ` (${f.file})` : '';
  return [`${mark} ${f.subject}${where}: ${f.message}`, ...f.details.map((d) => `    ${d}`)].join('\n') + '\n';
}

/** What was checked and matched git, one line: "✓ table: 3 row(s) match their release files: …". */
export function matchText(m: DriftMatch): string {
  return `✓ ${m.subject}: ${m.message}\n`;
}

export function driftSummary(
  findings: readonly DriftFinding[],
  checked: 'table' | 'manifests' | 'both' = 'both',
): string {
  const errors = findings.filter((f) => f.severity === 'error').length;
  const warnings = findings.length - errors;
  const what =
    checked === 'table'
      ? 'the table matches git (the manifests were not checked)'
      : checked === 'manifests'
        ? 'the published manifests match git (the table was not checked)'
        : 'the table and the published manifests match git';
  if (errors === 0) return `No drift: ${what}${warnings ? ` (${warnings} warning(s) above)` : ''}.\n`;
  const fixes: string[] = [];
  const table = (...codes: DriftFinding['code'][]) =>
    findings.some((f) => f.severity === 'error' && codes.includes(f.code));
  // Only what each fix really fixes: sync refuses a changed immutable field or a conflict.
  if (table('TABLE_IMMUTABLE_CHANGED'))
    fixes.push(
      'run the UPDATE printed above to restore each row from git (sync never rewrites download_url, sha256 or size)',
    );
  if (table('TABLE_CONFLICT')) fixes.push('resolve each table conflict as its message says');
  if (table('TABLE_UNMANAGED_ROW'))
    fixes.push('"mngd-release import" writes the missing release files (or sync --yank-unmanaged yanks those rows)');
  if (
    table(
      'TABLE_ROW_MISSING',
      'TABLE_ROW_DIFFERS',
      'TABLE_ROW_NOT_YANKED',
      'TABLE_IMMUTABLE_CHANGED',
      'TABLE_CONFLICT',
      'TABLE_UNMANAGED_ROW',
    )
  )
    fixes.push(`${fixes.length > 0 ? 'then ' : ''}"mngd-release sync" (or apply) makes the table match git`);
  const halts = [
    ...new Set(findings.filter((f) => f.code === 'MANIFEST_LIVE_HALT').map((f) => f.message.split(' ')[0])),
  ];
  // Publishing from git while a live halt's pull request is open would offer the release again.
  if (halts.length > 0)
    fixes.push(
      `if a halt-<version> pull request is open for ${halts.join(', ')}, merge it first (never publish before)`,
    );
  if (findings.some((f) => f.severity === 'error' && f.code.startsWith('MANIFEST_')))
    fixes.push(
      `${halts.length > 0 ? 'otherwise ' : ''}"mngd-release publish" re-signs and rewrites the manifests from git`,
    );
  return `Drift: ${errors} difference(s) from git${warnings ? `, ${warnings} warning(s)` : ''}. Fix: ${fixes.join('; ')}.\n`;
}

export function driftMarkdown(findings: readonly DriftFinding[], matched: readonly DriftMatch[] = []): string {
  const esc = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
  const checked = matched.map((m) => `| ✅ | ${esc(m.subject)} | | ${esc(m.message)} |`);
  if (findings.length === 0)
    return [
      '✅ The table and every published manifest match git.',
      ...(checked.length > 0 ? ['', '| | what | code | checked |', '|---|---|---|---|', ...checked] : []),
      '',
    ].join('\n');
  const rows = findings.map(
    (f) =>
      `| ${f.severity === 'error' ? '❌' : '⚠️'} | ${esc(f.subject)} | \`${f.code}\` | ${esc(f.message)}${f.details.length ? `<br>${f.details.map(esc).join('<br>')}` : ''} |`,
  );
  return ['| | what | code | git vs. live |', '|---|---|---|---|', ...rows, ...checked, ''].join('\n');
}

/** Findings about a release file become annotations on that file. */
export function driftProblems(findings: readonly DriftFinding[]): Problem[] {
  return findings.flatMap((f) =>
    f.file === undefined
      ? []
      : [{ severity: f.severity, code: f.code, file: f.file, message: [f.message, ...f.details].join('; ') }],
  );
}
