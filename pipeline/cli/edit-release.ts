/**
 * What yank, halt, pause and rollout share (the I/O edge around releases/edit.ts): find the
 * release file, edit it in place, validate the result against the other files and the policy,
 * write it only when it is valid, and print the pull request to open.
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import { SettingsError, ValidationError } from '../../schema/errors.js';
import { closest } from '../../schema/suggest.js';
import { editReleaseText, type EditOutcome } from '../releases/index.js';
import { loadReleaseSet } from '../releases/index.js';
import { hasErrors, sortProblems } from '../releases/index.js';
import { parseRelease } from '../releases/index.js';
import type { LoadedRelease, Problem, ReleaseEdit, ReleaseSet } from '../releases/index.js';
import { crossFileProblems } from '../releases/index.js';
import { EXIT, flag, str, type CommandContext, type ExitCode, type Parsed } from './command.js';
import { pullRequestCommands } from './pr-commands.js';
import { reportProblems } from './report.js';

export interface EditRequest {
  /** the command, for messages: "mngd-release yank" */
  command: string;
  version: string;
  edit: ReleaseEdit;
  /** the pull request's branch, title and body for the change */
  branch: string;
  title: string;
  body: string;
  /** what the change means for agents, printed after the change */
  effect: string;
  /** refuse unless the release is on this channel (a confirmation against a mistyped version) */
  channel?: string;
}

/** The release of `version`, or a SettingsError naming the closest known version. */
export function findRelease(set: ReleaseSet, version: string): LoadedRelease {
  const found = set.releases.find((r) => r.release.version === version);
  if (found !== undefined) return found;
  const file = relative(set.root, join(set.dir, `${version}.yaml`));
  const broken = set.problems.find((p) => p.file === file && p.severity === 'error');
  if (broken !== undefined) {
    throw new ValidationError(
      'RELEASE_FILE_INVALID',
      `${file} does not load (${broken.code}: ${broken.message}); expected a valid release file: fix it first ("mngd-release validate" lists every problem)`,
    );
  }
  const known = set.releases.map((r) => r.release.version);
  const guess = closest(version, known);
  throw new SettingsError(
    `no release ${version} in ${relative(set.root, set.dir) || '.'}/${guess !== null ? `: did you mean ${guess}?` : ''} Known versions: ${known.slice(0, 10).join(', ') || 'none'}${known.length > 10 ? ', ...' : ''}`,
    'UNKNOWN_VERSION',
  );
}

/** Writes through a temporary file and a rename, so a crash never leaves half a release file. */
function writeAtomically(path: string, text: string): void {
  const tmp = join(path, '..', `.${basename(path)}.${process.pid}.tmp`);
  writeFileSync(tmp, text, { flag: 'wx' });
  renameSync(tmp, path);
}

export interface EditResult {
  /** the release file, relative to the repository root */
  file: string;
  path: string;
  outcome: EditOutcome;
  /** why the edited file would not be valid (nothing written) */
  problems: Problem[];
  /** the file was rewritten */
  written: boolean;
}

/**
 * Edits one release file in place: find it (refusing another channel than `channel`), edit the
 * text, validate the result with the other files and the policy, and write it only when valid.
 */
export function editReleaseFile(
  set: ReleaseSet,
  version: string,
  edit: ReleaseEdit,
  opts: { now: Date; channel?: string | undefined; dryRun?: boolean },
): EditResult {
  const { channel } = opts;
  const target = findRelease(set, version);
  if (channel !== undefined && target.release.channel !== channel) {
    throw new SettingsError(
      `${target.file} is on channel ${target.release.channel}, not ${channel}; expected --channel to name the release's own channel: check the version`,
      'CHANNEL_MISMATCH',
    );
  }
  const path = join(set.root, target.file);
  const before = readFileSync(path, 'utf8');
  const outcome: EditOutcome = editReleaseText(before, target.file, edit);
  if (!outcome.changed) return { file: target.file, path, outcome, problems: [], written: false };
  const name = basename(target.file);
  const parsed = parseRelease(target.file, name, Buffer.from(outcome.text), set.policy, opts.now.getTime());
  const others = set.releases.filter((r) => r.file !== target.file);
  // A problem the edit causes in another file counts too: halting the only release that satisfies
  // another release's floor is reported on that release's file (RELEASE_FLOOR_LOCKOUT).
  const key = (p: Problem) => `${p.file}\n${p.code}`;
  const had = new Set(crossFileProblems(set.releases, set.policy).map(key));
  const problems = sortProblems([
    ...parsed.problems,
    ...(parsed.loaded
      ? crossFileProblems([...others, parsed.loaded], set.policy).filter(
          (p) => p.file === target.file || !had.has(key(p)),
        )
      : []),
  ]);
  if (hasErrors(problems) || opts.dryRun === true)
    return { file: target.file, path, outcome, problems, written: false };
  writeAtomically(path, outcome.text);
  return { file: target.file, path, outcome, problems, written: true };
}

export async function runEdit(req: EditRequest, args: Parsed, ctx: CommandContext): Promise<ExitCode> {
  const json = flag(args, 'json');
  const set = await loadReleaseSet(ctx.cwd, { releasesDir: str(args, 'releases'), now: ctx.now() });
  const { file, path, outcome, problems } = editReleaseFile(set, req.version, req.edit, {
    now: ctx.now(),
    channel: req.channel,
  });
  if (hasErrors(problems)) {
    await reportProblems(ctx, req.command, problems, { json });
    if (json) ctx.stdout.write(`${JSON.stringify({ ok: false, file, problems }, null, 2)}\n`);
    else ctx.stderr.write(`Nothing written: ${file} would not be valid after "${outcome.change}".\n`);
    return EXIT.INVALID;
  }
  const commands = outcome.changed
    ? pullRequestCommands({
        branch: req.branch,
        file: relative(ctx.cwd, path) || file,
        title: req.title,
        body: req.body,
        base: 'main',
      })
    : [];
  if (json) {
    ctx.stdout.write(
      `${JSON.stringify({ ok: true, file: file, version: req.version, action: req.edit.kind, changed: outcome.changed, change: outcome.change, notes: outcome.notes, commands })}\n`,
    );
    return EXIT.OK;
  }
  const lines = outcome.changed ? [`${file}: ${outcome.change}. ${req.effect}`] : [`${file}: ${outcome.change}.`];
  for (const n of outcome.notes) lines.push(`note: ${n}`);
  if (outcome.changed) {
    lines.push('', 'Next, open the pull request (its check validates the change and plans it):');
    for (const c of commands) lines.push(`  ${c}`);
  }
  ctx.stdout.write(`${lines.join('\n')}\n`);
  return EXIT.OK;
}
