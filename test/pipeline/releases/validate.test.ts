import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { loadReleaseSet } from '../../../pipeline/releases/load.js';
import { FIXTURES, RELEASE_BIN, REPO_ROOT, runBin, runRelease, tempRepo } from '../../support/cli.js';

interface Expectation {
  as: string;
  code: string;
  line?: number;
  column?: number;
  /** the whole message, where its wording is the point (what to write instead) */
  message?: string;
}

const BAD = join(FIXTURES, 'bad');
const expectations = JSON.parse(readFileSync(join(BAD, 'expectations.json'), 'utf8')) as Record<string, Expectation>;

async function validate(root: string) {
  return runRelease(['validate'], { cwd: root });
}

function assertRejected(
  r: { code: number; stdout: string; stderr: string },
  file: string,
  code: string,
  line?: number,
  column?: number,
) {
  assert.equal(r.code, 1, `expected exit 1, got ${r.code}\n${r.stderr}`);
  const where = line === undefined ? `${file}: ` : `${file}:${line}:${column}: `;
  assert.ok(r.stderr.includes(`${where}error ${code}:`), `expected "${where}error ${code}" in:\n${r.stderr}`);
  assert.doesNotMatch(r.stderr, /\n\s+at .+:\d+:\d+\)?\n/, 'no stack trace');
}

