/**
 * The demo of manifest spec 2 (issue 16): a mixed fleet of 20 Macs (macOS 12 to 15, Intel and
 * Apple silicon, one x86_64 agent under Rosetta), each agent and helper reading its Mac's facts
 * through stand-in sw_vers and sysctl and reading v2/latest.json. Three rounds:
 *
 *   1. 1.1.0 needs macOS 13 and ships an arm64 and an x86_64 package: each Mac on macOS 13 or
 *      later takes the package for its hardware (Rosetta: arm64), macOS 12 stays on 1.0.0.
 *   2. 1.2.0 raises the floor and desupports macOS below 13: the macOS 12 Macs become
 *      unsupported, not blocked (they keep checking in); a Mac whose helper is down is blocked.
 *   3. 1.4.0 at 10 % is bad: halted, and the hotfix 1.4.1 ships at 10 %. Every Mac on 1.4.0 takes
 *      1.4.1 (the rescue rule), though only the hotfix's own 10 % cohort would have otherwise.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bucket } from '../../schema/choose.js';
import type { SignedManifest2 } from '../../schema/types.js';
import { deviceId, Fleet, type CheckRun, type Device, type Mac } from './fleet.js';
import { fleetRows, lastCheckLine, ROUND_HEADER, roundRows } from './mac-report.js';
import { openStage, singlePackage, type Artifact, type Stage } from './stage.js';
import { markdownTable, textTable } from './table.js';

/** mac-01 … mac-20, in this order. */
export const MIXED_FLEET: readonly Mac[] = [
  ...Array<Mac>(3).fill({ macos: '12.7.6', kind: 'intel' }),
  { macos: '12.7.6', kind: 'apple' },
  ...Array<Mac>(2).fill({ macos: '13.7.1', kind: 'intel' }),
  ...Array<Mac>(2).fill({ macos: '13.7.1', kind: 'apple' }),
  ...Array<Mac>(2).fill({ macos: '14.7.1', kind: 'intel' }),
  ...Array<Mac>(3).fill({ macos: '14.7.1', kind: 'apple' }),
  { macos: '14.7.1', kind: 'rosetta' },
  { macos: '15.1', kind: 'intel' },
  ...Array<Mac>(5).fill({ macos: '15.1', kind: 'apple' }),
];

/** The Macs of MIXED_FLEET with their ids, or only those named (a shorter run, for the tests). */
export function mixedFleet(only?: readonly string[]): { ids: string[]; macs: Mac[] } {
  const all = MIXED_FLEET.map((mac, i) => ({ id: deviceId(i), mac }));
  const kept = only === undefined ? all : all.filter((m) => only.includes(m.id));
  return { ids: kept.map((m) => m.id), macs: kept.map((m) => m.mac) };
}

export const BAD = '1.4.0';
export const HOTFIX = '1.4.1';
export const BAD_SHARE = 10;

export interface Round {
  name: string;
  applyExit: number;
  manifest: SignedManifest2;
  /** the versions spec-1 readers (latest.json) are offered */
  spec1: string[];
  before: Map<string, string>;
  after: Map<string, string>;
  checks: CheckRun[];
  /** device id -> why its last check in the round chose what it did (its agent's check line) */
  via: Map<string, string>;
}

export interface MixedFleetResult {
  rounds: Round[];
  macs: Map<string, Mac>;
  /** the device whose helper was down during the floor raise */
  stuck: string;
  helperPids: number[];
}

/** What a spec-2 story (this one, the ramp) is run with. */
export interface MacStoryOptions {
  /** an empty folder for everything the story makes */
  dir: string;
  databaseUrl?: string;
  out: (text: string) => void;
  /** only these Macs of the fleet (mac-01 … mac-20): a shorter run, for the tests */
  only?: readonly string[];
}

/** The story's fleet: MIXED_FLEET (or `only` of it) on 1.0.0, reading spec 2 from the stage's CDN. */
export function spec2Fleet(stage: Stage, opts: MacStoryOptions, env?: NodeJS.ProcessEnv): Fleet {
  const { ids, macs } = mixedFleet(opts.only);
  return new Fleet({
    dir: join(opts.dir, 'fleet'),
    size: ids.length,
    ids,
    macs,
    initialVersion: '1.0.0',
    manifestUrl: stage.cdn.url('/manifests/v2/latest.json'),
    trustedKey: stage.key.public_key,
    caFile: stage.tls.caFile,
    ...(env === undefined ? {} : { env }),
  });
}

