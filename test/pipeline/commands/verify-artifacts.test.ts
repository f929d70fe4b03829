import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCli } from '../../../pipeline/cli/dispatch.js';
import type { CommandContext } from '../../../pipeline/cli/command.js';
import { testTls } from '../../support/tls.js';
import {
  generatedBytes,
  routes,
  servePackage,
  startHttpsServer,
  status,
  type Handler,
  type TestServer,
} from '../../support/https-server.js';
import { releaseRepo, releaseYaml, sha256Hex } from '../../support/release-repo.js';
import { runBin } from '../../support/cli.js';

const PKG = generatedBytes(11, 100_000);
const CLI = fileURLToPath(new URL('../../../pipeline/cli.js', import.meta.url));

interface Run {
  code: number;
  out: string;
  err: string;
}

async function run(
  cwd: string,
  args: string[],
  opts: { env?: Record<string, string>; isTTY?: boolean } = {},
): Promise<Run> {
  let out = '';
  let err = '';
  const ctx: CommandContext = {
    cwd,
    env: { MNGD_STATE_DIR: join(cwd, '.state'), ...opts.env },
    stdout: { write: (t) => void (out += t) },
    stderr: { write: (t) => void (err += t) },
    isTTY: opts.isTTY ?? false,
    now: () => new Date('2026-11-27T03:00:00Z'),
  };
  const code = await runCli(['verify-artifacts', ...args], ctx);
  return { code, out, err };
}

function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, {
    cwd,
    encoding: 'utf8',
    env: {
      ...process.env,
      GIT_AUTHOR_NAME: 't',
      GIT_AUTHOR_EMAIL: 't@example.com',
      GIT_COMMITTER_NAME: 't',
      GIT_COMMITTER_EMAIL: 't@example.com',
    },
  });
}

