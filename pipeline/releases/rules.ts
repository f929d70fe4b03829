/** Rules across release files (pure). Rules against the table or published manifests live in plan. */
import { compareVersions, isVersion, versionSortKey } from '../../schema/version.js';
import type { Policy } from '../../schema/types.js';
import { effectiveFloor, offeredOn } from '../../schema/channel.js';
import { isLive, rolloutStepsOf } from '../../schema/rollout.js';
import { artifactsOf, supportedMacosOf } from '../../schema/artifacts.js';
import { compareMacos } from '../../schema/macos.js';
import type { Problem } from './problems.js';
import type { LoadedRelease } from './release-set.js';
import { floorReach, reachText } from './floor-reach.js';

function at(r: LoadedRelease, field: keyof LoadedRelease['release']): { line: number; column: number } {
  const p = r.positions[field];
  return p ? { line: p.line, column: p.column } : { line: 1, column: 1 };
}

/** The groups of two or more releases that share a key, each in the order given. */
function sharing(releases: readonly LoadedRelease[], keyOf: (r: LoadedRelease) => string): LoadedRelease[][] {
  const groups = new Map<string, LoadedRelease[]>();
  for (const r of releases) {
    const key = keyOf(r);
    const group = groups.get(key);
    if (group) group.push(r);
    else groups.set(key, [r]);
  }
  return [...groups.values()].filter((g) => g.length > 1);
}

function fileNameOf(url: string): string {
  try {
    return decodeURIComponent(new URL(url).pathname.split('/').pop() ?? '');
  } catch {
    return '';
  }
}

/** The versions a package's file name spells (mngd-agent-1.0.2.pkg: 1.0.2); only dotted ones count. */
function versionsInFileName(url: string): string[] {
  return (fileNameOf(url).match(/(?<![\d.])\d+(?:\.\d+){1,3}(?![\d])/g) ?? []).filter(isVersion);
}

export function crossFileProblems(releases: readonly LoadedRelease[], policy: Policy | null): Problem[] {
  const problems: Problem[] = [];

  // Two versions that compare equal (1.0 and 1.0.0) would be one release to every agent.
  for (const group of sharing(releases, (r) => versionSortKey(r.release.version))) {
    for (const r of group) {
      const others = group.filter((o) => o !== r).map((o) => o.file);
      problems.push({
        severity: 'error',
        code: 'RELEASE_DUPLICATE_VERSION',
        file: r.file,
        ...at(r, 'version'),
        message: `version ${r.release.version} compares equal to ${others.join(', ')}; expected each version once: delete one of the files`,
      });
    }
  }

  // A copy-pasted previous release: the same package hash or URL under another version (or twice
  // in one release's artifacts). Only the groups that share a value are sorted (the oldest keeps
  // it; the newer ones are reported).
  const packages = releases.flatMap((r) => artifactsOf(r.release).map((a, i) => ({ r, a, i })));
  for (const field of ['sha256', 'download_url'] as const) {
    const groups = new Map<string, typeof packages>();
    for (const p of packages) groups.set(p.a[field], [...(groups.get(p.a[field]) ?? []), p]);
    for (const group of [...groups.values()].filter((g) => g.length > 1)) {
      const [first, ...rest] = group.sort(
        (x, y) => compareVersions(x.r.release.version, y.r.release.version) || x.i - y.i,
      );
      for (const { r, i } of rest) {
        if (r !== first!.r && compareVersions(first!.r.release.version, r.release.version) === 0) continue; // reported above
        const inFirst =
          first!.r === r
            ? `artifacts[${first!.i}] of this release`
            : `${first!.r.file} (version ${first!.r.release.version})`;
        problems.push({
          severity: 'error',
          code: field === 'sha256' ? 'RELEASE_DUPLICATE_SHA256' : 'RELEASE_DUPLICATE_URL',
          file: r.file,
          ...(r.release.artifacts === undefined ? at(r, field) : at(r, 'artifacts')),
          message: `${r.release.artifacts === undefined ? field : `artifacts[${i}].${field}`} is the same as in ${inFirst}; expected each package its own file: run "mngd-release hash <the new pkg>" and copy its sha256 and size, and the new package's URL`,
        });
      }
    }
  }

  // A URL copied from another release: its file name says another version than the release.
  for (const r of releases) {
    const named = versionsInFileName(r.release.download_url);
    if (named.length === 0 || named.some((v) => compareVersions(v, r.release.version) === 0)) continue;
    const name = fileNameOf(r.release.download_url);
    problems.push({
      severity: 'warning',
      code: 'RELEASE_URL_OTHER_VERSION',
      file: r.file,
      ...at(r, 'download_url'),
      message: `download_url names version ${named[0]} (${name}), but this is release ${r.release.version}; expected the package of ${r.release.version}: check that download_url, sha256 and size were not copied from another release`,
    });
  }

  // A floor above everything a channel offers locks every device below it out.
  const channels = policy?.channels ?? [...new Set(releases.map((r) => r.release.channel))];
  const all = releases.map((r) => r.release);
  for (const channel of channels) {
    const floor = effectiveFloor(channel, all);
    if (floor === null) continue;
    // A schedule not started yet still satisfies a floor (a floor forces it); a share of 0 for good does not.
    const offered = offeredOn(channel, all).filter((r) => isLive(rolloutStepsOf(r)));
    const highest = offered.reduce<string | null>(
      (h, r) => (h === null || compareVersions(r.version, h) > 0 ? r.version : h),
      null,
    );
    if (highest !== null && compareVersions(floor, highest) <= 0) continue;
    for (const r of releases) {
      const rel = r.release;
      if (
        rel.min_required_version === undefined ||
        !rel.active ||
        (rel.channel !== channel && rel.channel !== 'stable')
      )
        continue;
      if (compareVersions(rel.min_required_version, floor) !== 0) continue;
      problems.push({
        severity: 'error',
        code: 'RELEASE_FLOOR_LOCKOUT',
        file: r.file,
        ...at(r, 'min_required_version'),
        message: `min_required_version ${floor} would lock out channel ${channel}: the highest active release offered there with a share above 0 (now or by its schedule) is ${highest ?? 'none'}; expected the floor at or below it: lower the floor, or raise the rollout of a release at or above ${floor}`,
      });
    }
  }
  problems.push(...floorStrandProblems(releases, policy));
  return problems;
}

