/**
 * The import rules (.dependency-cruiser.cjs) run in `npm run lint`; here each rule is shown to
 * fail on a planted violation, and the real tree is shown to pass.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const DEPCRUISE = join(ROOT, 'node_modules', 'dependency-cruiser', 'bin', 'dependency-cruise.mjs');
const CONFIG = join(ROOT, '.dependency-cruiser.cjs');
const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** A scratch tree of files { path: imports[] } cruised with the repository's rules. */
function cruise(files: Record<string, string[]>): { status: number | null; out: string } {
  const dir = mkdtempSync(join(tmpdir(), 'import-rules-'));
  dirs.push(dir);
  writeFileSync(
    join(dir, 'tsconfig.json'),
    JSON.stringify({ compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', strict: true } }),
  );
  for (const [path, imports] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    const body = imports.map((to, i) => `import * as m${i} from '${to}';\nexport const u${i} = m${i};`).join('\n');
    writeFileSync(join(dir, path), `${body}\nexport const here = 1;\n`);
  }
  const roots = [...new Set(Object.keys(files).map((p) => p.split('/')[0]!))];
  const r = spawnSync(process.execPath, [DEPCRUISE, ...roots, '--config', CONFIG], { cwd: dir, encoding: 'utf8' });
  return { status: r.status, out: r.stdout + r.stderr };
}

describe('import rules', () => {
  const planted: [string, Record<string, string[]>][] = [
    ['no-cycles', { 'helper/a.ts': ['./b.js'], 'helper/b.ts': ['./a.js'] }],
    ['schema-stands-alone', { 'schema/a.ts': ['../pipeline/b.js'], 'pipeline/b.ts': [] }],
    ['devices-never-import-pipeline', { 'agent/a.ts': ['../pipeline/b.js'], 'pipeline/b.ts': [] }],
    ['helper-never-imports-agent', { 'helper/a.ts': ['../agent/b.js'], 'agent/b.ts': [] }],
    ['domain-never-imports-cli', { 'pipeline/table/a.ts': ['../cli/b.js'], 'pipeline/cli/b.ts': [] }],
    ['domain-never-imports-cli', { 'pipeline/drift/a.ts': ['../commands/b.js'], 'pipeline/commands/b.ts': [] }],
    [
      'stages-only-through-their-face',
      { 'pipeline/commands/a.ts': ['../table/plan.js'], 'pipeline/table/plan.ts': [] },
    ],
    [
      'stages-only-through-their-face',
      { 'pipeline/drift/a.ts': ['../manifests/read.js'], 'pipeline/manifests/read.ts': [] },
    ],
  ];
  for (const [rule, files] of planted) {
    it(`fails on a planted violation of ${rule} (${Object.keys(files)[0]})`, () => {
      const r = cruise(files);
      assert.notEqual(r.status, 0, r.out);
      assert.match(r.out, new RegExp(`error ${rule}`));
    });
  }

  it('passes a tree that keeps them (agent may use schema/ and the helper client)', () => {
    const r = cruise({
      'agent/a.ts': ['../schema/s.js', '../helper/client.js'],
      'helper/client.ts': ['../schema/s.js'],
      'schema/s.ts': [],
      'pipeline/cli/c.ts': ['../table/index.js'],
      'pipeline/table/index.ts': ['./t.js'],
      'pipeline/table/t.ts': ['../../schema/s.js', './u.js'],
      'pipeline/table/u.ts': [],
    });
    assert.equal(r.status, 0, r.out);
  });
});