describe('mngd-release verify-artifacts', () => {
  let srv: TestServer;
  let ca: string[];
  // read per request: a test may add a route
  const table: Record<string, Handler> = { '/ok.pkg': servePackage(PKG), '/down.pkg': status(503) };
  before(async () => {
    srv = await startHttpsServer(routes(table));
    ca = ['--ca-file', testTls().caFile];
  });
  after(() => srv.close());

  const repo = (releases: Parameters<typeof releaseRepo>[0]['releases']) =>
    releaseRepo({ prefixes: [srv.url('/')], releases });

  it('exits 0 and prints a line per package when every package matches', async () => {
    const root = await repo([{ version: '1.0.0', url: srv.url('/ok.pkg'), body: PKG }]);
    const r = await run(root, [...ca]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^ok {4}releases\/1\.0\.0\.yaml {2}1\.0\.0 {2}97\.7 KiB verified/m);
    assert.match(r.out, /Every package matches/);
  });

  it('exits 1 naming the file, the sha256 line, both hashes and the fix', async () => {
    const root = await repo([{ version: '1.0.0', url: srv.url('/ok.pkg'), body: PKG, sha256: 'a'.repeat(64) }]);
    const r = await run(root, [...ca]);
    assert.equal(r.code, 1);
    assert.ok(
      r.out.includes(
        `FAIL  releases/1.0.0.yaml:3:9: error ARTIFACT_SHA256_MISMATCH: the package at ${srv.url('/ok.pkg')} hashes to ${sha256Hex(PKG)}, but sha256 is ${'a'.repeat(64)}`,
      ),
      r.out,
    );
    assert.match(r.out, /if that package is right, set sha256 to [0-9a-f]{64}; if not, upload the right one/);
  });

  it('exits 1 naming the release file that did not load, never "every package matches"', async () => {
    const root = await repo([{ version: '1.0.0', url: srv.url('/ok.pkg'), body: PKG }]);
    await writeFile(
      join(root, 'releases', '1.0.1.yaml'),
      releaseYaml({ version: '1.0.1', url: srv.url('/ok.pkg') }).replace(/^size: .*$/m, 'size: 3 MB'),
    );
    const r = await run(root, [...ca]);
    assert.equal(r.code, 1, r.out + r.err);
    assert.match(r.out, /^Verifying 1 package \(releases in manifests\)/m);
    assert.ok(
      r.out.endsWith(
        'Not verified: releases/1.0.1.yaml did not load, so its package was not checked. Fix it ("mngd-release validate" says why), then run again.\n',
      ),
      r.out,
    );
    assert.doesNotMatch(r.out, /Every package matches/);
    const j = await run(root, [...ca, '--json']);
    const out = JSON.parse(j.out) as { ok: boolean; exitCode: number; notLoaded: string[] };
    assert.deepEqual([j.code, out.ok, out.exitCode, out.notLoaded], [1, false, 1, ['releases/1.0.1.yaml']]);
  });

  it('exits 2 on an unknown CA (a setting, not a re-run), and NODE_EXTRA_CA_CERTS fixes it as --ca-file does', async () => {
    const root = await repo([{ version: '1.0.0', url: srv.url('/ok.pkg'), body: PKG }]);
    const r = await run(root, ['--no-cache']);
    assert.equal(r.code, 2, r.out + r.err);
    assert.match(
      r.out,
      /error ARTIFACT_TLS: .*the TLS connection failed .*pass its certificate with --ca-file \(or set NODE_EXTRA_CA_CERTS to that PEM file, which a workflow can put in env\)/,
    );
    assert.ok(
      r.out.endsWith(
        "A TLS connection failed: trust the CDN's CA with --ca-file PEM or NODE_EXTRA_CA_CERTS=PEM, or fix its certificate; a re-run alone fails the same way.\n",
      ),
      r.out,
    );
    const child = await runBin(['verify-artifacts', '--no-cache'], {
      cwd: root,
      env: { NODE_EXTRA_CA_CERTS: testTls().caFile, MNGD_STATE_DIR: join(root, '.state') },
    });
    assert.equal(child.code, 0, child.stdout + child.stderr);
    assert.match(child.stdout, /Every package matches/);
  });

  it('checks every artifact of a release: three packages, one bad sha256 -> exit 1 naming that one', async () => {
    const A = generatedBytes(21, 5000);
    const B = generatedBytes(22, 6000);
    const C = generatedBytes(23, 7000);
    Object.assign(table, { '/u.pkg': servePackage(A), '/a.pkg': servePackage(B), '/x.pkg': servePackage(C) });
    const root = await repo([{ version: '1.0.0', url: srv.url('/ok.pkg'), body: PKG }]);
    const art = (arch: string, path: string, sha: string, size: number) =>
      `  - arch: ${arch}\n    download_url: ${srv.url(path)}\n    sha256: ${sha}\n    size: ${size}\n`;
    await writeFile(
      join(root, 'releases', '1.1.0.yaml'),
      `version: "1.1.0"\nartifacts:\n${art('universal', '/u.pkg', sha256Hex(A), A.length)}${art('arm64', '/a.pkg', 'b'.repeat(64), B.length)}${art('x86_64', '/x.pkg', sha256Hex(C), C.length)}`,
    );
    const r = await run(root, [...ca, '--all', '--json']);
    assert.equal(r.code, 1, r.err);
    const j = JSON.parse(r.out) as {
      counts: Record<string, number>;
      results: { version: string; arch?: string; outcome: string }[];
      problems: { file: string; line: number; code: string; message: string }[];
    };
    assert.deepEqual(j.counts, { verified: 3, cached: 0, mismatch: 1, unreachable: 0 });
    assert.deepEqual(
      j.results.map((x) => [x.version, x.arch ?? null, x.outcome]),
      [
        ['1.1.0', 'universal', 'verified'],
        ['1.1.0', 'arm64', 'mismatch'],
        ['1.1.0', 'x86_64', 'verified'],
        ['1.0.0', null, 'verified'],
      ],
    );
    assert.equal(j.problems.length, 1);
    const p = j.problems[0]!;
    // the line of the arm64 package's sha256
    assert.deepEqual([p.file, p.line, p.code], ['releases/1.1.0.yaml', 9, 'ARTIFACT_SHA256_MISMATCH']);
    assert.match(
      p.message,
      /^arm64 package of 1\.1\.0: the package at \S+\/a\.pkg hashes to [0-9a-f]{64}, but artifacts\[1\]\.sha256 is b{64}: if that package is right, set artifacts\[1\]\.sha256 to/,
    );
  });

  it('exits 3 when the server keeps failing', async () => {
    const root = await repo([{ version: '1.0.0', url: srv.url('/down.pkg'), body: PKG }]);
    const r = await run(root, [...ca, '--retries', '0']);
    assert.equal(r.code, 3);
    assert.match(r.out, /ARTIFACT_UNREACHABLE/);
    assert.match(r.out, /re-run the job/);
  });

  it('prints the report as JSON with --json', async () => {
    const root = await repo([{ version: '1.0.0', url: srv.url('/ok.pkg'), body: PKG }]);
    const r = await run(root, [...ca, '--json', '--all']);
    assert.equal(r.code, 0, r.err);
    const j = JSON.parse(r.out) as {
      ok: boolean;
      counts: Record<string, number>;
      results: Array<{ file: string; outcome: string }>;
    };
    assert.equal(j.ok, true);
    assert.deepEqual(j.counts, { verified: 1, cached: 0, mismatch: 0, unreachable: 0 });
    assert.deepEqual(
      j.results.map((x) => [x.file, x.outcome]),
      [['releases/1.0.0.yaml', 'verified']],
    );
  });

  it('downloads nothing the second time, and everything again with --no-cache', async () => {
    const root = await repo([{ version: '1.0.0', url: srv.url('/ok.pkg'), body: PKG }]);
    assert.equal((await run(root, [...ca])).code, 0);
    const sent = srv.bodyBytes;
    const again = await run(root, [...ca]);
    assert.equal(again.code, 0);
    assert.match(again.out, /unchanged since verified/);
    assert.equal(srv.bodyBytes, sent);
    assert.equal((await run(root, [...ca, '--no-cache'])).code, 0);
    assert.equal(srv.bodyBytes, sent + PKG.length);
  });

  it('shows bytes of total and the rate on a terminal', async () => {
    const root = await repo([{ version: '1.0.0', url: srv.url('/ok.pkg'), body: PKG }]);
    const r = await run(root, [...ca, '--no-cache'], { isTTY: true });
    assert.equal(r.code, 0, r.err);
    const ESC = String.fromCharCode(27);
    assert.ok(r.out.includes(`\r${ESC}[K[0/1] `), JSON.stringify(r.out));
    assert.match(r.out, /\[0\/1\] .* of 97\.7 KiB downloading \(1 at once\), .*\/s/);
    assert.match(r.out, /ok {4}releases\/1\.0\.0\.yaml/);
  });

  describe('called wrongly: exit 2 and nothing downloaded or written', () => {
    const cases: Array<[string, string[]]> = [
      ['--all with --changed-since', ['--all', '--changed-since', 'HEAD']],
      ['a concurrency of 0', ['--concurrency', '0']],
      ['a concurrency that is not a number', ['--concurrency', 'four']],
      ['a negative time-out', ['--timeout', '-1']],
      ['too many retries', ['--retries', '99']],
      ['a CA file that does not exist', ['--ca-file', '/nonexistent/ca.pem']],
      ['an unknown flag', ['--everything']],
    ];
    for (const [what, args] of cases) {
      it(`refuses ${what}`, async () => {
        const root = await repo([{ version: '1.0.0', url: srv.url('/ok.pkg'), body: PKG }]);
        const n = srv.requests.length;
        const r = await run(root, args);
        assert.equal(r.code, 2, r.err);
        assert.notEqual(r.err, '');
        assert.equal(srv.requests.length, n);
        assert.equal(existsSync(join(root, '.state')), false);
      });
    }
  });

  describe('--changed-since', () => {
    it('checks exactly the release files changed since the ref, new untracked ones included', async () => {
      const url = (v: string) => `${srv.url('/ok.pkg')}?v=${v}`;
      const root = await repo(['1.0.0', '1.0.1', '1.0.2'].map((v) => ({ version: v, url: url(v), body: PKG })));
      git(root, 'init', '-q', '-b', 'main');
      git(root, 'add', '.');
      git(root, 'commit', '-q', '-m', 'base');
      git(root, 'tag', 'base');
      // changed, committed: 1.0.1 (notes); added, committed: 1.0.4; added, untracked: 1.0.3; deleted: 1.0.0; untouched: 1.0.2
      await writeFile(
        join(root, 'releases/1.0.1.yaml'),
        releaseYaml({ version: '1.0.1', url: url('1.0.1'), body: PKG, release_notes: 'now with notes' }),
      );
      await writeFile(
        join(root, 'releases/1.0.4.yaml'),
        releaseYaml({ version: '1.0.4', url: url('1.0.4'), body: PKG }),
      );
      await rm(join(root, 'releases/1.0.0.yaml'));
      git(root, 'add', '-A');
      git(root, 'commit', '-q', '-m', 'change');
      await writeFile(
        join(root, 'releases/1.0.3.yaml'),
        releaseYaml({ version: '1.0.3', url: url('1.0.3'), body: PKG }),
      );

      const n = srv.requests.length;
      const r = await run(root, [...ca, '--changed-since', 'base', '--json', '--no-cache']);
      assert.equal(r.code, 0, r.err);
      const j = JSON.parse(r.out) as { results: Array<{ file: string }> };
      assert.deepEqual(
        j.results.map((x) => x.file),
        ['releases/1.0.4.yaml', 'releases/1.0.3.yaml', 'releases/1.0.1.yaml'],
      );
      assert.deepEqual(
        srv.requests
          .slice(n)
          .map((q) => q.path)
          .sort(),
        ['/ok.pkg?v=1.0.1', '/ok.pkg?v=1.0.3', '/ok.pkg?v=1.0.4'],
      );

      const none = await run(root, [...ca, '--changed-since', 'HEAD', '--json', '--no-cache']);
      assert.deepEqual(
        (JSON.parse(none.out) as { results: unknown[] }).results.map((x) => (x as { file: string }).file),
        ['releases/1.0.3.yaml'],
      );
    });

    it('exits 2 with a clear error for a ref that does not exist', async () => {
      const root = await repo([{ version: '1.0.0', url: srv.url('/ok.pkg'), body: PKG }]);
      git(root, 'init', '-q');
      const r = await run(root, [...ca, '--changed-since', 'origin/nope']);
      assert.equal(r.code, 2);
      assert.match(r.err, /--changed-since origin\/nope: no such commit/);
    });

    it('exits 2 for a ref that git would read as an option', async () => {
      const root = await repo([{ version: '1.0.0', url: srv.url('/ok.pkg'), body: PKG }]);
      git(root, 'init', '-q');
      const r = await run(root, [...ca, '--changed-since=--output=x']);
      assert.equal(r.code, 2);
      assert.equal(existsSync(join(root, 'x')), false);
    });

    it('exits 2 outside a git repository', async () => {
      const root = await repo([{ version: '1.0.0', url: srv.url('/ok.pkg'), body: PKG }]);
      const r = await run(root, [...ca, '--changed-since', 'HEAD']);
      assert.equal(r.code, 2);
      assert.match(r.err, /no such commit/);
    });
  });

  it('under GitHub Actions annotates the failing line and writes the job summary (real process)', async () => {
    const root = await repo([{ version: '1.0.0', url: srv.url('/ok.pkg'), body: PKG, size: PKG.length - 1 }]);
    const summary = join(await mkdtemp(join(tmpdir(), 'mngd-summary-')), 'summary.md');
    await writeFile(summary, '');
    const child = spawn(process.execPath, [CLI, 'verify-artifacts', ...ca], {
      cwd: root,
      env: {
        ...process.env,
        GITHUB_ACTIONS: 'true',
        GITHUB_STEP_SUMMARY: summary,
        MNGD_STATE_DIR: join(root, '.state'),
      },
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    assert.equal(code, 1, out);
    const annotation = out.split('\n').find((l) => l.startsWith('::error '));
    assert.ok(annotation, out);
    assert.match(annotation, /file=releases\/1\.0\.0\.yaml/);
    assert.match(annotation, /line=4/);
    assert.match(annotation, /ARTIFACT_TOO_LARGE/);
    const md = await readFile(summary, 'utf8');
    assert.match(md, /## mngd-release verify-artifacts/);
    assert.match(md, /\| ❌ \| `releases\/1\.0\.0\.yaml` \| 1\.0\.0 \|/);
  });
});