export async function runMixedFleet(opts: MacStoryOptions): Promise<MixedFleetResult> {
  const { out } = opts;
  const stage = await openStage(opts);
  const fleet = spec2Fleet(stage, opts);
  const macs = new Map(fleet.devices.map((d) => [d.id, d.mac!]));
  const rounds: Round[] = [];
  const stuck = fleet.devices.find((d) => d.mac!.macos.startsWith('13.') && d.mac!.kind === 'intel')!;
  try {
    out(`${fleet.devices.length} Macs run mngd-agent 1.0.0, spec 2 (v2/latest.json), each with its own facts:\n`);
    out(textTable(['macOS', 'hardware', 'Macs', 'devices'], fleetRows(fleet.devices)));
    stage.writePolicy(['supported_macos: {oldest: "12.0", newest: "26.1"}'], ['stable']);
    const perArch = (version: string): Artifact[] => [
      stage.addPackage(version, 'arm64'),
      stage.addPackage(version, 'x86_64'),
    ];
    const requires13 = { macos_min: '13.0' };
    await fleet.startHelpers();
    out(`Started ${fleet.devices.length} helpers (mngd-helper serve --spec 2, each reading its Mac's facts itself).\n`);

    const round = async (
      name: string,
      intro: string,
      change: () => Promise<void>,
      checks: () => Promise<CheckRun[]> = () => fleet.checkAll(),
    ): Promise<Round> => {
      out(`\n━━ ${name} ━━\n${intro}\n`);
      await change();
      const applyExit = await stage.apply();
      const manifest = stage.manifest2();
      const spec1 = stage.manifest().releases.map((r) => r.version);
      out(
        `v2/latest.json: sequence ${manifest.sequence}, offers ${manifest.releases.map(describeRelease).join(', ')}; floor ${manifest.min_required_version ?? 'none'}${manifest.rescue_from.length > 0 ? `; rescue_from ${manifest.rescue_from.join(', ')}` : ''}\n` +
          `latest.json (spec-1 readers): offers ${spec1.join(', ') || 'nothing'}\n`,
      );
      const before = fleet.versions();
      const runs = await checks();
      const r: Round = {
        name,
        applyExit,
        manifest,
        spec1,
        before,
        after: fleet.versions(),
        checks: runs,
        via: new Map(),
      };
      for (const d of fleet.devices) r.via.set(d.id, lastCheckLine(d));
      out(textTable(ROUND_HEADER, roundRows(fleet.devices, r)));
      rounds.push(r);
      return r;
    };

    await round(
      'A release for macOS 13 and later, one package per architecture',
      '1.1.0 ships an arm64 and an x86_64 package and requires macOS 13.0; 1.0.0 (universal) stays listed.',
      async () => {
        stage.writeRelease({ version: '1.0.0', ...singlePackage(stage.addPackage('1.0.0')), release_notes: 'Today.' });
        stage.writeRelease({ version: '1.1.0', artifacts: perArch('1.1.0'), requires: requires13 });
        stage.git('add', '-A');
        stage.git('commit', '-qm', 'Release 1.0.0 and 1.1.0 (macOS 13 and later, per architecture)');
      },
    );

    await round(
      'A floor raise that leaves macOS 12 behind: unsupported, not blocked',
      [
        `1.2.0 sets min_required_version 1.2.0 and desupports: {macos_below: "13.0"} (a load event in the plan).`,
        `Macs on macOS 13 or later must update and block their checkin until they have; macOS 12 Macs cannot`,
        `(1.2.0 needs macOS 13): they are unsupported, one warning, and keep checking in.`,
        `${stuck.id}'s helper is down for now: it stays blocked until it has updated.`,
      ].join('\n'),
      async () => {
        stage.writeRelease({
          version: '1.2.0',
          artifacts: perArch('1.2.0'),
          requires: requires13,
          min_required_version: '1.2.0',
          desupports: { macos_below: '13.0' },
        });
        stage.git('add', '-A');
        stage.git('commit', '-qm', 'Release 1.2.0, required; macOS 12 desupported');
        // What the pull request's plan said (its load events), before the merge.
        await stage.run(['plan'], (l) => /FLOOR_/.test(l));
      },
      async () => {
        await fleet.stopHelper(stuck);
        const first = await fleet.checkAll();
        const blocked = first.find((r) => r.device === stuck)?.result;
        out(
          `${stuck.id}: ${blocked?.outcome ?? 'no result'} at ${blocked?.step ?? '?'} (${blocked?.code ?? '?'}), checkin blocked: ${String(blocked?.blocked)}\n`,
        );
        await fleet.startHelper(stuck);
        const retry = await fleet.check(stuck);
        out(
          `${stuck.id}: helper back; retry -> ${retry.result?.outcome ?? 'no result'}, checkin blocked: ${String(retry.result?.blocked)}\n`,
        );
        return [...first, retry];
      },
    );

    await round(
      `A bad release at ${BAD_SHARE} %`,
      `${BAD} ships at ${BAD_SHARE} % (arm64 and x86_64, macOS 13 and later); only its cohort takes it.`,
      async () => {
        stage.writeRelease({ version: BAD, artifacts: perArch(BAD), requires: requires13, rollout_percent: BAD_SHARE });
        stage.git('add', '-A');
        stage.git('commit', '-qm', `Release ${BAD} to ${BAD_SHARE} %`);
      },
    );

    await round(
      'The hotfix reaches every Mac on the bad build (the rescue rule)',
      [
        `${BAD} crashes on launch: on-call halts it, and ${HOTFIX} ships at ${BAD_SHARE} %. Each version draws its own cohort,`,
        `so without the rescue rule most Macs on ${BAD} would wait; a Mac on a halted or yanked build (rescue_from)`,
        `takes any newer release with a share above 0.`,
      ].join('\n'),
      async () => {
        await stage.run(['halt', BAD, '--reason', 'crashes on launch']);
        stage.writeRelease({
          version: HOTFIX,
          artifacts: perArch(HOTFIX),
          requires: requires13,
          rollout_percent: BAD_SHARE,
        });
        stage.git('add', '-A');
        stage.git('commit', '-qm', `Halt ${BAD}; release the hotfix ${HOTFIX} to ${BAD_SHARE} %`);
      },
    );
    const result = { rounds, macs, stuck: stuck.id, helperPids: fleet.helperPids };
    writeFileSync(join(opts.dir, 'SUMMARY.md'), markdownSummary(result, fleet.devices));
    return result;
  } finally {
    await fleet.stopHelpers();
    await stage.close();
  }
}

