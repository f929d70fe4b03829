import { SettingsError } from '../../schema/errors.js';
import { COMMON_HELP, COMMON_OPTIONS, EXIT, EXIT_HELP, flag, str, type Command } from '../cli/command.js';
import { openDatabase } from '../table/index.js';
import { checkManifests, checkTable, type DriftFinding } from '../drift/index.js';
import { driftMarkdown, driftProblems, driftSummary, findingText } from '../drift/index.js';
import { annotate, appendSummary, onGitHub } from '../cli/github.js';
import { TARGET_HELP, TARGET_OPTIONS, loadValid, openTarget } from '../cli/setup.js';
import { tableBehindFinding } from '../drift/index.js';

export const driftCommand: Command = {
  name: 'drift',
  help: `Usage: mngd-release drift [--only table|manifests] [--target T] [--endpoint URL] [--releases DIR] [--json]

Reads agent_releases and each channel's published latest.json and compares them with what
releases/ says, field by field: "git says X, the table (or the published manifest) says Y". A
manifest that does not verify with the policy's keys (changed by hand) is drift. A manifest
expiring within the policy's refresh window is a warning; an expired one is drift. Writes nothing.

Flags:
  --only WHAT      check only the table or only the manifests
${TARGET_HELP}
${COMMON_HELP}

Environment:
  DATABASE_URL     the mngd server's PostgreSQL (default: the embedded PGlite under the state folder)

${EXIT_HELP} Exit 1 here means drift: run "mngd-release apply" to converge.

Example:
  mngd-release drift
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
    if (only !== 'manifests') {
      const db = await openDatabase(loaded.set.root, ctx.env);
      try {
        findings.push(...(await checkTable(db, loaded.set.releases, loaded.policy, now)));
      } finally {
        await db.close();
      }
    }
    if (only !== 'table') {
      const { store } = openTarget(ctx, loaded, { target: str(args, 'target'), endpoint: str(args, 'endpoint') });
      try {
        findings.push(...(await checkManifests(store, loaded.releases, loaded.policy, now)));
      } finally {
        store.close?.();
      }
    }
    const behind = only === undefined ? tableBehindFinding(findings) : null;
    if (behind !== null) findings.push(behind);
    const drift = findings.some((f) => f.severity === 'error');
    if (json) ctx.stdout.write(`${JSON.stringify({ drift, findings }, null, 2)}\n`);
    else {
      for (const f of findings) ctx.stdout.write(findingText(f));
      ctx.stdout.write(driftSummary(findings, only ?? 'both'));
    }
    if (onGitHub(ctx.env)) {
      await annotate(driftProblems(findings));
      await appendSummary(`## mngd-release drift\n\n${driftMarkdown(findings)}`);
    }
    return drift ? EXIT.INVALID : EXIT.OK;
  },
};
