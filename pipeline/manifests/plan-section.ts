/**
 * The manifests' part of `plan`: for each channel, what publish would do to what is live now
 * (read-only; needs no signing key). A target that cannot be read is a line, not a failure.
 */
import { messageOf } from '../../schema/errors.js';
import { manifestKey, type Policy, type Release } from '../../schema/types.js';
import { compareChannel } from './compare.js';
import { compareChannel2 } from './compare2.js';
import { readerDifferences } from './readers.js';
import { NO_COMMIT } from './provenance.js';
import { manifest2Key } from '../../schema/manifest2.schema.js';
import { shareAt } from '../../schema/rollout.js';
import { offeredText, type Offered } from '../../schema/channel.js';
import { immutableChangeMessage } from './diff.js';
import type { Problem } from '../releases/index.js';
import type { PlanSection, PlanWarning } from '../table/index.js';
import { floorReach } from '../releases/index.js';
import { supportedMacosOf } from '../../schema/artifacts.js';
import { trustedKeysOf } from './read.js';
import type { ReleaseSet } from '../releases/index.js';
import type { ObjectStore } from './store/object-store.js';
import { chooseTarget, openStore } from './target.js';

/** plan compares content only; provenance is not content */
const PLAN_PROVENANCE = { commit: NO_COMMIT, workflow_run: null, actor: null };

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
  const warnings: PlanWarning[] = [];
  const data: {
    channel: string;
    action: string;
    reason: string;
    changes: string[];
    offers: Offered[];
    v2: { action: string; reason: string; changes: string[]; offers: Offered[] };
    readers: string[];
  }[] = [];
  try {
    const trusted = trustedKeysOf(policy);
    for (const channel of policy.channels) {
      // plan holds no key: judge only content and expiry, not who signed
      const one = await compareChannel(store, channel, { releases, policy, now, trusted });
      const two = await compareChannel2(store, channel, {
        releases,
        policy,
        now,
        trusted,
        provenance: PLAN_PROVENANCE,
      });
      for (const [c, spec] of [
        ...one.immutable.map((c) => [c, channel] as const),
        ...two.immutable.map((c) => [c, `${channel} spec-2`] as const),
      ]) {
        problems.push({
          severity: 'error',
          code: 'IMMUTABLE_FIELD_CHANGED',
          file: fileOf(c.version.split(' ')[0]!),
          message: immutableChangeMessage(c, spec),
        });
      }
      const offers = one.expected.releases.map(({ version, rollout_percent }): Offered => ({
        version,
        rollout_percent,
      }));
      const offers2 = two.expected.releases.map((r): Offered => ({
        version: r.version,
        rollout_percent: shareAt(r.rollout, now.getTime()),
      }));
      const readers = readerDifferences(two.expected, one.expected, releases);
      const d = one.decision;
      const d2 = two.decision;
      data.push({
        channel,
        action: d.action,
        reason: d.reason,
        changes: d.changes,
        offers,
        v2: { action: d2.action, reason: d2.reason, changes: d2.changes, offers: offers2 },
        readers,
      });
      const liveFloor = two.published.manifest?.signed.min_required_version ?? null;
      if (two.expected.min_required_version !== liveFloor)
        warnings.push(...desupportWarnings(channel, releases, policy));
      const spec = (key: string, dd: typeof d, offered: Offered[], floor: string | null) => {
        if (dd.action === 'unchanged') lines.push(`${channel} (${key}): unchanged`);
        else {
          lines.push(
            `${channel} (${key}): publish will write it (${dd.reason}); offers ${offeredText(offered)}, floor ${floor ?? 'none'}`,
          );
          for (const c of dd.changes) lines.push(`  ${c}`);
        }
      };
      spec(manifestKey(channel), d, offers, one.expected.min_required_version);
      spec(manifest2Key(channel), d2, offers2, two.expected.min_required_version);
      if (readers.length > 0) lines.push(`  spec-1 readers: ${readers.join('; ')}`);
    }
  } catch (err) {
    lines.push(`cannot read the published manifests: ${messageOf(err)} (the table plan above stands)`);
  }
  return {
    id: 'manifests',
    title,
    lines,
    data,
    ...(problems.length > 0 ? { problems } : {}),
    ...(warnings.length > 0 ? { warnings } : {}),
  };
}

/** Whether the plan's manifests section (if plan read the live manifests) says publish would write one. */
export function publishWouldWrite(sections: readonly PlanSection[]): boolean | null {
  const s = sections.find((x) => x.id === 'manifests');
  // no section, or a target that could not be read (no channel compared): unknown
  if (s === undefined || !Array.isArray(s.data) || s.data.length === 0) return null;
  return (s.data as { action: string; v2: { action: string } }[]).some(
    (d) => d.action !== 'unchanged' || d.v2.action !== 'unchanged',
  );
}

/** A floor that is about to change and deliberately leaves Macs behind (desupports): a load event. */
export function desupportWarnings(channel: string, releases: readonly Release[], policy: Policy): PlanWarning[] {
  const reach = floorReach(channel, releases, supportedMacosOf(policy));
  if (reach === null || reach.desupported.length === 0) return [];
  const macs = reach.desupported.map((g) => `${g.hw} Macs on macOS ${g.macos}`).join(' and ');
  return [
    {
      code: 'FLOOR_DESUPPORTS',
      channel,
      message: `the floor ${reach.floor} of ${channel} leaves Macs below macOS ${reach.desupportedBelow} behind (desupports in ${reach.carriers.map((c) => c.version).join(', ')}): ${macs} and up to it cannot run any release at or above ${reach.floor}; they become unsupported (checkin not blocked) and stay on their version`,
    },
  ];
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
