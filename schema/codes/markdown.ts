/** Reading the registry: whether a word is a code, and docs/codes.md generated from it. */
import { releaseSchema } from '../release.schema.js';
import { CODE_PARTS, type Code } from './index.js';

const RELEASE_FIELDS = Object.keys(releaseSchema.properties).map((k) => k.toUpperCase());
const LISTED = new Set(CODE_PARTS.flatMap((p) => Object.keys(p.codes)));

/** Whether `text` is a code of this repository (RELEASE_BAD_<FIELD> for each release field). */
export function isCode(text: string): text is Code {
  if (text.includes('<')) return false;
  if (LISTED.has(text)) return true;
  const field = /^RELEASE_BAD_(.+)$/.exec(text)?.[1];
  return field !== undefined && RELEASE_FIELDS.includes(field);
}

/** docs/codes.md: one table per part, generated from the registry. */
export function codesMarkdown(): string {
  const esc = (s: string) => s.replace(/\|/g, '\\|');
  const parts = CODE_PARTS.map((p) =>
    [
      `## ${p.title}`,
      '',
      p.intro,
      '',
      '| code | meaning |',
      '|---|---|',
      ...Object.entries(p.codes).map(([code, meaning]) => `| \`${code}\` | ${esc(meaning)} |`),
      '',
    ].join('\n'),
  );
  return [
    '# Codes',
    '',
    '<!-- Generated from schema/codes/ by `npm run codes`; test/schema/codes.test.ts fails when it is stale. -->',
    '',
    'Every code a problem, a finding or an error of this repository carries. Tests and machines read',
    'the code; the message beside it is for people and may change. Exit status: 0 done, 1 fix the',
    'input, 2 change the call or the setting, 3 an outside system failed (retry).',
    '',
    ...parts,
  ].join('\n');
}
