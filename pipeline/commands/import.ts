import { createHttpClient } from '../../agent/http/index.js';
import { COMMON_HELP, COMMON_OPTIONS, EXIT, EXIT_HELP, flag, readableFile, str, type Command } from '../cli/command.js';
import { openDatabase } from '../table/index.js';
import { importReleases } from '../table/index.js';
import { loadReleaseSet } from '../releases/index.js';
import { hasErrors } from '../releases/index.js';
import { plural, reportProblems } from '../cli/report.js';
import { DATABASE_HELP } from './plan.js';

export const importCommand: Command = {
  name: 'import',
  help: `Usage: mngd-release import [--releases DIR] [--offline] [--ca-file PEM] [--json]

For a table filled by raw SQL before the pipeline: writes releases/<version>.yaml for every row
the pipeline never managed that has no release file, so the team adopts the pipeline in one pull
request. Existing files are never overwritten; rows whose file was removed on purpose (yanked by
the pipeline) are not brought back. After an import, "mngd-release plan" shows no change to any
release (it only marks the rows as managed).

The table has no size column from before the pipeline, and every release file needs one: import
downloads each package, checks it against the row's sha256 and writes the size it measured. If a
package cannot be downloaded or does not match, nothing is written.

Every row is checked first, as the release file it would become: the same version twice (or 1.0
beside 1.0.0), a version like v1.0.2, a short sha256, an http:// URL, a floor above the version.
Any of them and nothing is written (exit 1): each is named with its row, and the SQL that resolves
them all is printed; review it, run it against agent_releases, and import again. An uppercase
sha256 is the same hash: it is written lowercase (and sync writes it lowercase in the table).

Flags:
  --offline          do not download: write the files without size (a comment marks the gap;
                     "mngd-release validate" fails until you add it from "mngd-release hash")
  --ca-file PEM      extra CA certificate(s) to trust for the downloads (a private CDN)
${COMMON_HELP}

${DATABASE_HELP}

${EXIT_HELP}

Example:
  DATABASE_URL=postgres://reader@db.internal/mngd mngd-release import
  git add releases && git commit -m "Adopt the release pipeline"`,
  options: { ...COMMON_OPTIONS, offline: { type: 'boolean' }, 'ca-file': { type: 'string' } },
  async run(args, ctx) {
    const json = flag(args, 'json');
    const caFile = await readableFile(ctx.cwd, str(args, 'ca-file'), 'ca-file');
    const set = await loadReleaseSet(ctx.cwd, { releasesDir: str(args, 'releases'), now: ctx.now() });
    const offline = flag(args, 'offline');
    const db = await openDatabase(set.root, ctx.env);
    let result;
    try {
      result = await importReleases(db, set, {
        offline,
        ...(offline
          ? {}
          : { http: createHttpClient({ bin: 'mngd-release', ...(caFile === undefined ? {} : { caFile }) }) }),
      });
    } finally {
      await db.close();
    }
    if (hasErrors(result.problems)) {
      await reportProblems(ctx, 'mngd-release import', result.problems, { json });
      if (json)
        ctx.stdout.write(
          `${JSON.stringify({ ok: false, target: db.label, files: [], problems: result.problems, sql: result.sql }, null, 2)}\n`,
        );
      else {
        const errors = result.problems.filter((p) => p.severity === 'error').length;
        ctx.stderr.write(`\nNothing was imported: ${plural(errors, 'problem')} (above).\n`);
        if (result.sql.length > 0)
          ctx.stderr.write(
            `\nTo resolve them, review this SQL, run it against agent_releases (fill in each "--" line by hand), then import again:\n\nBEGIN;\n${result.sql.join('\n')}\nCOMMIT;\n`,
          );
      }
      return result.tls === true ? EXIT.USAGE : result.external ? EXIT.EXTERNAL : EXIT.INVALID;
    }
    // The written files are checked like any release file; problems are the operator's to fix.
    const after = await loadReleaseSet(ctx.cwd, { releasesDir: str(args, 'releases'), now: ctx.now() });
    const written = new Set(result.files.map((f) => f.file));
    const problems = [...result.problems, ...after.problems.filter((p) => written.has(p.file))];
    if (json) {
      ctx.stdout.write(
        `${JSON.stringify({ ok: !hasErrors(problems), target: db.label, files: result.files, problems }, null, 2)}\n`,
      );
    } else {
      ctx.stdout.write(
        `Imported ${plural(result.files.length, 'release')} from ${db.label}${result.files.length ? ':' : '.'}\n`,
      );
      for (const f of result.files)
        ctx.stdout.write(
          `  ${f.file}${f.size === null ? '  (size missing: --offline)' : `  (size ${f.size} measured, sha256 checked)`}\n`,
        );
      if (problems.length > 0) await reportProblems(ctx, 'mngd-release import', problems, { json });
      if (hasErrors(problems))
        ctx.stderr.write(`\nThe imported files need fixing before plan or sync accept them (above).\n`);
      else if (result.files.length > 0)
        ctx.stdout.write('\nReview them, commit them in one pull request, then "mngd-release plan" shows no change.\n');
    }
    return hasErrors(problems) ? EXIT.INVALID : EXIT.OK;
  },
};
