/**
 * Import rules of this repository (checked by `npm run lint`, so by `npm test`).
 * test/repo/import-rules.test.ts plants a violation of each and proves the check fails.
 */
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-cycles',
      severity: 'error',
      comment: 'An import cycle means two files are one concept: merge them or move the shared part down.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'schema-stands-alone',
      severity: 'error',
      comment: 'schema/ is the contract as code, shared by all: it imports no other part.',
      from: { path: '^schema/' },
      to: { path: '^(pipeline|agent|helper|test|bench|scripts)/' },
    },
    {
      name: 'devices-never-import-pipeline',
      severity: 'error',
      comment: 'What runs on a Mac (agent/, helper/) never imports the release pipeline.',
      from: { path: '^(agent|helper)/' },
      to: { path: '^pipeline/' },
    },
    {
      name: 'helper-never-imports-agent',
      severity: 'error',
      comment: 'The helper trusts nothing of the agent: it verifies with schema/ alone.',
      from: { path: '^helper/' },
      to: { path: '^agent/' },
    },
    {
      name: 'domain-never-imports-cli',
      severity: 'error',
      comment:
        'Pipeline stages are pure of the command line: only cli/ and commands/ know about flags, output and exit codes.',
      from: { path: '^pipeline/(releases|table|manifests|artifacts|drift|fleet)/' },
      to: { path: '^pipeline/(cli/|commands/|cli\\.ts$)' },
    },
    {
      name: 'stages-only-through-their-face',
      severity: 'error',
      comment: 'A pipeline stage is used through its face (index.ts): what is not exported there is its own business.',
      from: { path: '^pipeline/([^/]+)/' },
      to: {
        path: '^pipeline/(releases|table|manifests|artifacts|drift|fleet)/',
        pathNot: ['^pipeline/$1/', '^pipeline/[^/]+/index\\.ts$'],
      },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(node_modules|dist)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js', '.mjs', '.json'] },
  },
};
