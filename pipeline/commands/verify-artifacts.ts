import { createHttpClient } from '../../agent/http/index.js';
import { SettingsError, UsageError } from '../../schema/errors.js';
import { changedFiles } from '../artifacts/index.js';
import { createReporter, formatBytes } from '../artifacts/index.js';
import { selectReleases, skippedReleases, unloadedReleases, type Scope, type Skipped } from '../artifacts/index.js';
import {
  COMMON_HELP,
  COMMON_OPTIONS,
  EXIT,
  EXIT_HELP,
  flag,
  readableFile,
  str,
  type Command,
  type CommandContext,
  type Parsed,
} from '../cli/command.js';
import { annotate, appendSummary, onGitHub } from '../cli/github.js';
import { problemsMarkdown } from '../releases/index.js';
import { loadReleaseSet } from '../releases/index.js';
import { hasErrors } from '../releases/index.js';
import { plural } from '../cli/report.js';
import { stateDir } from '../state-dir.js';
import { DEFAULT_CONCURRENCY, verifyArtifacts, type ArtifactReport } from '../artifacts/index.js';

function positiveNumber(
  args: Parsed,
  name: string,
  opts: { integer: boolean; min: number; max: number },
): number | undefined {
  const raw = str(args, name);
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (
    raw.trim() === '' ||
    !Number.isFinite(n) ||
    (opts.integer && !Number.isInteger(n)) ||
    n < opts.min ||
    n > opts.max
  ) {
    throw new SettingsError(
      `--${name} "${raw}" is not valid; expected ${opts.integer ? 'a whole number' : 'a number'} from ${opts.min} to ${opts.max}`,
    );
  }
  return n;
}

function summaryMarkdown(report: ArtifactReport, scopeText: string, skipped: readonly Skipped[]): string {
  const esc = (s: string) => s.replace(/\|/g, '\\|');
  const icon = { verified: '✅', cached: '✅', mismatch: '❌', unreachable: '⚠️' } as const;
  const rows = report.results.map(
    (r) =>
      `| ${icon[r.outcome]} | \`${esc(r.file)}\` | ${r.version} | ${formatBytes(r.size)} | ${r.outcome === 'cached' ? 'unchanged since verified' : r.outcome} |`,
  );
  return [
    `## mngd-release verify-artifacts (${scopeText})`,
    '',
    report.results.length === 0
      ? 'Nothing to verify.'
      : ['| | release | version | size | result |', '|---|---|---|---|---|', ...rows].join('\n'),
    '',
    ...skipped.map((s) => `- Not downloaded: \`${s.release.file}\`: ${s.why}.`),
    ...(skipped.length > 0 ? [''] : []),
    problemsMarkdown(report.problems),
  ].join('\n');
}

function verdict(report: ArtifactReport, unloaded: readonly string[]): string {
  if (unloaded.length > 0)
    return `Not verified: ${unloaded.join(', ')} did not load, so ${unloaded.length === 1 ? 'its package was' : 'their packages were'} not checked. Fix ${unloaded.length === 1 ? 'it' : 'them'} ("mngd-release validate" says why), then run again.`;
  if (report.exitCode === EXIT.INVALID)
    return 'A package does not match its release file: fix the release file or upload the right package (see above), then push again.';
  if (report.exitCode === EXIT.USAGE)
    return "A TLS connection failed: trust the CDN's CA with --ca-file PEM or NODE_EXTRA_CA_CERTS=PEM, or fix its certificate; a re-run alone fails the same way.";
  if (report.exitCode === EXIT.EXTERNAL)
    return 'A server could not be reached or failed: nothing is known to be wrong with the release files; re-run the job.';
  return 'Every package matches its release file.';
}

