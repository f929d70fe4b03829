/**
 * The exit policy (schema/exit.ts) through the three real bins, spawned as a user runs them: each
 * exit path of each bin, the one stderr line it writes, and the `--help` hint only where `--help`
 * shows the fix (a wrong call), never for a wrong setting.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runAgent, writeAgentConfig } from './agent/process.js';
import { manifestBytes, newSigner, pkg, release, startCdn, type Cdn } from './agent/support.js';
import { HELPER_CLI } from './helper/harness.js';
import { runBin, tempRepo, type CliResult } from './support/cli.js';

interface Case {
  name: string;
  run: () => Promise<CliResult | { code: number | null; stdout: string; stderr: string }>;
  exit: number;
  /** the first stderr line */
  says?: RegExp;
  /** whether stderr ends with 'Run "… --help" for usage.' */
  hint?: boolean;
}

const HINT = /\nRun "mngd-[a-z]+( [a-z-]+)? --help" for usage\.\n$/;

/** A loopback port with nothing listening: a connection there is refused at once. */
async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

function check(cases: Case[]): void {
  for (const c of cases) {
    it(`${c.name}: exit ${c.exit}${c.hint === true ? ', with the --help hint' : c.hint === false ? ', no --help hint' : ''}`, async () => {
      const r = await c.run();
      const shown = `exit ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`;
      assert.equal(r.code, c.exit, shown);
      if (c.says) assert.match(r.stderr.split('\n')[0]!, c.says, shown);
      if (c.hint === true) assert.match(r.stderr, HINT, shown);
      if (c.hint === false) assert.doesNotMatch(r.stderr, /--help/, shown);
    });
  }
}

const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

describe('mngd-release exits', () => {
  const repo = tempRepo();
  const bad = tempRepo();
  dirs.push(repo.root, bad.root);
  writeFileSync(join(bad.releases, '1.0.0.yaml'), 'version: 1.0.0\nsha256: nope\n');
  const release = (argv: string[], env: Record<string, string> = {}) => runBin(argv, { cwd: repo.root, env });
  let port = 0;
  before(async () => (port = await closedPort()));

  check([
    { name: '--help', run: () => release(['--help']), exit: 0 },
    { name: 'a valid release set', run: () => release(['validate']), exit: 0 },
    {
      name: 'invalid releases',
      run: () => runBin(['validate'], { cwd: bad.root }),
      exit: 1,
      says: /^releases\/1\.0\.0\.yaml:\d+:\d+: error [A-Z_]+: /,
    },
    { name: 'no command', run: () => release([]), exit: 2, says: /^mngd-release: the release control plane/ },
    {
      name: 'an unknown command',
      run: () => release(['valdate']),
      exit: 2,
      says: /^mngd-release: unknown command "valdate": did you mean "validate"\?/,
      hint: true,
    },
    {
      name: 'an unknown flag',
      run: () => release(['validate', '--jsno']),
      exit: 2,
      says: /^mngd-release validate: unknown flag --jsno: did you mean --json\?$/,
      hint: true,
    },
    {
      name: 'a wrong number of arguments',
      run: () => release(['validate', 'extra']),
      exit: 2,
      says: /^mngd-release validate: expected 0 argument\(s\), got 1 \(extra\)$/,
      hint: true,
    },
    {
      name: 'a missing required flag',
      run: () => release(['new', '9.9.9']),
      exit: 2,
      says: /^mngd-release new: --pkg FILE and --url URL are required \[USAGE\]$/,
      hint: true,
    },
    {
      name: 'a DATABASE_URL that is not PostgreSQL (a setting)',
      run: () => release(['plan', '--skip-manifests'], { DATABASE_URL: 'mysql://x' }),
      exit: 2,
      says: /^mngd-release plan: DATABASE_URL must start with postgres:\/\/ .*\[DB_SETTINGS\]$/,
      hint: false,
    },
    {
      name: 'a bad flag value (a setting)',
      run: () => release(['drift', '--only', 'tables']),
      exit: 2,
      says: /^mngd-release drift: --only must be "table" or "manifests", got "tables" \[CONFIG_INVALID\]$/,
      hint: false,
    },
    {
      name: 'a database that does not answer (outside)',
      run: () =>
        release(['plan', '--skip-manifests'], {
          DATABASE_URL: `postgres://postgres@127.0.0.1:${port}/x?connect_timeout=5`,
        }),
      exit: 3,
      says: /^mngd-release plan: .*\[DB_UNAVAILABLE\]$/,
      hint: false,
    },
  ]);
});

