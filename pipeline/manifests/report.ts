/** How a publish reads to a person: one line per channel, the changes under it, and a summary table. */
import type { ChannelResult } from './publish.js';

export function channelLine(r: ChannelResult, dryRun = false): string {
  const offers = r.versions.length > 0 ? r.versions.join(', ') : 'nothing';
  if (r.action === 'unchanged') {
    return `${r.channel}: unchanged (${r.key}, sequence ${r.sequence ?? '?'}, expires ${r.expiresAt ?? '?'}); offers ${offers}\n`;
  }
  const verb = dryRun ? 'would publish' : r.action === 'refreshed' ? 're-signed' : 'published';
  const was = r.previousSequence === null ? '' : ` (previous ${r.previousSequence})`;
  const lines = [
    `${r.channel}: ${verb} ${r.key} sequence ${r.sequence}${was}, expires ${r.expiresAt}: ${r.reason}; offers ${offers}`,
  ];
  for (const c of r.changes) lines.push(`    ${c}`);
  return `${lines.join('\n')}\n`;
}

export function publishMarkdown(location: string, results: readonly ChannelResult[], dryRun = false): string {
  const esc = (s: string) => s.replace(/\|/g, '\\|');
  const rows = results.map(
    (r) =>
      `| \`${r.channel}\` | ${r.action === 'unchanged' ? 'unchanged' : dryRun ? `would ${r.action === 'refreshed' ? 're-sign' : 'publish'}` : r.action} | ${r.sequence ?? ''} | ${r.expiresAt ?? ''} | ${esc(r.versions.join(', ') || 'nothing')} | ${esc(r.reason)} |`,
  );
  return [
    `Target: \`${location}\``,
    '',
    '| channel | action | sequence | expires | offers | why |',
    '|---|---|---|---|---|---|',
    ...rows,
    '',
  ].join('\n');
}
