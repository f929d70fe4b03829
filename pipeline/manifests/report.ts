/** How a publish reads to a person: one line per channel, the changes under it, and a summary table. */
import { offeredText } from '../../schema/channel.js';
import type { ChannelResult, SpecResult } from './publish.js';

/** One channel: its spec-1 line, its spec-2 line, and what spec-1 readers get that spec-2 readers do not. */
export function channelLine(r: ChannelResult, dryRun = false): string {
  const lines = [specLine(r.channel, r, dryRun), specLine(r.channel, r.v2, dryRun)];
  if (r.readers.length > 0) lines.push(`    spec-1 readers: ${r.readers.join('; ')}\n`);
  return lines.join('');
}

/** How many manifests a publish wrote, each channel's spec 1 and spec 2 counted apart: "3 of 4 manifest(s)". */
export function writtenCount(results: readonly ChannelResult[]): string {
  const written = results.reduce((n, r) => n + [r, r.v2].filter((x) => x.action !== 'unchanged').length, 0);
  return `${written} of ${results.length * 2} manifest(s)`;
}

/** What publish set aside (read.ts): one warning line each, naming the object and its mark. */
function setAsideLines(r: SpecResult): string[] {
  return (r.setAside ?? []).map(
    (a) => `    warning: set aside ${a}: more than a day past the object store's clock, so no agent accepted it`,
  );
}

function specLine(channel: string, r: SpecResult, dryRun: boolean): string {
  const offers = `${offeredText(r.offers)}; floor ${r.floor ?? 'none'}`;
  if (r.action === 'unchanged') {
    const line = `${channel}: unchanged (${r.key}, sequence ${r.sequence ?? '?'}, expires ${r.expiresAt ?? '?'}); offers ${offers}`;
    return `${[line, ...setAsideLines(r)].join('\n')}\n`;
  }
  const verb = dryRun ? 'would publish' : r.action === 'refreshed' ? 're-signed' : 'published';
  const was = r.previousSequence === null ? '' : ` (previous ${r.previousSequence})`;
  const lines = [
    `${channel}: ${verb} ${r.key} sequence ${r.sequence}${was}, expires ${r.expiresAt}: ${r.reason}; offers ${offers}`,
  ];
  for (const c of r.changes) lines.push(`    ${c}`);
  return `${[...lines, ...setAsideLines(r)].join('\n')}\n`;
}

export function publishMarkdown(location: string, results: readonly ChannelResult[], dryRun = false): string {
  const esc = (s: string) => s.replace(/\|/g, '\\|');
  const row = (channel: string, r: SpecResult, why: string) =>
    `| \`${channel}\` | \`${r.key}\` | ${r.action === 'unchanged' ? 'unchanged' : dryRun ? `would ${r.action === 'refreshed' ? 're-sign' : 'publish'}` : r.action} | ${r.sequence ?? ''} | ${r.expiresAt ?? ''} | ${esc(offeredText(r.offers))} | ${r.floor ?? 'none'} | ${esc(why)} |`;
  const aside = (r: SpecResult) => (r.setAside ?? []).map((a) => `; set aside (more than a day ahead): ${a}`).join('');
  const rows = results.flatMap((r) => [
    row(
      r.channel,
      r,
      `${r.reason}${r.readers.length > 0 ? `; spec-1 readers: ${r.readers.join('; ')}` : ''}${aside(r)}`,
    ),
    row(r.channel, r.v2, `${r.v2.reason}${aside(r.v2)}`),
  ]);
  return [
    `Target: \`${location}\``,
    '',
    '| channel | manifest | action | sequence | expires | offers | floor | why |',
    '|---|---|---|---|---|---|---|---|',
    ...rows,
    '',
  ].join('\n');
}
