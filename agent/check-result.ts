/**
 * What one check did, a union by outcome: printed by `check --json`, read by the run loop and
 * the exit status. Every member carries the same keys (the ones that do not apply are absent),
 * so the JSON reads the same whatever the outcome.
 */
import type { ArtifactArch } from '../schema/choose2.js';
import type { MacFacts } from '../schema/device-facts.js';

/** `state`: the state folder could not be written (a full disk) */
export type Step = 'fetch-manifest' | 'verify-manifest' | 'device-facts' | 'download' | 'install' | 'state';

export interface ManifestInfo {
  sequence: number;
  channel: string;
  source: 'downloaded' | 'cached';
}

export interface DownloadInfo {
  transferred: number;
  resumed: boolean;
  reused: boolean;
}

interface Common {
  current: string;
  /** the release chosen, if any */
  target: string | null;
  /** checkin must wait: below the floor, and this device can install a release that satisfies it */
  blocked: boolean;
  floor: string | null;
  /** the floor forced the target (the rollout share was ignored) */
  forced: boolean;
  /** below the floor, and no release this device can install satisfies it: why (one warning, no block) */
  unsupported: string | null;
  manifest: ManifestInfo | null;
  /** spec 2: the Mac's facts the agent chose with (sw_vers, sysctl) */
  device?: MacFacts;
  /** spec 2: the arch of the package chosen for this hardware */
  arch?: ArtifactArch;
}

interface NoFailure {
  step?: never;
  code?: never;
  message?: never;
}

export interface UpToDate extends Common, NoFailure {
  outcome: 'up-to-date';
  target: null;
  manifest: ManifestInfo;
  cooldown_until?: never;
  download?: never;
}

export interface Updated extends Common, NoFailure {
  outcome: 'updated';
  target: string;
  blocked: false;
  manifest: ManifestInfo;
  cooldown_until?: never;
  download: DownloadInfo;
}

/** Three failures for the target's package: not tried again until cooldown_until. */
export interface CoolingDown extends Common, NoFailure {
  outcome: 'cooling-down';
  target: string;
  manifest: ManifestInfo;
  cooldown_until: string;
  download?: never;
}

export interface Failed extends Common {
  outcome: 'failed';
  /** the failing step and its error code */
  step: Step;
  code: string;
  message: string;
  cooldown_until?: never;
  download?: DownloadInfo;
}

export type CheckResult = UpToDate | Updated | CoolingDown | Failed;
export type Outcome = CheckResult['outcome'];
