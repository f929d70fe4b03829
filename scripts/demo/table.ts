/** The demo's tables, for the terminal (aligned columns) and for a Markdown summary. */
export type Row = readonly (string | number)[];

export function textTable(header: Row, rows: readonly Row[]): string {
  const all = [header, ...rows].map((r) => r.map(String));
  const widths = header.map((_, i) => Math.max(...all.map((r) => [...(r[i] ?? '')].length)));
  const line = (r: readonly string[]) =>
    `  ${r.map((c, i) => (i === r.length - 1 ? c : c + ' '.repeat(widths[i]! - [...c].length))).join('  ')}`;
  return [line(all[0]!), line(widths.map((w) => '─'.repeat(w))), ...all.slice(1).map(line)].join('\n') + '\n';
}

export function markdownTable(header: Row, rows: readonly Row[]): string {
  const line = (r: Row) => `| ${r.map((c) => String(c).replaceAll('|', '\\|')).join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n') + '\n';
}
