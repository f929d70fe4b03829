/**
 * The manifests' part of `plan`: for each channel, what publish would do to what is live now
 * (read-only; needs no signing key). A target that cannot be read is a line, not a failure.
 */
import { messageOf } from '../../schema/errors.js';
import { manifestKey, type Policy, type Release } from '../../schema/types.js';
import { compareChannel } from './compare.js';
import { immutableChangeMessage } from './diff.js';
import type { Problem } from '../releases/index.js';
import type { PlanSection } from '../table/index.js';
import { trustedKeysOf } from './read.js';
import type { ReleaseSet } from '../releases/index.js';
import type { ObjectStore } from './store/object-store.js';
import { chooseTarget, openStore } from './target.js';

export async function manifestPlanSection(
  store: ObjectStore,
  releases: readonly Release[],
  policy: Policy,
  now: Date,
  fileOf: (version: string) => string = (v) => `releases/${v}.yaml`,
): Promise<PlanSection> {
  const title = `Manifests (${store.location})`;
  const lines: string[] = [];
  const problems: Problem[] = [];
  const data: { channel: string; action: string; reason: string; changes: string[]; offers: string[] }[] = [];
  try {
    const trusted = trustedKeysOf(policy);
    for (const channel of policy.channels) {
      // plan holds no key: judge only content and expiry, not who signed
      const {
        expected: built,
        decision: d,
        immutable,
      } = await compareChannel(store, channel, {
        releases,
        policy,
        now,
        trusted,
      });
      for (const c of immutable) {
        problems.push({
          severity: 'error',
          code: 'IMMUTABLE_FIELD_CHANGED',
          file: fileOf(c.version),
          message: immutableChangeMessage(c, channel),
        });
      }
      const offers = built.releases.map(
        (r) => `${r.version}${r.rollout_percent < 100 ? ` (${r.rollout_percent}%)` : ''}`,
      );
      data.push({ channel, action: d.action, reason: d.reason, changes: d.changes, offers });
      if (d.action === 'unchanged') lines.push(`${channel} (${manifestKey(channel)}): unchanged`);
      else {
        lines.push(
          `${channel} (${manifestKey(channel)}): publish will write it (${d.reason}); offers ${offers.join(', ') || 'nothing'}, floor ${built.min_required_version ?? 'none'}`,
        );
        for (const c of d.changes) lines.push(`  ${c}`);
      }
    }
  } catch (err) {
    lines.push(`cannot read the published manifests: ${messageOf(err)} (the table plan above stands)`);
  }
  return { id: 'manifests', title, lines, data, ...(problems.length > 0 ? { problems } : {}) };
}

/** What `plan` calls: opens the publish target (flags aside: env and policy) and adds the section. */
export async function addManifestSection(
  plan: { sections: PlanSection[] },
  set: ReleaseSet,
  ctx: { env: Record<string, string | undefined>; now: () => Date },
): Promise<void> {
  if (set.policy === null) return;
  let store: ObjectStore;
  try {
    store = openStore(chooseTarget({ root: set.root, env: ctx.env, policy: set.policy }), ctx.env, set.policy);
  } catch (err) {
    plan.sections.push({
      id: 'manifests',
      title: 'Manifests',
      lines: [`cannot open the publish target: ${messageOf(err)}`],
    });
    return;
  }
  try {
    const files = new Map(set.releases.map((r) => [r.release.version, r.file]));
    plan.sections.push(
      await manifestPlanSection(
        store,
        set.releases.map((r) => r.release),
        set.policy,
        ctx.now(),
        (v) => files.get(v) ?? `releases/${v}.yaml`,
      ),
    );
  } finally {
    store.close?.();
  }
}