describe('mngd-release validate', () => {
  it("accepts the repository's own releases", async () => {
    const r = await validate(REPO_ROOT);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /releases and the policy are valid/);
  });

  it('accepts the base fixture, and reads version 1.10 exactly as written', async () => {
    const { root, releases } = tempRepo();
    writeFileSync(
      join(releases, '1.10.yaml'),
      'version: 1.10\ndownload_url: https://cdn.mngd.app/agent/a-1.10.pkg\nsha256: ' + 'c'.repeat(64) + '\nsize: 5\n',
    );
    const r = await runRelease(['validate', '--json'], { cwd: root });
    assert.equal(r.code, 0, r.stderr + r.stdout);
    const out = JSON.parse(r.stdout) as {
      ok: boolean;
      channels: { channel: string; offers: { version: string; rollout_percent: number }[] }[];
    };
    // offers as data, never "1.10 (10%)" strings
    assert.deepEqual(out.channels.find((c) => c.channel === 'stable')?.offers, [
      { version: '1.10', rollout_percent: 100 },
    ]);
  });

  it('loads the releases newest first, comparing parts as numbers (1.10 > 1.9 > 1.0.1)', async () => {
    const { root, releases } = tempRepo();
    for (const [v, c] of [
      ['1.9', 'e'],
      ['1.10', 'f'],
      ['1.0.1', '1'],
      ['10', '2'],
    ] as const) {
      writeFileSync(
        join(releases, `${v}.yaml`),
        `version: "${v}"\ndownload_url: https://cdn.mngd.app/agent/a-${v}.pkg\nsha256: ${c.repeat(64)}\nsize: 5\n`,
      );
    }
    const set = await loadReleaseSet(root);
    assert.deepEqual(set.problems, []);
    assert.deepEqual(
      set.releases.map((r) => r.release.version),
      ['10', '1.10', '1.9', '1.0.1', '1.0.0'],
    );
  });

  it('has at least 40 bad fixtures', () => {
    assert.ok(Object.keys(expectations).length >= 40);
    const files = readdirSync(BAD).filter((f) => f.endsWith('.yaml'));
    assert.deepEqual(files.map((f) => f.slice(0, -5)).sort(), Object.keys(expectations).sort());
  });

  for (const [name, e] of Object.entries(expectations)) {
    it(`rejects ${name} with ${e.code}${e.line ? ` at ${e.line}:${e.column}` : ''}`, async () => {
      const { root, releases } = tempRepo();
      copyFileSync(join(BAD, `${name}.yaml`), join(releases, e.as));
      const r = await validate(root);
      assertRejected(r, `releases/${e.as}`, e.code, e.line, e.column);
      if (e.message !== undefined)
        assert.ok(
          r.stderr.includes(`releases/${e.as}:${e.line}:${e.column}: error ${e.code}: ${e.message}\n`),
          r.stderr,
        );
    });
  }

  it('finds the repository root when run from inside releases/ (or any folder below the root)', async () => {
    const { root, releases } = tempRepo();
    mkdirSync(join(root, 'docs'));
    for (const cwd of [releases, join(root, 'docs')]) {
      const r = await runBin(['validate'], { cwd });
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /release and the policy are valid/);
    }
    writeFileSync(join(releases, '1.0.4.yaml'), 'version: "1.0.4"\n');
    const bad = await runBin(['validate'], { cwd: releases });
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /^releases\/1\.0\.4\.yaml:1:1: error RELEASE_MISSING_FIELD: /m);
  });

  it('warns (exit 0) when download_url names another version than the release', async () => {
    const { root, releases } = tempRepo();
    writeFileSync(
      join(releases, '1.0.4.yaml'),
      `version: "1.0.4"\ndownload_url: https://cdn.mngd.app/agent/mngd-agent-1.0.3.pkg\nsha256: ${'d'.repeat(64)}\nsize: 5\n`,
    );
    const r = await validate(root);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(
      r.stderr.includes(
        'releases/1.0.4.yaml:2:15: warning RELEASE_URL_OTHER_VERSION: download_url names version 1.0.3 (mngd-agent-1.0.3.pkg), but this is release 1.0.4; expected the package of 1.0.4: check that download_url, sha256 and size were not copied from another release\n',
      ),
      r.stderr,
    );
  });

  it('reports every problem at once, not just the first', async () => {
    const { root, releases } = tempRepo();
    for (const name of ['sha256-uppercase', 'url-http', 'rollout-101'])
      copyFileSync(
        join(BAD, `${name}.yaml`),
        join(releases, `${name === 'url-http' ? '2.0' : name === 'rollout-101' ? '3.0' : '1.0.4'}.yaml`),
      );
    const r = await runRelease(['validate', '--json'], { cwd: root });
    assert.equal(r.code, 1);
    const out = JSON.parse(r.stdout) as { problems: { code: string }[] };
    const codes = out.problems.map((p) => p.code);
    for (const c of ['RELEASE_BAD_SHA256', 'RELEASE_BAD_DOWNLOAD_URL', 'RELEASE_BAD_ROLLOUT_PERCENT'])
      assert.ok(codes.includes(c), `${c} in ${codes.join(',')}`);
  });

  it('suggests the right key for a misspelling', async () => {
    const { root, releases } = tempRepo();
    copyFileSync(join(BAD, 'misspelled-min-required-version.yaml'), join(releases, '1.0.4.yaml'));
    const r = await validate(root);
    assert.match(r.stderr, /did you mean "min_required_version"\?/);
  });

  it('never echoes credentials from a URL', async () => {
    const { root, releases } = tempRepo();
    copyFileSync(join(BAD, 'url-credentials.yaml'), join(releases, '1.0.4.yaml'));
    const r = await validate(root);
    assert.equal(r.code, 1);
    assert.doesNotMatch(r.stderr + r.stdout, /hunter2/);
  });

  it('rejects a billion-laughs file within a second without expanding it', async () => {
    const { root, releases } = tempRepo();
    copyFileSync(join(BAD, 'billion-laughs.yaml'), join(releases, '1.0.4.yaml'));
    const started = process.hrtime.bigint();
    const r = await validate(root);
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    assert.equal(r.code, 1);
    assert.ok(ms < 1000, `took ${ms} ms`);
    assert.ok(process.memoryUsage().heapUsed < 500 * 1024 * 1024);
  });

  it('rejects two files whose versions compare equal (1.0 and 1.0.0)', async () => {
    const { root, releases } = tempRepo();
    writeFileSync(
      join(releases, '1.0.yaml'),
      'version: "1.0"\ndownload_url: https://cdn.mngd.app/agent/x-1.0.pkg\nsha256: ' + 'd'.repeat(64) + '\nsize: 7\n',
    );
    const r = await validate(root);
    assertRejected(r, 'releases/1.0.yaml', 'RELEASE_DUPLICATE_VERSION', 1, 10);
    assertRejected(r, 'releases/1.0.0.yaml', 'RELEASE_DUPLICATE_VERSION', 1, 10);
  });

  it('never follows a symbolic link', async () => {
    const { root, releases } = tempRepo();
    symlinkSync(join(releases, '1.0.0.yaml'), join(releases, '1.0.9.yaml'));
    assertRejected(await validate(root), 'releases/1.0.9.yaml', 'RELEASES_SYMLINK');
  });

  it('rejects a nested folder', async () => {
    const { root, releases } = tempRepo();
    mkdirSync(join(releases, 'old'));
    assertRejected(await validate(root), 'releases/old', 'RELEASES_NESTED');
  });

  it('rejects a .yml file and names the fix', async () => {
    const { root, releases } = tempRepo();
    copyFileSync(join(releases, '1.0.0.yaml'), join(releases, '1.0.4.yml'));
    const r = await validate(root);
    assertRejected(r, 'releases/1.0.4.yml', 'RELEASE_FILE_EXTENSION');
    assert.match(r.stderr, /rename it to 1\.0\.4\.yaml/);
  });

  it('rejects a file that is not named <version>.yaml', async () => {
    const { root, releases } = tempRepo();
    copyFileSync(join(releases, '1.0.0.yaml'), join(releases, 'latest.yaml'));
    assertRejected(await validate(root), 'releases/latest.yaml', 'RELEASE_FILE_NAME');
  });

  it('rejects a stray file', async () => {
    const { root, releases } = tempRepo();
    writeFileSync(join(releases, 'notes.txt'), 'hello');
    assertRejected(await validate(root), 'releases/notes.txt', 'RELEASES_UNEXPECTED_ENTRY');
  });

  it('rejects a 10 MB file without reading it whole', async () => {
    const { root, releases } = tempRepo();
    writeFileSync(join(releases, '1.0.4.yaml'), Buffer.alloc(10 * 1024 * 1024, 0x61));
    assertRejected(await validate(root), 'releases/1.0.4.yaml', 'FILE_TOO_LARGE');
  });

  it('reads a file of exactly 64 KiB and refuses one byte more, naming its size', async () => {
    const { root, releases } = tempRepo();
    const text = readFileSync(join(releases, '1.0.0.yaml'), 'utf8');
    // a comment pads the valid file to the size wanted
    const sized = (size: number) => `${text}#${'x'.repeat(size - Buffer.byteLength(text) - 2)}\n`;
    writeFileSync(join(releases, '1.0.0.yaml'), sized(64 * 1024));
    assert.equal(readFileSync(join(releases, '1.0.0.yaml')).length, 65536);
    const fits = await validate(root);
    assert.equal(fits.code, 0, fits.stderr);
    writeFileSync(join(releases, '1.0.0.yaml'), sized(64 * 1024 + 1));
    const r = await validate(root);
    assertRejected(r, 'releases/1.0.0.yaml', 'FILE_TOO_LARGE');
    assert.match(r.stderr, /the file is 65537 bytes; at most 65536 \(64 KiB\) are allowed/);
  });

  it('rejects a missing policy', async () => {
    const { root, releases } = tempRepo();
    writeFileSync(join(releases, 'policy.yaml'), '');
    assertRejected(await validate(root), 'releases/policy.yaml', 'FILE_EMPTY');
  });

  it('rejects a policy whose keyid does not match its public key', async () => {
    const { root, releases } = tempRepo();
    const p = join(releases, 'policy.yaml');
    writeFileSync(p, readFileSync(p, 'utf8').replace('keyid: d00b', 'keyid: e00b'));
    assertRejected(await validate(root), 'releases/policy.yaml', 'POLICY_KEYID_MISMATCH', 5, 12);
  });

  it('rejects a policy without stable', async () => {
    const { root, releases } = tempRepo();
    const p = join(releases, 'policy.yaml');
    writeFileSync(p, readFileSync(p, 'utf8').replace('[stable, beta]', '[beta]'));
    assertRejected(await validate(root), 'releases/policy.yaml', 'POLICY_BAD_FIELD', 3, 11);
  });

  it('keeps a line break a pull request wrote inside its one problem line (no "::command" lines in CI logs)', async () => {
    const { root, releases } = tempRepo();
    const file = join(releases, '1.0.0.yaml');
    writeFileSync(file, `${readFileSync(file, 'utf8')}"x\\n::error file=README.md::injected": 1\n`);
    const r = await validate(root);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /error RELEASE_UNKNOWN_KEY: unknown key "x\\n::error file=README\.md::injected"/);
    assert.doesNotMatch(r.stderr, /^::/m);
  });

  it('finishes without a stack trace when its reader goes away (mngd-release validate | head -1)', async () => {
    const child = spawn(process.execPath, [RELEASE_BIN, 'validate'], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout.destroy(); // the reader is gone before the first line is written: EPIPE
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((done) => child.on('close', done));
    assert.doesNotMatch(stderr, /EPIPE|Unhandled|\n\s+at /, stderr);
    assert.equal(code, 0, stderr);
  });

  it('exits 2 when the releases folder is missing or is a file, naming it', async () => {
    const { root, releases } = tempRepo();
    for (const [dir, says] of [
      [join(root, 'elsewhere'), 'does not exist'],
      [join(releases, 'policy.yaml'), 'is not a folder'],
    ] as const) {
      const r = await runRelease(['validate', '--releases', dir], { cwd: root });
      assert.equal(r.code, 2, r.stderr);
      assert.equal(
        r.stderr.split('\n')[0],
        `mngd-release validate: the releases folder ${dir} ${says}; run from the repository root, or pass --releases DIR (the folder with policy.yaml and the <version>.yaml files) [RELEASES_DIR_MISSING]`,
      );
    }
    // Outside any repository (no releases/policy.yaml here or above), the default folder is not there.
    const nowhere = mkdtempSync(join(tmpdir(), 'mngd-no-repo-'));
    const outside = await runRelease(['validate'], { cwd: nowhere });
    assert.equal(outside.code, 2);
    assert.match(outside.stderr, /the releases folder .*\/releases does not exist; run from the repository root/);
  });

  it('exits 2 for a wrong flag or command, with the closest one, and --help answers', async () => {
    const bad = await runRelease(['validate', '--nope'], { cwd: REPO_ROOT });
    assert.equal(bad.code, 2);
    assert.equal(
      bad.stderr.split('\n')[0],
      'mngd-release validate: unknown flag --nope; the flags are --releases, --json, --help',
    );
    const typo = await runRelease(['validate', '--jsno'], { cwd: REPO_ROOT });
    assert.equal(typo.code, 2);
    assert.match(typo.stderr, /^mngd-release validate: unknown flag --jsno: did you mean --json\?\n/);
    const cmd = await runRelease(['valdate'], { cwd: REPO_ROOT });
    assert.equal(cmd.code, 2);
    assert.match(
      cmd.stderr,
      /^mngd-release: unknown command "valdate": did you mean "validate"\? Commands: validate, /,
    );
    const help = await runRelease(['validate', '--help'], { cwd: REPO_ROOT });
    assert.equal(help.code, 0);
    assert.match(help.stdout, /Usage: mngd-release validate/);
  });

  it('prints annotations on the lines under GitHub Actions, without a stack trace, as a real process', async () => {
    const { root, releases } = tempRepo();
    copyFileSync(join(BAD, 'sha256-uppercase.yaml'), join(releases, '1.0.4.yaml'));
    const summary = join(root, 'summary.md');
    writeFileSync(summary, '');
    const r = await runBin(['validate'], { cwd: root, env: { GITHUB_ACTIONS: 'true', GITHUB_STEP_SUMMARY: summary } });
    assert.equal(r.code, 1);
    assert.match(
      r.stdout,
      /::error title=RELEASE_BAD_SHA256,file=releases\/1\.0\.4\.yaml,line=3,col=9::sha256 has uppercase letters/,
    );
    assert.match(readFileSync(summary, 'utf8'), /RELEASE_BAD_SHA256/);
    assert.doesNotMatch(r.stderr, /\bat .+\.js:\d+/);
  });

  it('keeps its result when the job summary cannot be written, with a warning', async () => {
    const { root } = tempRepo();
    const summary = join(root, 'no-such-dir', 'summary.md');
    const r = await runBin(['validate'], { cwd: root, env: { GITHUB_ACTIONS: 'true', GITHUB_STEP_SUMMARY: summary } });
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stderr,
      new RegExp(`^warning: could not write the job summary to ${summary}: .+; the result above stands$`, 'm'),
    );
  });
});