export const verifyArtifactsCommand: Command = {
  name: 'verify-artifacts',
  help: `Usage: mngd-release verify-artifacts [--changed-since REF | --all] [--concurrency N]
                                     [--ca-file PEM] [--timeout SECONDS] [--retries N]
                                     [--no-cache] [--releases DIR] [--json]

Downloads each release's download_url and proves the bytes are exactly what its sha256 and size
say. Each download streams through SHA-256 (nothing kept in memory or on disk) and stops as soon
as more than size bytes arrive. Redirects are followed only to https; nothing is sent but a
User-Agent (no credentials).

Which releases (default: those some channel's manifest will list, i.e. what agents can fetch):
  --changed-since REF  only the release files that differ from the git ref REF (pull requests:
                       --changed-since origin/main), plus new files git does not track yet;
                       a yanked or halted release is not downloaded (a line says so): no
                       manifest offers it, and its package may already be gone
  --all                every release file, yanked ones included

Flags:
  --concurrency N    downloads at once (default ${DEFAULT_CONCURRENCY}, at most 64)
  --ca-file PEM      extra CA certificate(s) to trust besides the system ones (a private CDN)
  --timeout SECONDS  give up on a connection idle this long (default 30); connecting gets 10
  --retries N        retries after a network error, time-out, 408, 429 or 5xx (default 2)
  --no-cache         download everything, ignoring the cache of verified results
${COMMON_HELP}

The cache (<state>/artifact-cache.json; state = MNGD_STATE_DIR or .state) remembers each
verified package with the server's ETag or Last-Modified: a re-run asks the server with a
conditional request and downloads nothing when the package is unchanged.

On a terminal a status line shows bytes of total and the rate; otherwise one line per package.
Under GitHub Actions (GITHUB_ACTIONS=true) each failure is also an annotation on the line of
the field at fault, and the job summary lists every package.

${EXIT_HELP}
Here: 1 a package does not match (wrong sha256 or size, 404, a redirect to http); 2 a TLS
failure (an unknown CA, a bad certificate: trust the CA with --ca-file, or in a workflow
NODE_EXTRA_CA_CERTS=PEM in env); 3 a server could not be reached, timed out or kept failing (5xx)
after the retries.

Example:
  mngd-release verify-artifacts --changed-since origin/main
  FAIL  releases/1.0.4.yaml:4:9: error ARTIFACT_SHA256_MISMATCH: the package at https://cdn.mngd.app/agent/mngd-1.0.4.pkg
        hashes to 9b1c…, but sha256 is 3f1c…: if that package is right, set sha256 to 9b1c…; if not, upload the right one`,
  options: {
    ...COMMON_OPTIONS,
    'changed-since': { type: 'string' },
    all: { type: 'boolean' },
    concurrency: { type: 'string' },
    'ca-file': { type: 'string' },
    timeout: { type: 'string' },
    retries: { type: 'string' },
    'no-cache': { type: 'boolean' },
  },
  async run(args, ctx: CommandContext) {
    const json = flag(args, 'json');
    const since = str(args, 'changed-since');
    if (since !== undefined && flag(args, 'all'))
      throw new UsageError(
        '--changed-since and --all exclude each other; pass one of them (or neither: the releases in manifests)',
      );
    const concurrency = positiveNumber(args, 'concurrency', { integer: true, min: 1, max: 64 }) ?? DEFAULT_CONCURRENCY;
    const timeout = positiveNumber(args, 'timeout', { integer: false, min: 0.001, max: 3600 });
    const retries = positiveNumber(args, 'retries', { integer: true, min: 0, max: 10 });
    const caFile = await readableFile(ctx.cwd, str(args, 'ca-file'), 'ca-file');

    const set = await loadReleaseSet(ctx.cwd, { releasesDir: str(args, 'releases'), now: ctx.now() });
    let scope: Scope = flag(args, 'all') ? { kind: 'all' } : { kind: 'manifest' };
    let scopeText = flag(args, 'all') ? 'all releases' : 'releases in manifests';
    if (since !== undefined) {
      const files = await changedFiles(set.root, set.dir, since);
      scope = { kind: 'changed', files };
      scopeText = `changed since ${since}`;
    }
    const selected = selectReleases(set, scope);
    const skipped = skippedReleases(set, scope);
    if (!json) for (const s of skipped) ctx.stdout.write(`Not downloading ${s.release.file}: ${s.why}.\n`);
    const unloaded = unloadedReleases(set, scope);
    if (hasErrors(set.problems) && !json) {
      const n = set.problems.filter((p) => p.severity === 'error').length;
      ctx.stderr.write(
        `note: ${plural(n, 'problem')} in the release files (run "mngd-release validate"); files that did not load are not checked here.\n`,
      );
    }

    const http = createHttpClient({
      bin: 'mngd-release',
      ...(caFile === undefined ? {} : { caFile }),
      ...(timeout === undefined
        ? {}
        : { readTimeoutMs: timeout * 1000, connectTimeoutMs: Math.min(10_000, timeout * 1000) }),
      ...(retries === undefined ? {} : { retries: { limit: retries } }),
    });
    const reporter = json ? undefined : createReporter(ctx.stdout, { isTTY: ctx.isTTY, total: selected.length });
    if (!json)
      ctx.stdout.write(`Verifying ${plural(selected.length, 'package')} (${scopeText}), ${concurrency} at once.\n`);
    const started = Date.now();
    const report = await verifyArtifacts(set, {
      scope,
      concurrency,
      http,
      ...(flag(args, 'no-cache') ? {} : { stateDir: stateDir(set.root, ctx.env) }),
      ...(reporter ? { reporter } : {}),
      now: ctx.now,
    });
    reporter?.finish();
    // A file that did not load was not verified: never "every package matches" (exit 1: fix it).
    const exitCode = unloaded.length > 0 ? EXIT.INVALID : report.exitCode;
    if (report.cacheError !== undefined) ctx.stderr.write(`warning: ${report.cacheError}\n`);

    if (json) {
      ctx.stdout.write(
        `${JSON.stringify({ ok: exitCode === EXIT.OK, exitCode, scope: scopeText, notLoaded: unloaded, counts: report.counts, skipped: skipped.map((s) => ({ file: s.release.file, version: s.release.release.version, why: s.why })), bytes: report.bytes, results: report.results, problems: report.problems }, null, 2)}\n`,
      );
    } else {
      const c = report.counts;
      const secs = ((Date.now() - started) / 1000).toFixed(1);
      ctx.stdout.write(
        `\n${c.verified} verified, ${c.cached} unchanged since verified, ${c.mismatch} not matching, ${c.unreachable} unreachable; ${formatBytes(report.bytes)} downloaded in ${secs} s.\n${verdict(report, unloaded)}\n`,
      );
    }
    if (onGitHub(ctx.env)) {
      await annotate(report.problems);
      await appendSummary(summaryMarkdown(report, scopeText, skipped));
    }
    return exitCode;
  },
};