/** A floor some supported Mac cannot satisfy, unless a release carrying it says it desupports those Macs. */
function floorStrandProblems(releases: readonly LoadedRelease[], policy: Policy | null): Problem[] {
  const all = releases.map((r) => r.release);
  const supported = supportedMacosOf(policy);
  // one problem per carrier and gap, naming every channel it strands (a stable floor reaches beta too)
  const found = new Map<string, { r: LoadedRelease; channels: string[]; text: (channels: string) => string }>();
  for (const channel of policy?.channels ?? [...new Set(all.map((r) => r.channel))]) {
    const reach = floorReach(channel, all, supported);
    if (reach === null || reach.stranded.length === 0) continue;
    const macs = reach.stranded.map((g) => `macOS ${g.macos} (${g.hw})`).join(' and ');
    const lowest = reach.stranded.map((g) => g.macos).sort(compareMacos)[0]!;
    for (const r of releases) {
      if (!reach.carriers.includes(r.release)) continue;
      const below = r.release.requires?.macos_min ?? '<the oldest macOS still supported>';
      const key = `${r.file}\0${macs}`;
      const seen = found.get(key);
      if (seen !== undefined) {
        seen.channels.push(channel);
        continue;
      }
      found.set(key, {
        r,
        channels: [channel],
        text: (channels) =>
          `min_required_version ${reach.floor} cannot be satisfied on ${channels} by Macs on ${macs}: no release at or above ${reach.floor} with a share above 0 runs there (${reach.carriers.map((c) => `${c.version}: ${reachText(c)}`).join(', ')}), so they could never update to it; expected a release at or above ${reach.floor} they can run (a universal or matching artifact, requires.macos_min at or below ${lowest}), or, if leaving them behind is deliberate, add desupports: {macos_below: "${below}"} to ${r.file}`,
      });
    }
  }
  return [...found.values()].map(({ r, channels, text }) => ({
    severity: 'error',
    code: 'RELEASE_FLOOR_STRANDS',
    file: r.file,
    ...at(r, 'min_required_version'),
    message: text(`channel${channels.length > 1 ? 's' : ''} ${channels.join(', ')}`),
  }));
}
