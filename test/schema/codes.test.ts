/**
 * The registry of codes (schema/codes/) against the code and the docs: docs/codes.md is exactly
 * what it generates, every code the other docs name in a table exists, and every listed code is
 * used somewhere in the source. The local code unions of each part must fit in it (compile time).
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { HttpErrorCode } from '../../agent/http/index.js';
import type { DownloadErrorCode } from '../../agent/download.js';
import type { HelperClientErrorCode, HelperErrorCode } from '../../helper/protocol.js';
import type { DriftCode } from '../../pipeline/drift/check.js';
import type { WarningCode } from '../../pipeline/table/plan-types.js';
import { CODE_PARTS, type Code, type ProblemCode } from '../../schema/codes/index.js';
import { codesMarkdown, isCode } from '../../schema/codes/markdown.js';
import type { ManifestErrorCode } from '../../schema/manifest.js';
import { REPO_ROOT } from '../support/cli.js';

// Compile-time: each part's own union of codes is part of the registry (tsc fails otherwise).
type Fits<T extends Code> = T;
export type PartsFitTheRegistry = Fits<
  | HttpErrorCode
  | DownloadErrorCode
  | HelperErrorCode
  | HelperClientErrorCode
  | ManifestErrorCode
  | DriftCode
  | WarningCode
>;
type IsProblem<T extends ProblemCode> = T;
export type DriftFindingsAreProblems = IsProblem<DriftCode>;

const read = (path: string) => readFileSync(join(REPO_ROOT, path), 'utf8');
const docs = [
  'README.md',
  ...readdirSync(join(REPO_ROOT, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`),
];

/** The codes a Markdown text names: the first column of each table headed "code", and "error CODE:" lines. */
export function codesNamedIn(markdown: string): string[] {
  const named: string[] = [];
  let inCodeTable = false;
  for (const line of markdown.split('\n')) {
    if (!line.startsWith('|')) {
      inCodeTable = false;
    } else {
      const first = line.split('|')[1]?.trim() ?? '';
      if (first.toLowerCase() === 'code') inCodeTable = true;
      else if (inCodeTable) named.push(...[...first.matchAll(/`([A-Z][A-Z0-9_]+)`/g)].map((m) => m[1]!));
    }
    named.push(...[...line.matchAll(/\b(?:error|warning) ([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+):/g)].map((m) => m[1]!));
  }
  return named;
}

describe('the registry of codes', () => {
  it('docs/codes.md is generated from it (run "npm run codes" after changing schema/codes/)', () => {
    assert.equal(read('docs/codes.md'), codesMarkdown());
  });

  it('lists every code once', () => {
    const all = CODE_PARTS.flatMap((p) => Object.keys(p.codes));
    assert.deepEqual(
      all.filter((c, i) => all.indexOf(c) !== i),
      [],
    );
  });

  it('reads the code tables of the docs', () => {
    assert.ok(codesNamedIn(read('docs/helper.md')).length >= 20);
    assert.ok(codesNamedIn(read('docs/verify-artifacts.md')).includes('ARTIFACT_UNREACHABLE'));
    assert.ok(codesNamedIn(read('README.md')).includes('RELEASE_BAD_SHA256'));
  });

  for (const file of docs.filter((f) => f !== 'docs/codes.md')) {
    it(`knows every code ${file} names`, () => {
      const unknown = codesNamedIn(read(file)).filter((c) => !isCode(c));
      assert.deepEqual(unknown, [], `${file} names codes that do not exist; fix the docs or schema/codes/`);
    });
  }

  it('finds a code the docs name that does not exist (the check above can fail)', () => {
    const planted =
      '| code | meaning |\n|---|---|\n| `BAD_REQUEST` | x |\n| `NOT_A_CODE`, `BUSY` | y |\n\nerror NO_SUCH_CODE: z';
    assert.deepEqual(
      codesNamedIn(planted).filter((c) => !isCode(c)),
      ['NOT_A_CODE', 'NO_SUCH_CODE'],
    );
  });

  it('knows RELEASE_BAD_<FIELD> for each release field, and no other', () => {
    assert.ok(isCode('RELEASE_BAD_SHA256'));
    assert.ok(isCode('RELEASE_BAD_MIN_REQUIRED_VERSION'));
    assert.ok(!isCode('RELEASE_BAD_COLOUR'));
    assert.ok(!isCode('RELEASE_BAD_<FIELD>'));
  });

  it('lists no code the source never uses', () => {
    const source: string[] = [];
    const walk = (dir: string): void => {
      for (const e of readdirSync(join(REPO_ROOT, dir), { withFileTypes: true })) {
        const path = `${dir}/${e.name}`;
        if (e.isDirectory() && path !== 'schema/codes') walk(path);
        else if (e.name.endsWith('.ts')) source.push(read(path));
      }
    };
    ['schema', 'pipeline', 'agent', 'helper'].forEach(walk);
    const text = source.join('\n');
    const unused = CODE_PARTS.flatMap((p) => Object.keys(p.codes))
      .filter((c) => !c.includes('<'))
      .filter((c) => !text.includes(`'${c}'`));
    assert.deepEqual(unused, []);
  });
});
