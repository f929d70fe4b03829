import { writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { COMMON_HELP, COMMON_OPTIONS, EXIT, EXIT_HELP, flag, str, type Command } from '../cli/command.js';
import { SettingsError, UsageError } from '../../schema/errors.js';
import { explainVersion } from '../../schema/version.js';
import type { ReleaseFile } from '../../schema/types.js';
import { hashFile } from '../artifacts/index.js';
import { fileSizeProblem, loadReleaseSet } from '../releases/index.js';
import { parseRelease } from '../releases/index.js';
import { hasErrors, sortProblems } from '../releases/index.js';
import { renderReleaseYaml } from '../releases/index.js';
import { crossFileProblems } from '../releases/index.js';
import { reportProblems } from '../cli/report.js';

function integer(name: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text)) throw new SettingsError(`--${name} must be a whole number, got "${text}"`);
  return Number(text);
}

export const newCommand: Command = {
  name: 'new',
  help: `Usage: mngd-release new <version> --pkg FILE --url URL [--notes TEXT]
         [--min-required-version V] [--channel NAME] [--rollout N] [--releases DIR] [--json]

Hashes the package, writes a correct releases/<version>.yaml and checks it against the others
and the policy. Nothing is written when the result would not validate.

Flags:
  --pkg FILE                  the .pkg to release (its sha256 and size go into the file)
  --url URL                   where agents download it (under a policy's allowed prefix)
  --notes TEXT                release notes
  --min-required-version V    force devices below V to update first (a load event: use sparingly)
  --channel NAME              channel (default stable)
  --rollout N                 share of devices offered it, 0-100 (default 100; 0 pauses)
${COMMON_HELP}

${EXIT_HELP}

Example:
  mngd-release new 1.0.4 --pkg build/mngd-agent-1.0.4.pkg \\
    --url https://cdn.mngd.app/agent/mngd-agent-1.0.4.pkg --rollout 10 --notes "Fixes the menubar icon"`,
  options: {
    ...COMMON_OPTIONS,
    pkg: { type: 'string' },
    url: { type: 'string' },
    notes: { type: 'string' },
    'min-required-version': { type: 'string' },
    channel: { type: 'string' },
    rollout: { type: 'string' },
  },
  positionals: { min: 1, max: 1 },
  async run(args, ctx) {
    const version = args.positionals[0]!;
    const why = explainVersion(version);
    if (why !== null) throw new SettingsError(`"${version}" is not a version: ${why}`);
    const pkg = str(args, 'pkg');
    const url = str(args, 'url');
    if (pkg === undefined || url === undefined) throw new UsageError('--pkg FILE and --url URL are required');
    const set = await loadReleaseSet(ctx.cwd, { releasesDir: str(args, 'releases'), now: ctx.now() });
    const name = `${version}.yaml`;
    const path = join(set.dir, name);
    const file = relative(set.root, path);
    if (set.releases.some((r) => r.release.version === version) || set.problems.some((p) => p.file === file)) {
      throw new SettingsError(`${file} already exists: a release never changes its package; pick a new version`);
    }
    const digest = await hashFile(pkg);
    const release: ReleaseFile = { version, download_url: url, sha256: digest.sha256, size: digest.size };
    const notes = str(args, 'notes');
    if (notes !== undefined) release.release_notes = notes;
    const floor = str(args, 'min-required-version');
    if (floor !== undefined) release.min_required_version = floor;
    const channel = str(args, 'channel');
    if (channel !== undefined) release.channel = channel;
    const rollout = integer('rollout', str(args, 'rollout'));
    if (rollout !== undefined) release.rollout_percent = rollout;

    const text = renderReleaseYaml(release);
    const parsed = parseRelease(file, name, Buffer.from(text), set.policy, ctx.now().getTime());
    const tooLarge = fileSizeProblem(Buffer.byteLength(text));
    const problems = sortProblems([
      ...(tooLarge !== null ? [{ ...tooLarge, file }] : []),
      ...parsed.problems,
      ...(parsed.loaded
        ? crossFileProblems([...set.releases, parsed.loaded], set.policy).filter((p) => p.file === file)
        : []),
    ]);
    if (hasErrors(problems)) {
      await reportProblems(ctx, 'mngd-release new', problems, { json: flag(args, 'json') });
      if (flag(args, 'json')) ctx.stdout.write(`${JSON.stringify({ ok: false, problems }, null, 2)}\n`);
      else ctx.stderr.write(`Nothing written: ${file} would not be valid. Fix the flags above and run again.\n`);
      return EXIT.INVALID;
    }
    writeFileSync(path, text, { flag: 'wx' });
    if (flag(args, 'json')) ctx.stdout.write(`${JSON.stringify({ ok: true, file, release })}\n`);
    else
      ctx.stdout.write(
        `Wrote ${file} (sha256 ${digest.sha256}, ${digest.size} bytes).\nNext: open a pull request with it; the check verifies the package at its URL.\n`,
      );
    return EXIT.OK;
  },
};
