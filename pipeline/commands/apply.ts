import { runApply, stopLine, type StepOutcome } from '../cli/apply.js';
import { COMMON_HELP, COMMON_OPTIONS, EXIT_HELP, flag, readableFile, str, type Command } from '../cli/command.js';
import { openDatabase } from '../table/index.js';
import { appendSummary, onGitHub, annotate } from '../cli/github.js';
import { headline } from '../table/index.js';
import { formatProblem, type Problem } from '../releases/index.js';
import { publishManifests, readProvenance } from '../manifests/index.js';
import { channelLine, publishMarkdown, writtenCount, type ChannelResult } from '../manifests/index.js';
import type { PlanWarning } from '../table/index.js';
import { TARGET_HELP, TARGET_OPTIONS, loadValid, preparePublish } from '../cli/setup.js';
import { SyncRefusedError, syncReleases } from '../table/index.js';
import { stateDir } from '../state-dir.js';
import { verifyArtifacts } from '../artifacts/index.js';
import { DATABASE_HELP } from './plan.js';
import { isSafetyChange, offerLines, type OfferChange } from '../manifests/index.js';
import { readOfferChanges } from '../manifests/index.js';

const MARK: Record<StepOutcome['status'], string> = { done: '✓', failed: '✗', 'not run': '-' };