function describeRelease(r: SignedManifest2['releases'][number]): string {
  const share = r.rollout.length === 1 && r.rollout[0]!.percent === 100 ? '' : ` ${r.rollout.at(-1)!.percent} %`;
  const min = r.requires.macos_min === null ? '' : ` macOS ≥ ${r.requires.macos_min}`;
  return `${r.version} (${r.artifacts.map((a) => a.arch).join('+')}${min}${share})`;
}

/** Macs per macOS on the bad build before the hotfix, and what they run after it. */
export function rescueNumbers(result: MixedFleetResult): {
  onBad: string[];
  tookHotfix: string[];
  ownCohort: string[];
  othersTook: string[];
} {
  const hotfix = result.rounds.at(-1)!;
  const onBad = [...hotfix.before].filter(([, v]) => v === BAD).map(([id]) => id);
  const tookHotfix = onBad.filter((id) => hotfix.after.get(id) === HOTFIX);
  const ownCohort = onBad.filter((id) => bucket(id, HOTFIX) < BAD_SHARE);
  const othersTook = [...hotfix.after].filter(([id, v]) => v === HOTFIX && !onBad.includes(id)).map(([id]) => id);
  return { onBad, tookHotfix, ownCohort, othersTook };
}

export function summarizeMixedFleet(result: MixedFleetResult): string[] {
  const [perArch, floor] = result.rounds;
  if (perArch === undefined || floor === undefined || result.rounds.length < 4) return ['(incomplete)'];
  const is12 = (id: string) => result.macs.get(id)!.macos.startsWith('12.');
  const ids = [...result.macs.keys()];
  const took110 = ids.filter((id) => perArch.after.get(id) === '1.1.0');
  const archOf = (id: string) => perArch.checks.findLast((c) => c.device.id === id)?.result?.arch;
  const old = ids.filter(is12);
  const lastOf = (id: string) => floor.checks.findLast((c) => c.device.id === id)?.result;
  const unsupported = old.filter((id) => lastOf(id)?.unsupported && lastOf(id)?.blocked === false);
  const blocked = floor.checks.filter((c) => c.result?.blocked).map((c) => c.device.id);
  const { onBad, tookHotfix, ownCohort, othersTook } = rescueNumbers(result);
  return [
    `1.1.0 (macOS ≥ 13, arm64 + x86_64): ${took110.length} of ${ids.length} Macs took it, ${took110.filter((id) => archOf(id) === 'arm64').length} the arm64 package (the Rosetta Mac among them) and ${took110.filter((id) => archOf(id) === 'x86_64').length} the x86_64 one; the ${old.length} macOS 12 Macs stayed on 1.0.0, and spec-1 readers were never offered 1.1.0.`,
    `The floor 1.2.0: ${unsupported.length} of ${old.length} macOS 12 Macs unsupported and not blocked (they keep checking in); blocked: ${blocked.join(', ') || 'none'} (its helper was down) until it updated; ${ids.filter((id) => floor.after.get(id) === '1.2.0').length} Macs on 1.2.0.`,
    `The hotfix ${HOTFIX} at ${BAD_SHARE} % reached ${tookHotfix.length} of the ${onBad.length} Macs on the halted ${BAD} (its own cohort holds ${ownCohort.length} of them: the rescue rule moved the rest), and ${othersTook.length} other Macs in its cohort.`,
  ];
}

function markdownSummary(result: MixedFleetResult, devices: readonly Device[]): string {
  const parts = ['# A mixed fleet on manifest spec 2 (npm start -- --story mixed-fleet)', ''];
  parts.push('## The fleet', '', markdownTable(['macOS', 'hardware', 'Macs', 'devices'], fleetRows(devices)));
  for (const r of result.rounds) parts.push(`## ${r.name}`, '', markdownTable(ROUND_HEADER, roundRows(devices, r)));
  parts.push('## What happened', '', ...summarizeMixedFleet(result).map((l) => `- ${l}`), '');
  return parts.join('\n');
}
