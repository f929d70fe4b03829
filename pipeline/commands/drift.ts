import { SettingsError } from '../../schema/errors.js';
import { COMMON_HELP, COMMON_OPTIONS, EXIT, EXIT_HELP, flag, str, type Command } from '../cli/command.js';
import { openDatabase } from '../table/index.js';
import { checkManifests, checkTable, type DriftFinding, type DriftMatch } from '../drift/index.js';
import { driftMarkdown, driftProblems, driftSummary, findingText, matchText } from '../drift/index.js';
import { annotate, appendSummary, onGitHub } from '../cli/github.js';
import { TARGET_HELP, TARGET_OPTIONS, loadValid, openTarget } from '../cli/setup.js';
import { tableBehindFinding } from '../drift/index.js';

export const driftCommand: Command = {
  name: 'drift',
  help: `Usage: mngd-release drift [--only table|manifests] [--target T] [--endpoint URL] [--releases DIR] [--json]

Reads agent_releases and each channel's published latest.json and compares them with what
releases/ says, field by field: "git says X, the table (or the published manifest) says Y". A
manifest that does not verify with the policy's keys (changed by hand) is drift. A manifest
expiring within the policy's refresh window is a warning; an expired one is drift. What matched
is said too (✓ lines: the rows, each manifest's sequence, offers, floor and expiry). Writes nothing.

Flags:
  --only WHAT      check only the table or only the manifests
${TARGET_HELP}
${COMMON_HELP}

Environment:
  DATABASE_URL     the mngd server's PostgreSQL (default: the embedded PGlite under the state folder)

${EXIT_HELP} Exit 1 here means drift: run "mngd-release apply" to converge.

Example:
  mngd-release drift
  ✓ table (postgres://deploy@db/mngd): 2 row(s) match their release files: 1.0.3, 1.0.1
  ✓ manifest stable (latest.json): sequence 1795744800 matches git: offers 1.0.3 (10%), 1.0.2; floor none; expires 2026-12-11T02:00:00Z
  ✗ table 1.0.2 (releases/1.0.2.yaml): the row differs from its release file
      rollout_percent: git says 100, the table says 50`,
  options: { ...COMMON_OPTIONS, ...TARGET_OPTIONS, only: { type: 'string' } },
  async run(args, ctx) {
    const json = flag(args, 'json');
    const only = str(args, 'only');
    if (only !== undefined && only !== 'table' && only !== 'manifests') {
      throw new SettingsError(`--only must be "table" or "manifests", got "${only}"`);
    }
    const loaded = await loadValid(ctx, 'mngd-release drift', str(args, 'releases'), json);
    const now = ctx.now();
    const findings: DriftFinding[] = [];
    const matched: DriftMatch[] = [];
    if (only !== 'manifests') {
      const db = await openDatabase(loaded.set.root, ctx.env);
      try {
        const table = await checkTable(db, loaded.set.releases, loaded.policy, now);
        findings.push(...table.findings);
        matched.push(...table.matched.map((m) => ({ ...m, subject: `${m.subject} (${db.label})` })));
      } finally {
        await db.close();
      }
    }
    if (only !== 'table') {
      const { store } = openTarget(ctx, loaded, { target: str(args, 'target'), endpoint: str(args, 'endpoint') });
      try {
        const manifests = await checkManifests(store, loaded.releases, loaded.policy, now);
        findings.push(...manifests.findings);
        matched.push(...manifests.matched);
      } finally {
        store.close?.();
      }
    }
    const behind = only === undefined ? tableBehindFinding(findings) : null;
    if (behind !== null) findings.push(behind);
    const drift = findings.some((f) => f.severity === 'error');
    if (json) ctx.stdout.write(`${JSON.stringify({ drift, findings, matched }, null, 2)}\n`);
    else {
      for (const m of matched) ctx.stdout.write(matchText(m));
      for (const f of findings) ctx.stdout.write(findingText(f));
      ctx.stdout.write(driftSummary(findings, only ?? 'both'));
    }
    if (onGitHub(ctx.env)) {
      await annotate(driftProblems(findings));
      await appendSummary(`## mngd-release drift\n\n${driftMarkdown(findings, matched)}`);
    }
    return drift ? EXIT.INVALID : EXIT.OK;
  },
};