describe('mngd-agent exits', () => {
  const signer = newSigner();
  const p103 = pkg('1.0.3');
  const root = mkdtempSync(join(tmpdir(), 'mngd-agent-exits-'));
  dirs.push(root);
  let cdn: Cdn;
  let config = '';
  let untrusted = '';
  let unreachable = '';
  before(async () => {
    cdn = await startCdn();
    cdn.addPkg(p103);
    cdn.setManifest(manifestBytes(signer, { releases: [release(p103, cdn.srv.origin)], now: new Date() }));
    for (const d of ['ok', 'untrusted', 'down']) mkdirSync(join(root, d));
    config = await writeAgentConfig(join(root, 'ok'), cdn, signer, join(root, 'no.sock'), { current_version: '1.0.3' });
    untrusted = await writeAgentConfig(join(root, 'untrusted'), cdn, newSigner(), join(root, 'no.sock'));
    unreachable = await writeAgentConfig(join(root, 'down'), cdn, signer, join(root, 'no.sock'), {
      manifest_url: `https://127.0.0.1:${await closedPort()}/latest.json`,
    });
  });
  after(() => cdn.close());

  check([
    { name: '--help', run: () => runAgent(['--help']), exit: 0 },
    { name: 'check, up to date', run: () => runAgent(['check', '--once', '--config', config]), exit: 0 },
    {
      name: 'check, a manifest signed by an untrusted key',
      run: () => runAgent(['check', '--once', '--config', untrusted]),
      exit: 1,
    },
    { name: 'no command', run: () => runAgent([]), exit: 2, says: /^mngd-agent: the mngd agent's self-update/ },
    {
      name: 'an unknown command',
      run: () => runAgent(['chek']),
      exit: 2,
      says: /^mngd-agent: unknown command "chek": did you mean "check"\?/,
      hint: true,
    },
    {
      name: 'an unknown flag',
      run: () => runAgent(['check', '--manifest-uri', 'x']),
      exit: 2,
      says: /^mngd-agent check: unknown flag --manifest-uri: did you mean --manifest-url\?$/,
      hint: true,
    },
    {
      name: 'a flag of check on run',
      run: () => runAgent(['run', '--json', '--config', config]),
      exit: 2,
      says: /^mngd-agent run: --once and --json belong to "check"/,
      hint: true,
    },
    {
      name: 'a plain http manifest URL (a setting)',
      run: () => runAgent(['check', '--config', config, '--manifest-url', 'http://cdn.example/latest.json']),
      exit: 2,
      says: /^mngd-agent check: --manifest-url: "http:\/\/cdn\.example\/latest\.json" is not https.*\[CONFIG_INVALID\]$/,
      hint: false,
    },
    {
      name: 'a manifest server that does not answer (outside)',
      run: () => runAgent(['check', '--once', '--config', unreachable]),
      exit: 3,
    },
  ]);
});

describe('mngd-helper exits', () => {
  const root = mkdtempSync(join(tmpdir(), 'mngd-helper-exits-'));
  dirs.push(root);
  const helper = (argv: string[]) => runBin(argv, { cwd: root, bin: HELPER_CLI });

  check([
    { name: '--help', run: () => helper(['--help']), exit: 0 },
    { name: 'no command', run: () => helper([]), exit: 2, says: /^mngd-helper: the privileged install service/ },
    {
      name: 'an unknown command',
      run: () => helper(['pign']),
      exit: 2,
      says: /^mngd-helper: unknown command "pign": did you mean "ping"\?/,
      hint: true,
    },
    {
      name: 'an unknown flag',
      run: () => helper(['serve', '--sockett', '/x']),
      exit: 2,
      says: /^mngd-helper serve: unknown flag --sockett: did you mean --socket\?$/,
      hint: true,
    },
    {
      name: 'a trusted key that is not a key (a setting)',
      run: () => helper(['serve', '--trusted-key', 'abc', '--socket', join(root, 'h.sock')]),
      exit: 2,
      says: /^mngd-helper serve: --trusted-key: .*\[CONFIG_INVALID\]$/,
      hint: false,
    },
    {
      name: 'an invalid config file (a setting)',
      run: () => {
        writeFileSync(join(root, 'bad.json'), '{"sockett": "/x"}');
        return helper(['serve', '--config', join(root, 'bad.json')]);
      },
      exit: 2,
      says: /^mngd-helper serve: .*bad\.json: unknown key "sockett".*\[CONFIG_INVALID\]$/,
      hint: false,
    },
    {
      name: 'no helper answering ping (outside)',
      run: () => helper(['ping', '--socket', join(root, 'none.sock')]),
      exit: 3,
      says: /^mngd-helper ping: cannot talk to the helper .*\[HELPER_UNREACHABLE\]$/,
      hint: false,
    },
  ]);
});
