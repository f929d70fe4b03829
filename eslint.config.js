// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const NO_FOCUSED_TESTS = {
  selector: 'CallExpression[callee.object.name=/^(it|test|describe)$/][callee.property.name=/^(only|skip|todo)$/]',
  message: 'No focused or skipped tests.',
};

// Every error the source throws carries a stable code (schema/errors.ts), which tests assert,
// machines read and schema/exit.ts maps to an exit status; an Error or a string has none.
const TYPED_THROW = 'Throw an MngdError subclass with a code (schema/errors.ts), not an Error or a string.';
const NO_UNTYPED_THROW = [
  'ThrowStatement > NewExpression[callee.name=/^(Aggregate|Eval|Range|Reference|Syntax|Type|URI)?Error$/]',
  'ThrowStatement > CallExpression[callee.name=/^(Aggregate|Eval|Range|Reference|Syntax|Type|URI)?Error$/]',
  'ThrowStatement > Literal',
  'ThrowStatement > TemplateLiteral',
  'ThrowStatement > BinaryExpression',
  'ThrowStatement > ObjectExpression',
  "ThrowStatement > CallExpression[callee.object.name='Object'][callee.property.name='assign']",
].map((selector) => ({ selector, message: TYPED_THROW }));

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', '.state/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly' } },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' },
      ],
      'no-restricted-syntax': ['error', NO_FOCUSED_TESTS],
    },
  },
  {
    files: ['schema/**/*.ts', 'pipeline/**/*.ts', 'agent/**/*.ts', 'helper/**/*.ts'],
    rules: { 'no-restricted-syntax': ['error', NO_FOCUSED_TESTS, ...NO_UNTYPED_THROW] },
  },
  {
    // One concept per file: a source file past 300 lines is two.
    files: ['schema/**/*.ts', 'pipeline/**/*.ts', 'agent/**/*.ts', 'helper/**/*.ts', 'scripts/**/*.ts'],
    rules: { 'max-lines': ['error', { max: 300 }] },
  },
);