export const applyCommand: Command = {
  name: 'apply',
  help: `Usage: mngd-release apply [--refresh] [--yank-unmanaged] [--ca-file PEM] [--target T] [--endpoint URL]
                          [--releases DIR] [--json]

Runs, in order, stopping at the first step that fails:
  1. verify-artifacts  download every package a manifest will list; check sha256 and size
  2. sync              make agent_releases match the release files (one transaction)
  3. publish           sign and publish each channel's latest.json (history copy first)
The signing key and the target are checked before step 1, so a missing or untrusted key stops
apply before anything is written. A failed step says what was done and what was not; steps
done stay done, and running apply again converges (an unchanged table or manifest is not written).

A safety change, one whose only effect on agents is to offer less (a release yanked or halted,
a share lowered or paused, a floor removed or lowered), publishes first and then runs the other
steps whatever fails: a package of another release that 404s or a database that is down never
holds back a yank. The exit code still names the failure; the next apply catches the table up.

Flags:
  --refresh          publish also re-signs manifests within the refresh window
  --yank-unmanaged   sync yanks raw-SQL-era rows that have no release file (see sync --help)
  --ca-file PEM      extra CA certificate(s) for the package downloads
${TARGET_HELP}
${COMMON_HELP}

Environment: MNGD_SIGNING_KEY and MNGD_CLOCK_SKEW_SECONDS (see publish --help), DATABASE_URL, AWS_*.
${DATABASE_HELP}

${EXIT_HELP}

Example:
  MNGD_SIGNING_KEY=ed25519:... DATABASE_URL=postgres://... mngd-release apply
  ✓ verify-artifacts: 2 package(s): 1 downloaded and verified, 1 unchanged since verified
  ✓ sync: 1 to insert, 0 to update, 0 to yank, 4 unchanged (postgres://deploy@db/mngd)
      FLOOR_RAISED [stable]: the floor of stable rises 1.0.2 -> 1.0.3: every stable agent below 1.0.3 must update …
  ✓ publish: 2 of 4 manifest(s) written to s3://mngd-agent-releases/agent
      stable: published latest.json sequence 1795744800 (previous 1795700000), expires 2026-12-11T02:00:00Z: the releases changed; offers 1.0.4 (10%), 1.0.3; floor 1.0.3
  …
  Applied: the artifacts are verified, the table and the manifests match git.

With --json: {ok, exitCode, safety, offer, steps, load_events: [{code, channel, message}],
manifests: [{channel, spec, key, action, sequence, expires_at, floor, offers: [{version, rollout_percent}]}]}.`,
  options: {
    ...COMMON_OPTIONS,
    ...TARGET_OPTIONS,
    refresh: { type: 'boolean' },
    'yank-unmanaged': { type: 'boolean' },
    'ca-file': { type: 'string' },
  },
  async run(args, ctx) {
    const json = flag(args, 'json');
    const caFile = await readableFile(ctx.cwd, str(args, 'ca-file'), 'ca-file');
    const loaded = await loadValid(ctx, 'mngd-release apply', str(args, 'releases'), json);
    const { set, policy, releases } = loaded;
    // Before any step: a bad key or target must not leave a synced table with stale manifests.
    const { keys, store, clockSkewSeconds } = preparePublish(ctx, loaded, {
      target: str(args, 'target'),
      endpoint: str(args, 'endpoint'),
    });
    const annotations: Problem[] = [];
    let publishTable = '';
    /** what sync's plan calls out (a raised floor, a halt, a yank of the newest): for --json and the job summary */
    let loadEvents: PlanWarning[] = [];
    let published: ChannelResult[] = [];
    try {
      const offer = await classify(store, releases, policy, ctx.now());
      const safety = offer !== null && isSafetyChange(offer);
      if (safety && !json) {
        ctx.stdout.write(
          'Safety change: every changed channel only offers less. Publishing first; no other step holds it back.\n',
        );
        for (const l of offerLines(offer)) ctx.stdout.write(`    ${l}\n`);
      }
      const result = await runApply(
        {
          'verify-artifacts': async () => {
            const report = await verifyArtifacts(set, {
              scope: { kind: 'manifest' },
              stateDir: stateDir(set.root, ctx.env),
              now: ctx.now,
              ...(caFile ? { caFile } : {}),
            });
            annotations.push(...report.problems);
            const c = report.counts;
            return {
              summary: `${report.results.length} package(s): ${c.verified} downloaded and verified, ${c.cached} unchanged since verified${c.mismatch ? `, ${c.mismatch} DO NOT MATCH` : ''}${c.unreachable ? `, ${c.unreachable} unreachable` : ''}`,
              details: report.problems.map(formatProblem),
              exitCode: report.exitCode,
            };
          },
          sync: async () => {
            const db = await openDatabase(set.root, ctx.env);
            try {
              const r = await syncReleases(db, set, { yankUnmanaged: flag(args, 'yank-unmanaged'), now: ctx.now });
              loadEvents = r.plan.warnings;
              return {
                summary: `${r.wrote ? headline(r.plan) : 'nothing to change'} (${db.label})`,
                details: r.plan.warnings.map(loadEventLine),
              };
            } catch (err) {
              if (!(err instanceof SyncRefusedError)) throw err;
              annotations.push(...err.problems);
              return { summary: err.message, details: err.problems.map(formatProblem), exitCode: 1 };
            } finally {
              await db.close();
            }
          },
          publish: async () => {
            // The time of the publish itself, not of the start: verify-artifacts may take minutes,
            // and so may a wait for the sync lock; neither counts against the store's deadline.
            store.newDeadline?.();
            const done = await publishManifests({
              releases,
              policy,
              keys,
              store,
              now: ctx.now(),
              clockSkewSeconds,
              refresh: flag(args, 'refresh'),
              provenance: await readProvenance(set.root, ctx.env),
            });
            publishTable = publishMarkdown(store.location, done);
            published = done;
            return {
              summary: `${writtenCount(done)} written to ${store.location}`,
              details: done.flatMap((r) => channelLine(r).trimEnd().split('\n')),
            };
          },
        },
        {
          safety,
          onStep: (o) => {
            if (json) return;
            ctx.stdout.write(`${MARK[o.status]} ${o.step}: ${o.summary}${o.code ? ` [${o.code}]` : ''}\n`);
            for (const d of o.details) ctx.stdout.write(`    ${d}\n`);
          },
        },
      );
      const last = stopLine(result);
      if (json)
        ctx.stdout.write(
          `${JSON.stringify(
            {
              ok: result.exitCode === 0,
              exitCode: result.exitCode,
              safety,
              offer: offer ?? null,
              steps: result.outcomes,
              load_events: loadEvents,
              manifests: published.flatMap(manifestsJson),
            },
            null,
            2,
          )}\n`,
        );
      else (result.exitCode === 0 ? ctx.stdout : ctx.stderr).write(`${last}\n`);
      if (onGitHub(ctx.env)) {
        await annotate(annotations);
        const rows = result.outcomes.map(
          (o) => `| ${MARK[o.status]} | ${o.step} | ${o.summary.replace(/\|/g, '\\|')} |`,
        );
        await appendSummary(
          [
            '## mngd-release apply',
            '',
            '| | step | result |',
            '|---|---|---|',
            ...rows,
            '',
            ...(loadEvents.length > 0
              ? ['**Load events**', '', ...loadEvents.map((w) => `- ⚠️ ${loadEventLine(w)}`), '']
              : []),
            last,
            '',
            publishTable,
          ].join('\n'),
        );
      }
      return result.exitCode;
    } finally {
      store.close?.();
    }
  },
};

/** One load event, one line: "FLOOR_RAISED [stable]: the floor of stable rises …". */
function loadEventLine(w: PlanWarning): string {
  return `${w.code}${w.channel ? ` [${w.channel}]` : ''}: ${w.message}`;
}

/** Each manifest of a channel as data: its offers structured (version, share), never "1.0.5 (10%)". */
function manifestsJson(r: ChannelResult) {
  return [[1, r] as const, [2, r.v2] as const].map(([spec, s]) => ({
    channel: r.channel,
    spec,
    key: s.key,
    action: s.action,
    sequence: s.sequence,
    expires_at: s.expiresAt,
    floor: s.floor,
    offers: s.offers,
  }));
}

/** The offer change of this run, or null when the live manifests cannot be read (then no shortcut). */
async function classify(
  store: Parameters<typeof readOfferChanges>[0],
  releases: Parameters<typeof readOfferChanges>[1],
  policy: Parameters<typeof readOfferChanges>[2],
  now: Date,
): Promise<OfferChange[] | null> {
  try {
    return await readOfferChanges(store, releases, policy, now);
  } catch {
    return null; // the store is down: publish would fail too, and says why in its own step
  }
}
