/**
 * README.md and docs/*.md name files of this repository (`pipeline/table/sync.ts`, links to other
 * docs). When code moves, a doc that still names the old place misleads whoever follows it: every
 * repository path a doc names in inline code, and every relative link, must exist.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { describe, it } from 'node:test';
import { REPO_ROOT } from '../support/cli.js';

/** Only these folders: `releases/1.0.4.yaml` or `.state/bucket` in a doc are examples, not files of the repository. */
const TREE = /^(\.github|schema|pipeline|agent|helper|test|scripts|bench|docs)\//;

/** `a/{b,c}.ts` -> a/b.ts, a/c.ts */
function expandBraces(path: string): string[] {
  const m = /\{([^{}]*)\}/.exec(path);
  if (m === null) return [path];
  return m[1]!
    .split(',')
    .flatMap((alt) => expandBraces(path.slice(0, m.index) + alt + path.slice(m.index + m[0].length)));
}

/** The repository paths a Markdown text names: in inline code outside fenced blocks, and in relative links. */
function namedPaths(markdown: string, docDir: string): { path: string; as: string }[] {
  const text = markdown.replace(/^```[\s\S]*?^```/gm, '');
  const out: { path: string; as: string }[] = [];
  for (const [, span] of text.matchAll(/`([^`\n]+)`/g)) {
    for (const word of span!.split(/\s+/)) {
      // placeholders and globs (`test/pipeline/<stage>/…`, `schema/*.schema.json`) name no one file
      if (!TREE.test(word) || /[*<>…]/.test(word)) continue;
      for (const path of expandBraces(word.replace(/[.,;:)]+$/, ''))) out.push({ path, as: `\`${word}\`` });
    }
  }
  for (const [, link] of text.matchAll(/\]\(([^)#\s]+)/g)) {
    if (/^[a-z]+:/.test(link!)) continue;
    out.push({ path: normalize(join(docDir, link!)), as: `link (${link})` });
  }
  return out;
}

const DOCS = [
  'README.md',
  ...readdirSync(join(REPO_ROOT, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`),
];

describe('paths named in README.md and docs/', () => {
  it('finds paths in inline code, braces and links, and none in code blocks or examples', () => {
    const md = [
      'See `pipeline/table/{plan,sync}.ts`, `releases/1.0.4.yaml`, `schema/*.json` and [the design](DESIGN.md).',
      '```sh',
      'cat `agent/gone.ts`',
      '```',
    ].join('\n');
    assert.deepEqual(
      namedPaths(md, 'docs').map((p) => p.path),
      ['pipeline/table/plan.ts', 'pipeline/table/sync.ts', join('docs', 'DESIGN.md')],
    );
  });

  for (const doc of DOCS) {
    it(`${doc} names only files and folders that exist`, () => {
      const named = namedPaths(readFileSync(join(REPO_ROOT, doc), 'utf8'), dirname(doc));
      const missing = named.filter((p) => !existsSync(join(REPO_ROOT, p.path))).map((p) => `${p.path} (${p.as})`);
      assert.deepEqual(missing, [], `${doc} names what is not in the repository: update it to where the code is now`);
    });
  }
});
