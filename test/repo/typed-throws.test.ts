/**
 * The lint rule against untyped throws (eslint.config.js, run by `npm run lint`): a planted
 * `throw new Error(…)` or thrown string fails it in every source folder, and a typed throw passes.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { ESLint } from 'eslint';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const eslint = new ESLint({ cwd: ROOT });

async function messagesOf(path: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: join(ROOT, path) });
  return (result?.messages ?? []).map((m) => `${m.ruleId ?? 'parse'}: ${m.message}`);
}

const TYPED = /no-restricted-syntax: Throw an MngdError subclass with a code/;

describe('no untyped throw in source', () => {
  const untyped = [
    "throw new Error('boom');",
    "throw new TypeError('not a version');",
    "throw Error('boom');",
    "throw 'boom';",
    'throw `boom ${1}`;',
    "throw 'a' + 'b';",
    "throw Object.assign(new Error('x'), { code: 'X' });",
  ];
  for (const folder of ['schema', 'pipeline/table', 'agent', 'helper']) {
    for (const code of untyped) {
      it(`fails on ${code} in ${folder}/`, async () => {
        const messages = await messagesOf(`${folder}/planted.ts`, `export function f(): void {\n  ${code}\n}\n`);
        assert.ok(
          messages.some((m) => TYPED.test(m)),
          messages.join('\n'),
        );
      });
    }
  }

  it('passes a typed throw and a rethrow', async () => {
    const code = [
      "import { SettingsError } from './errors.js';",
      'export function f(x: unknown): void {',
      "  if (x === 1) throw new SettingsError('--x must be 2');",
      '  try {',
      '    f(2);',
      '  } catch (err) {',
      "    if (x === 3) console.log('caught');",
      '    throw err;',
      '  }',
      '}',
      '',
    ].join('\n');
    assert.deepEqual(await messagesOf('schema/planted.ts', code), []);
  });

  it('leaves tests free to throw plain errors (a failed assumption in a test is no product error)', async () => {
    assert.deepEqual(
      await messagesOf('test/planted.test.ts', "export function f(): void {\n  throw new Error('boom');\n}\n"),
      [],
    );
  });
});
